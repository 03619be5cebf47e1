using System.CommandLine;
using System.Globalization;
using Striate.Autograd;
using Striate.Data;
using Striate.Data.Transforms;
using Striate.Functional;
using Striate.Insight;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate explain CHECKPOINT IMAGE [--method gradcam|cam|saliency] [--class K] [--layer NAME] --out F.png</c>: prints
/// the top-5 classes and writes the chosen explanation map blended over the image.
/// </summary>
internal static class ExplainCommand
{
    public static readonly string[] Methods = ["gradcam", "cam", "saliency"];

    /// <summary>A Grad-CAM map with a shorter side below this is reported as coarse (torchvision's ResNets give 7×7 at 224×224).</summary>
    public const int MinUsefulMapSide = 4;

    public static Command Create()
    {
        var checkpoint = new Argument<string>("CHECKPOINT") { Description = "A model.safetensors written by striate train, or a weights file." };
        var image = new Argument<string>("IMAGE") { Description = "A PNG, PGM or PPM file." };
        var method = new Option<string>("--method") { Description = "gradcam (Selvaraju et al. 2017), cam (Zhou et al. 2016; needs GAP + Linear) or saliency (Simonyan et al. 2014).", DefaultValueFactory = _ => "gradcam" };
        var classIndex = new Option<int?>("--class") { Description = "Class to explain (default: the predicted one)." };
        var layer = new Option<string?>("--layer") { Description = "Layer for Grad-CAM (default: the last convolutional stage)." };
        var output = new Option<string>("--out") { Description = "Output PNG: the map over the image.", Required = true };
        var modelName = new Option<string?>("--model") { Description = "Model name, for weights files that do not name it." };
        var key = LoadedModel.KeyOption();
        var fit = new Option<bool>("--fit") { Description = "Resize and convert the image to the model's input instead of rejecting it." };
        var alpha = new Option<double>("--alpha") { Description = "Opacity of the heat map over the image (0–1).", DefaultValueFactory = _ => 0.5 };
        var command = new Command("explain", "Show which parts of an image a model's prediction rests on.")
            { checkpoint, image, method, classIndex, layer, output, modelName, key, fit, alpha };
        command.SetAction(parse => CliErrors.Run(parse, "explain", () =>
        {
            string m = parse.GetValue(method)!.ToLowerInvariant();
            if (!Methods.Contains(m)) throw new ArgumentException($"--method must be one of {string.Join(", ", Methods)}, got '{parse.GetValue(method)}'.");
            if (parse.GetValue(layer) != null && m != "gradcam") throw new ArgumentException($"--layer applies to gradcam only (cam uses the layer before global pooling, saliency the input).");
            var loaded = LoadedModel.Load(parse.GetValue(checkpoint)!, parse.GetValue(modelName), parse.GetValue(key));
            var (pixels, input) = InsightInput.Load(loaded, parse.GetValue(image)!, parse.GetValue(fit));
            int? k = parse.GetValue(classIndex);
            string layerName = parse.GetValue(layer) ?? (m == "gradcam" ? GradCam.DefaultLayer(loaded.Model) : "");
            var map = m switch
            {
                "gradcam" => GradCam.Compute(loaded.Model, input, layerName, k),
                "cam" => ClassActivationMap.Compute(loaded.Model, input, k),
                _ => Saliency.Compute(loaded.Model, input, k),
            };
            InsightInput.PrintTopK(loaded, input);
            int shown = k ?? Predictions.TopK(loaded.Model, input, 1)[0].ClassIndex;
            var (c, h, w) = loaded.InputShape;
            var rgb = InsightInput.Overlay(pixels, c, h, w, map, parse.GetValue(alpha));
            string path = parse.GetValue(output)!;
            InsightInput.SavePng(path, rgb, w, h, 3);
            string where = m == "gradcam" ? $" at layer {layerName}" : "";
            Console.WriteLine($"{m}{where} for class {(loaded.HasClassNames ? $"{shown} ({loaded.ClassNames[shown]})" : shown)}, map {map.Size(0)}×{map.Size(1)} → {path}");
            // The last stage of a deep network is tiny at a small input (ResNet at 64×64: 2×2), and a map that coarse
            // says little; Grad-CAM on an earlier stage is finer, so say so rather than silently draw four blocks.
            if (m == "gradcam" && parse.GetValue(layer) is null && Math.Min(map.Size(0), map.Size(1)) < MinUsefulMapSide)
                Console.Error.WriteLine($"note: the default layer {layerName} gives only a {map.Size(0)}×{map.Size(1)} map at this {h}×{w} input, too coarse to say much; " +
                                        $"pass --layer with an earlier stage for a finer map (striate summary {loaded.Entry.Name} --input {c}x{h}x{w} lists the layers and their output sizes).");
            return 0;
        }));
        return command;
    }
}

/// <summary>Loading one image as the model saw its training data, printing predictions and drawing maps (shared by explain and adversarial).</summary>
internal static class InsightInput
{
    /// <summary>The image as the model saw its training data (see <see cref="LoadedModel.LoadImage"/>).</summary>
    public static (float[] Pixels, Tensor Input) Load(LoadedModel loaded, string path, bool fit) => loaded.LoadImage(path, fit);

    /// <summary>Mean and std of the model's normalization (identity: 0 and 1).</summary>
    public static (float[] Mean, float[] Std) Statistics(LoadedModel loaded) => loaded.Normalization ?? ([0f], [1f]);

    /// <summary>Model input back to [0, 1] pixels (undoes Normalize).</summary>
    public static float[] ToPixels(LoadedModel loaded, Tensor input)
    {
        var (mean, std) = Statistics(loaded);
        int channels = input.Size(1), plane = input.Numel / channels;
        var result = input.ToArray();
        for (int c = 0; c < channels; c++)
        {
            float m = mean[mean.Length == 1 ? 0 : c], s = std[std.Length == 1 ? 0 : c];
            for (int i = 0; i < plane; i++) result[c * plane + i] = result[c * plane + i] * s + m;
        }
        return result;
    }

    public static void PrintTopK(LoadedModel loaded, Tensor input, string indent = "  ") =>
        PrintTopK(loaded, Predictions.TopK(loaded.Model, input, Math.Min(5, loaded.ClassNames.Count)), indent);

    /// <summary>One line per prediction (<see cref="Row"/>).</summary>
    public static void PrintTopK(LoadedModel loaded, IEnumerable<Prediction> predictions, string indent = "  ")
    {
        foreach (var p in predictions) Console.WriteLine(indent + Row(loaded, p));
    }

    /// <summary>
    /// "100.00 %  281  tabby" or " 41.20 %  7": the probability right-aligned to the width of "100.00 %", the class index,
    /// and the class name when the model has one that is not the index itself (MNIST's names are its digits).
    /// </summary>
    public static string Row(LoadedModel loaded, Prediction p)
    {
        string probability = p.Probability.ToString("P2", System.Globalization.CultureInfo.InvariantCulture);
        string index = p.ClassIndex.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string name = loaded.ClassNames[p.ClassIndex];
        return !loaded.HasClassNames || name == index ? $"{probability,8}  {index}" : $"{probability,8}  {index,3}  {name}";
    }

    /// <summary>The map blended over the image (HeatMapRendering), after checking --alpha.</summary>
    public static byte[] Overlay(float[] imageChw, int channels, int h, int w, Tensor map, double alpha)
    {
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentException($"--alpha must be in [0, 1], got {alpha}.");
        return HeatMapRendering.Overlay(imageChw, channels, h, w, map, alpha);
    }

    /// <summary>
    /// Saves interleaved pixels as PNG, enlarged by an integer factor (nearest neighbour, so pixels stay sharp) until the
    /// shorter side is at least <paramref name="minSide"/>: a 28×28 digit becomes 224×224, big enough to see.
    /// </summary>
    public static void SavePng(string path, byte[] pixels, int width, int height, int channels, int minSide = 224)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        int f = Math.Max(1, (minSide + Math.Min(width, height) - 1) / Math.Min(width, height));
        var big = new byte[width * f * height * f * channels];
        for (int y = 0; y < height * f; y++)
            for (int x = 0; x < width * f; x++)
                pixels.AsSpan(((y / f) * width + x / f) * channels, channels).CopyTo(big.AsSpan((y * width * f + x) * channels, channels));
        File.WriteAllBytes(path, PngCodec.Encode(big, width * f, height * f, channels));
    }

    public static string Format(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);
}
