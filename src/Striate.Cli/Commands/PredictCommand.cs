using System.CommandLine;
using Striate.Autograd;
using Striate.Data;
using Striate.Data.Transforms;
using Striate.Functional;

namespace Striate.Cli.Commands;

/// <summary><c>striate predict CHECKPOINT IMAGE...</c>: the top-5 classes of each image with their probabilities.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "A model.safetensors written by striate train, or a weights file." };
        var images = new Argument<string[]>("IMAGE") { Description = "PNG, PGM or PPM files.", Arity = ArgumentArity.OneOrMore };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var fit = new Option<bool>("--fit") { Description = "Resize and convert images to the model's input instead of rejecting them." };
        var command = new Command("predict", "Classify images with a trained model.") { checkpoint, images, modelName, fit };
        command.SetAction(parse => CliErrors.Run(parse, "predict", () =>
        {
            var loaded = LoadedModel.Load(parse.GetValue(checkpoint)!, parse.GetValue(modelName));
            var (c, h, w) = loaded.InputShape;
            var config = loaded.Config;
            ITransform? normalize = config is { NormalizeMean.Length: > 0 } ? new Normalize(config.NormalizeMean, config.NormalizeStd) : null;
            var sample = new ImageSample();
            foreach (var path in parse.GetValue(images)!)
            {
                var image = ImageFolder.LoadImage(path);
                int channels = image.Channels == 4 ? 3 : image.Channels;
                bool fits = channels == c && image.Height == h && image.Width == w;
                if (!fits && !parse.GetValue(fit))
                    throw new ArgumentException($"{path} is {channels}×{image.Height}×{image.Width} (channels×height×width), but the model expects {c}×{h}×{w}; pass --fit to resize and convert it.");
                ImageConversion.ToSample(image, sample, c);
                new Resize(h, w).Apply(sample, Generator.Default);
                normalize?.Apply(sample, Generator.Default);
                using var noGrad = GradMode.NoGrad();
                using var scope = TensorScope.Begin();
                var input = Tensor.FromArray(sample.Pixels, 1, c, h, w);
                var probabilities = F.Softmax(loaded.Model.Call(input), 1).ToArray();
                Console.WriteLine(path);
                foreach (int k in Enumerable.Range(0, probabilities.Length).OrderByDescending(i => probabilities[i]).Take(5))
                    Console.WriteLine($"  {probabilities[k],7:P2}  {k,3}  {loaded.ClassNames[k]}");
            }
            return 0;
        }));
        return command;
    }
}
