using Striate.Autograd;
using Striate.IO;
using Striate.IO.Pth;
using Striate.Models;
using Striate.Tests.TestSupport;
using Striate.Training;

namespace Striate.Tests.IO.Pth;

/// <summary>
/// The shared interop reference (../shared/reference/interop, or the folder named by STRIATE_INTEROP_REFERENCE_DIR):
/// every <c>pth/NAME.pth</c> and <c>pth/NAME_legacy.pth</c> with a <c>pth/NAME.io.safetensors</c> loads through
/// <see cref="Checkpoint.Load"/> into the zoo model its metadata names and gives PyTorch's logits; every
/// <c>pth/evil_*.pth</c> is refused naming its global, and nothing runs.
/// </summary>
public sealed class PthInteropReferenceTests(ITestOutputHelper output)
{
    /// <summary>"Within 1e-4 relative": |Δ| ≤ 1e-4 · max |logit| for every logit.</summary>
    private const double Relative = 1e-4;

    private static string? Folder
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable("STRIATE_INTEROP_REFERENCE_DIR");
            if (!string.IsNullOrEmpty(overridden)) return overridden;
            return RepoPaths.SharedDir is { } shared ? Path.Combine(shared, "reference", "interop") : null;
        }
    }

    private static string PthFolder()
    {
        var folder = Folder;
        Assert.SkipWhen(folder == null || !Directory.Exists(Path.Combine(folder, "pth")),
            $"no interop reference folder with pth/ ({folder ?? "no shared folder found"}); set STRIATE_INTEROP_REFERENCE_DIR.");
        return Path.Combine(folder!, "pth");
    }

    [Fact]
    public void EveryPthLoadsIntoItsModelAndGivesPyTorchsLogits()
    {
        var folder = PthFolder();
        var files = Directory.GetFiles(folder, "*.pth").Where(f => !Path.GetFileName(f).StartsWith("evil_", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        int checkedFiles = 0;
        var failures = new List<string>();
        foreach (var path in files)
        {
            string stem = Path.GetFileNameWithoutExtension(path);
            bool legacy = stem.EndsWith("_legacy", StringComparison.Ordinal);
            string ioPath = Path.Combine(folder, (legacy ? stem[..^"_legacy".Length] : stem) + ".io.safetensors");
            if (!File.Exists(ioPath)) { output.WriteLine($"{stem}: no {Path.GetFileName(ioPath)}, not compared"); continue; }
            try
            {
                var (diff, relative) = Compare(path, ioPath, legacy);
                output.WriteLine($"{Path.GetFileName(path)}: max |Δlogit| = {diff:E2} ({relative:E2} of the largest logit)");
                checkedFiles++;
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException or ArgumentException or PthFormatException)
            {
                failures.Add($"{Path.GetFileName(path)}: {e.Message}");
            }
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        Assert.True(checkedFiles > 0, $"{folder} has no .pth with a matching .io.safetensors");
    }

    private static (double Diff, double Relative) Compare(string path, string ioPath, bool legacy)
    {
        var io = SafetensorsFile.Load(ioPath);
        string name = io.Metadata["model"];
        Assert.Equal(legacy ? PthFormat.Legacy : PthFormat.Zip, PthFile.Load(path).Format);

        var checkpoint = Checkpoint.Load(path);
        var model = ModelRegistry.Create(name, new ModelOptions(3, 1000, Generator: new Generator(0)));
        Assert.Equal(model.IntegerBufferNames().Order(StringComparer.Ordinal), checkpoint.IntegerKeys.Order(StringComparer.Ordinal));
        checkpoint.Restore(model);
        model.Eval();

        var expected = io.GetTensor("__logits__");
        using var noGrad = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var logits = model.Call(io.GetTensor("__input__"));
        double scale = expected.ReadOnlySpan.ToArray().Max(v => Math.Abs(v));
        Close.Assert(expected, logits, 0, Relative * scale, $"{name} logits from {Path.GetFileName(path)}");
        double diff = 0;
        for (int i = 0; i < expected.Numel; i++) diff = Math.Max(diff, Math.Abs(expected.ReadOnlySpan[i] - logits.ReadOnlySpan[i]));
        return (diff, diff / scale);
    }

    /// <summary>The hostile files the reference README describes, and the global each must be refused for.</summary>
    private static readonly Dictionary<string, string> KnownGlobals = new()
    {
        ["evil_os_system.pth"] = "posix.system",
        ["evil_eval.pth"] = "__builtin__.eval",
        ["evil_module.pth"] = "torch.nn.modules.linear.Linear",
    };

    [Fact]
    public void EveryHostileFileIsRefusedNamingItsGlobal()
    {
        var folder = PthFolder();
        var files = Directory.GetFiles(folder, "evil_*.pth").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        foreach (var path in files)
        {
            var e = Assert.Throws<PthUnsafeGlobalException>(() => Checkpoint.Load(path));
            output.WriteLine($"{Path.GetFileName(path)}: {e.Message}");
            Assert.Contains($"{e.Global} is a Python global outside Striate's allowlist", e.Message);
            if (KnownGlobals.TryGetValue(Path.GetFileName(path), out var global)) Assert.Equal(global, e.Global);
        }
        Assert.False(File.Exists(Path.Combine(folder, "PWNED")), $"{folder}/PWNED exists");
    }
}
