using System.CommandLine;
using Striate.Data;
using Striate.Insight;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate filter IMAGE --kernel NAME [--size K --sigma S] --out F.png</c>: applies a classic kernel to every channel
/// (zero padding at the border, as convolution does). Output values are clamped to [0, 1]; the signed kernels (edge,
/// sobel-x, sobel-y) are shown as absolute values so that both edge directions light up.
/// </summary>
internal static class FilterCommand
{
    public static Command Create()
    {
        var image = new Argument<string>("IMAGE") { Description = "PNG, PGM or PPM file." };
        var kernel = new Option<string>("--kernel") { Description = $"Kernel: {string.Join(", ", ClassicKernels.Names)}.", Required = true };
        var size = new Option<int?>("--size") { Description = $"Blur kernel size (odd; default {ClassicKernels.DefaultBlurSize})." };
        var sigma = new Option<double?>("--sigma") { Description = $"Gaussian sigma in pixels (default {ClassicKernels.DefaultSigma})." };
        var output = new Option<string>("--out") { Description = "Output PNG.", Required = true };
        var command = new Command("filter", "Apply a classic image kernel (edge, blur, sobel, ...) to an image.") { image, kernel, size, sigma, output };
        command.SetAction(parse => CliErrors.Run(parse, "filter", () =>
        {
            string name = parse.GetValue(kernel)!;
            var k = ClassicKernels.Get(name, parse.GetValue(size), parse.GetValue(sigma));
            var decoded = ImageFolder.LoadImage(parse.GetValue(image)!);
            var sample = new ImageSample();
            ImageConversion.ToSample(decoded, sample);
            var filtered = ImageFilter.Apply(Tensor.FromArray(sample.Pixels, sample.Channels, sample.Height, sample.Width), k).ToArray();
            if (ClassicKernels.IsSigned(name))
                for (int i = 0; i < filtered.Length; i++) filtered[i] = MathF.Abs(filtered[i]);
            var result = ImageConversion.ToImage(filtered, sample.Channels, sample.Height, sample.Width);
            string path = parse.GetValue(output)!;
            PngCodec.Save(path, result);
            Console.WriteLine($"Wrote {path} ({sample.Width}×{sample.Height}, {sample.Channels} channel{(sample.Channels == 1 ? "" : "s")}, kernel {name} {k.Size(0)}×{k.Size(1)}).");
            return 0;
        }));
        return command;
    }
}
