using System.CommandLine;
using Striate.Insight;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate adversarial CHECKPOINT IMAGE --eps E [--label K] --out F.png</c>: an FGSM adversarial example (Goodfellow
/// et al. 2015). Prints the predictions before and after; writes original | perturbation | adversarial side by side
/// (the perturbation drawn as mid-gray for no change, white for +ε, black for −ε).
/// </summary>
internal static class AdversarialCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "A model.safetensors written by striate train, or a weights file." };
        var image = new Argument<string>("IMAGE") { Description = "A PNG, PGM or PPM file." };
        var eps = new Option<float>("--eps") { Description = "Step size in pixel units (images in [0, 1]), e.g. 0.1.", Required = true };
        var label = new Option<int?>("--label") { Description = "True class of the image (default: the predicted one)." };
        var output = new Option<string>("--out") { Description = "Output PNG: original | perturbation | adversarial.", Required = true };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var key = LoadedModel.KeyOption();
        var fit = new Option<bool>("--fit") { Description = "Resize and convert the image to the model's input instead of rejecting it." };
        var command = new Command("adversarial", "Perturb an image with FGSM to change a model's prediction.") { checkpoint, image, eps, label, output, modelName, key, fit };
        command.SetAction(parse => CliErrors.Run(parse, "adversarial", () =>
        {
            float e = parse.GetValue(eps);
            if (!(e >= 0 && e <= 1)) throw new ArgumentException($"--eps must be in [0, 1] (pixel units), got {e}.");
            var loaded = LoadedModel.Load(parse.GetValue(checkpoint)!, parse.GetValue(modelName), parse.GetValue(key));
            var (pixels, input) = InsightInput.Load(loaded, parse.GetValue(image)!, parse.GetValue(fit));
            int classes = loaded.ClassNames.Count;
            int y = parse.GetValue(label) ?? Predictions.TopK(loaded.Model, input, 1)[0].ClassIndex;
            if ((uint)y >= (uint)classes) throw new ArgumentException($"--label {y} is out of range; the model has {classes} classes (0–{classes - 1}).");
            var (mean, std) = InsightInput.Statistics(loaded);
            var adversarial = Fgsm.AttackNormalized(loaded.Model, input, [y], e, mean, std);

            Console.WriteLine($"before (label {y}, {loaded.ClassNames[y]}):");
            InsightInput.PrintTopK(loaded, input);
            Console.WriteLine($"after FGSM, ε = {InsightInput.Format(e)}:");
            InsightInput.PrintTopK(loaded, adversarial);
            int before = Predictions.TopK(loaded.Model, input, 1)[0].ClassIndex, after = Predictions.TopK(loaded.Model, adversarial, 1)[0].ClassIndex;
            Console.WriteLine(before == after ? $"prediction unchanged: {loaded.ClassNames[after]}" : $"prediction changed: {loaded.ClassNames[before]} → {loaded.ClassNames[after]}");

            var (c, h, w) = loaded.InputShape;
            var attacked = InsightInput.ToPixels(loaded, adversarial);
            var delta = new float[pixels.Length];
            for (int i = 0; i < delta.Length; i++) delta[i] = e > 0 ? 0.5f + (attacked[i] - pixels[i]) / (2 * e) : 0.5f;
            string path = parse.GetValue(output)!;
            InsightInput.SavePng(path, SideBySide([pixels, delta, attacked], c, h, w, gap: Math.Max(2, w / 16)), 3 * w + 2 * Math.Max(2, w / 16), h, c);
            Console.WriteLine($"original | perturbation | adversarial → {path}");
            return 0;
        }));
        return command;
    }

    /// <summary>CHW panels in [0, 1] placed left to right with white gaps, as interleaved 8-bit pixels.</summary>
    private static byte[] SideBySide(float[][] panels, int channels, int h, int w, int gap)
    {
        int width = panels.Length * w + (panels.Length - 1) * gap, plane = h * w;
        var bytes = new byte[width * h * channels];
        Array.Fill(bytes, (byte)255);
        for (int p = 0; p < panels.Length; p++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < channels; c++)
                        bytes[(y * width + p * (w + gap) + x) * channels + c] =
                            (byte)Math.Round(Math.Clamp(panels[p][c * plane + y * w + x], 0f, 1f) * 255f);
        return bytes;
    }
}
