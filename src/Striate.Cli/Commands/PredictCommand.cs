using System.CommandLine;
using Striate.Graph;
using Striate.Insight;

namespace Striate.Cli.Commands;

/// <summary><c>striate predict CHECKPOINT IMAGE...</c>: the top-5 classes of each image with their probabilities.</summary>
internal static class PredictCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "A model.safetensors written by striate train, a weights file (safetensors, PyTorch .pth), or an ONNX file." };
        var images = new Argument<string[]>("IMAGE") { Description = "PNG, PGM or PPM files.", Arity = ArgumentArity.OneOrMore };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var key = LoadedModel.KeyOption();
        var fit = new Option<bool>("--fit") { Description = "Resize and convert images to the model's input instead of rejecting them." };
        var command = new Command("predict", "Classify images with a trained model.") { checkpoint, images, modelName, key, fit };
        command.SetAction(parse => CliErrors.Run(parse, "predict", () =>
        {
            var loaded = LoadedModel.Load(parse.GetValue(checkpoint)!, parse.GetValue(modelName), parse.GetValue(key));
            // Prepared once (batch norm folded, activations fused, buffers planned), then run per image.
            var (c, h, w) = loaded.InputShape;
            var session = loaded.Model.PrepareForInference(1, c, h, w);
            int k = Math.Min(5, loaded.ClassNames.Count);
            foreach (var path in parse.GetValue(images)!)
            {
                var (_, input) = loaded.LoadImage(path, parse.GetValue(fit));
                Console.WriteLine(path);
                InsightInput.PrintTopK(loaded, Predictions.FromLogits(session.Run(input), k));
            }
            return 0;
        }));
        return command;
    }
}
