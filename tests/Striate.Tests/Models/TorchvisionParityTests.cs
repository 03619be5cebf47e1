using Striate.Autograd;
using Striate.IO;
using Striate.Models;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Models;

/// <summary>
/// Every torchvision reference file (shared/reference/models, or the folder named by STRIATE_MODEL_REFERENCE_DIR):
/// the model its metadata names, built through the registry and loaded strictly with the file's torchvision
/// state_dict, must reproduce torchvision's eval-mode logits on the file's input.
/// </summary>
public sealed class TorchvisionParityTests(ITestOutputHelper output)
{
    private const double Rtol = 1e-3, Atol = 1e-3;

    private static string? Folder
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable("STRIATE_MODEL_REFERENCE_DIR");
            if (!string.IsNullOrEmpty(overridden)) return overridden;
            return RepoPaths.SharedDir is { } shared ? Path.Combine(shared, "reference", "models") : null;
        }
    }

    [Fact]
    public void EveryReferenceModelReproducesTorchvisionLogits()
    {
        var folder = Folder;
        Assert.SkipWhen(folder == null || !Directory.Exists(folder),
            $"no model reference folder ({folder ?? "no shared folder found"}); set STRIATE_MODEL_REFERENCE_DIR.");
        var files = Directory.GetFiles(folder!, "*.safetensors").OrderBy(f => f, StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(files);

        var failures = new List<string>();
        foreach (var path in files)
        {
            var file = SafetensorsFile.Load(path);
            string model = file.Metadata["model"];
            try
            {
                double maxDiff = Run(file, model);
                output.WriteLine($"{model}: max |Δlogit| = {maxDiff:E2}");
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException or ArgumentException)
            {
                failures.Add($"{Path.GetFileName(path)} ({model}): {e.Message}");
            }
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private static double Run(SafetensorsFile file, string name)
    {
        var model = ModelRegistry.Create(name, new ModelOptions(3, 1000, Generator: new Generator(0)));
        Assert.Equal(long.Parse(file.Metadata["parameters"], System.Globalization.CultureInfo.InvariantCulture), model.ParameterCount());
        var state = file.Names.Where(n => !n.StartsWith("__", StringComparison.Ordinal))
            .Select(n => new KeyValuePair<string, Tensor>(n, file.GetTensor(n)));
        model.LoadStateDict(state);
        model.Eval();

        var expected = file.GetTensor("__logits__");
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var logits = model.Call(file.GetTensor("__input__"));
        Close.Assert(expected, logits, Rtol, Atol, $"{name} logits");
        double max = 0;
        for (int i = 0; i < expected.Numel; i++) max = Math.Max(max, Math.Abs(expected.ReadOnlySpan[i] - logits.ReadOnlySpan[i]));
        return max;
    }
}
