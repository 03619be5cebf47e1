using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using System.Xml.Linq;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Packaging;

/// <summary>
/// What a user gets from <c>dotnet pack</c>: the solution is packed (from the build these tests run on, so no
/// compiling) into a temporary folder, every package's metadata, contents and dependencies are checked, and the
/// tool is installed from that folder into a tool path outside the repository, where it must report its version and
/// train LeNet offline on the MNIST copy it carries.
/// </summary>
public sealed class PackageTests : IClassFixture<PackageTests.PackedSolution>
{
    private readonly PackedSolution _packed;

    public PackageTests(PackedSolution packed) => _packed = packed;

    /// <summary>Packs the solution once for all the tests of this class.</summary>
    public sealed class PackedSolution : IDisposable
    {
        public string Folder { get; } = Directory.CreateTempSubdirectory("striate-pack").FullName;
        public IReadOnlyDictionary<string, string> Packages { get; }
        public string Version { get; }
        public string PackOutput { get; }

        public PackedSolution()
        {
            // The tests run from tests/Striate.Tests/bin/CONFIG/net10.0: pack that configuration's build.
            string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
            var r = Run(RepoPaths.Root, "dotnet", "pack", "Striate.sln", "-c", configuration, "--no-build", "-nodeReuse:false", "-o", Folder);
            PackOutput = r.Output;
            Assert.True(r.ExitCode == 0, $"dotnet pack failed:\n{r.Output}");
            var packages = new Dictionary<string, string>();
            string? version = null;
            foreach (var file in Directory.GetFiles(Folder, "*.nupkg"))
            {
                var (id, v) = ReadIdentity(file);
                packages[id] = file;
                version ??= v;
                Assert.Equal(version, v);
            }
            Packages = packages;
            Version = version ?? "";
        }

        public void Dispose() => Directory.Delete(Folder, recursive: true);
    }

    [Fact]
    public void PackIsQuietAndMakesTheLibraryTheToolAndTheInteropPackagesOnly()
    {
        Assert.DoesNotContain("warning", _packed.PackOutput, StringComparison.OrdinalIgnoreCase);
        foreach (var id in new[] { "Striate", "Striate.Cli", "Striate.Imaging", "Striate.Onnx", "Striate.Mpi" })
            Assert.True(_packed.Packages.ContainsKey(id), $"no {id} package among {string.Join(", ", _packed.Packages.Keys)}");
        foreach (var id in _packed.Packages.Keys)
        {
            Assert.StartsWith("Striate", id);
            Assert.DoesNotContain("Bench", id);
            Assert.DoesNotContain("Test", id);
            Assert.DoesNotContain("Worker", id);
            Assert.DoesNotContain("TrainLeNet", id);
        }
        Assert.Matches(@"^0\.\d+\.\d+(-[0-9A-Za-z.]+)?$", _packed.Version);
    }

    [Fact]
    public void EveryPackageHasRealMetadataAndItsReadme()
    {
        foreach (var (id, file) in _packed.Packages)
        {
            var meta = Nuspec(file);
            string Get(string name) => meta.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
            Assert.True(Get("description").Length > 40 && Get("description") != "Package Description", $"{id}: description '{Get("description")}'");
            Assert.Equal("Apache-2.0", Get("license"));
            Assert.Equal("README.md", Get("readme"));
            Assert.NotEqual("", Get("authors"));
            Assert.NotEqual(id, Get("authors")); // the SDK's default is the package id
            Assert.NotEqual("", Get("tags"));
            Assert.StartsWith("https://", meta.Elements().Single(e => e.Name.LocalName == "repository").Attribute("url")!.Value);
            using var zip = ZipFile.OpenRead(file);
            Assert.Contains("Striate", new StreamReader(zip.GetEntry("README.md")!.Open()).ReadToEnd());
        }
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "LICENSE")), "no LICENSE file at the repository root");
        Assert.Contains("Apache License", File.ReadAllText(Path.Combine(RepoPaths.Root, "LICENSE")));
    }

    [Fact]
    public void TheLibraryIsSmallPureIlAndDependsOnNoPackage()
    {
        string file = _packed.Packages["Striate"];
        long size = new FileInfo(file).Length;
        Assert.True(size < 2_000_000, $"Striate package is {size:N0} bytes");
        using var zip = ZipFile.OpenRead(file);
        foreach (var entry in zip.Entries)
        {
            Assert.False(entry.FullName.StartsWith("runtimes/") || entry.FullName.StartsWith("native/") || entry.FullName.StartsWith("build"),
                $"native or build payload in the Striate package: {entry.FullName}");
            if (entry.FullName.EndsWith(".dll")) AssertPureIl(entry);
        }
        Assert.Contains(zip.Entries, e => e.FullName == "lib/net10.0/Striate.dll");
        Assert.Contains(zip.Entries, e => e.FullName == "lib/net10.0/Striate.xml");
        // The core runs on .NET alone (its span arithmetic is SpanMath on the BCL's vectors); packages live in the satellites.
        Assert.Empty(Dependencies(file));
        Assert.Equal(["Striate"], Dependencies(_packed.Packages["Striate.Mpi"]));
        Assert.Equal(["Google.Protobuf", "Striate"], Dependencies(_packed.Packages["Striate.Onnx"]).Order());
        Assert.Equal(["SixLabors.ImageSharp", "Striate"], Dependencies(_packed.Packages["Striate.Imaging"]).Order());
    }

    [Fact]
    public void TheToolCarriesMnistAndNoNativeCode()
    {
        string file = _packed.Packages["Striate.Cli"];
        var meta = Nuspec(file);
        Assert.Contains(meta.Descendants(), e => e.Name.LocalName == "packageType" && e.Attribute("name")?.Value == "DotnetTool");
        using var zip = ZipFile.OpenRead(file);
        foreach (var name in new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" })
        {
            var entry = zip.GetEntry($"tools/net10.0/any/data/mnist/{name}");
            Assert.True(entry is not null, $"the tool package lacks data/mnist/{name}");
            Assert.Equal(new FileInfo(Path.Combine(RepoPaths.Root, "data", "mnist", name)).Length, entry!.Length);
        }
        Assert.NotNull(zip.GetEntry("tools/net10.0/any/data/README.md")); // MNIST's licence travels with it
        foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".dll"))) AssertPureIl(entry);
        long size = new FileInfo(file).Length;
        Assert.True(size < 16_000_000, $"Striate.Cli package is {size:N0} bytes");
    }

    [Fact]
    public void TheToolInstallsFromTheFolderAndTrainsOfflineOutsideTheRepository()
    {
        string home = Directory.CreateTempSubdirectory("striate-tool").FullName;
        try
        {
            // Only the packed folder as a source, and a private package cache: a stale striate.cli of the same version
            // in ~/.nuget/packages must not stand in for the package just made.
            string config = Path.Combine(home, "nuget.config");
            File.WriteAllText(config, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration><packageSources><clear /><add key="packed" value="{_packed.Folder}" /></packageSources></configuration>
                """);
            var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(home, "nuget-packages") };
            string toolPath = Path.Combine(home, "tools");
            var r = Run(home, "dotnet", env, "tool", "install", "Striate.Cli", "--tool-path", toolPath, "--configfile", config, "--version", _packed.Version);
            Assert.True(r.ExitCode == 0, r.Output);

            // The installed command, run from a folder outside any clone, with no dataset cache, no STRIATE_DATA and no network.
            string striate = Path.Combine(toolPath, OperatingSystem.IsWindows() ? "striate.exe" : "striate");
            string work = Directory.CreateDirectory(Path.Combine(home, "work")).FullName;
            env["XDG_CACHE_HOME"] = Path.Combine(home, "cache");
            env["STRIATE_DATA"] = "";
            env["DOTNET_ROOT"] = DotnetRoot();
            r = Run(work, striate, env, "--version");
            Assert.True(r.ExitCode == 0, r.Output);
            Assert.StartsWith(_packed.Version, r.Stdout.Trim());

            r = Run(work, striate, env, "train", "lenet-relu", "--limit-train", "300", "--limit-test", "500", "--epochs", "1");
            Assert.True(r.ExitCode == 0, r.Output);
            string metrics = Path.Combine(work, "runs", "lenet-relu-mnist", "metrics.json");
            Assert.True(File.Exists(metrics), $"no {metrics}:\n{r.Output}");
            using var json = JsonDocument.Parse(File.ReadAllText(metrics));
            Assert.InRange(json.RootElement.GetProperty("epochs")[0].GetProperty("test_accuracy").GetDouble(), 0.0, 1.0);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private static void AssertPureIl(ZipArchiveEntry entry)
    {
        using var stream = new MemoryStream();
        using (var s = entry.Open()) s.CopyTo(stream);
        stream.Position = 0;
        using var pe = new PEReader(stream);
        Assert.True(pe.HasMetadata && pe.PEHeaders.CorHeader is { } cor && (cor.Flags & CorFlags.ILOnly) != 0, $"{entry.FullName} is not pure IL");
    }

    private static XElement Nuspec(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec") && !e.FullName.Contains('/'));
        using var s = entry.Open();
        return XDocument.Load(s).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static (string Id, string Version) ReadIdentity(string nupkg)
    {
        var meta = Nuspec(nupkg);
        return (meta.Elements().Single(e => e.Name.LocalName == "id").Value, meta.Elements().Single(e => e.Name.LocalName == "version").Value);
    }

    private static List<string> Dependencies(string nupkg) =>
        Nuspec(nupkg).Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => e.Attribute("id")!.Value).Distinct().ToList();

    /// <summary>The folder of the dotnet that runs these tests (…/shared/Microsoft.NETCore.App/VERSION/ → …).</summary>
    private static string DotnetRoot() =>
        Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root
            ? root
            : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));

    private sealed record ProcessResult(int ExitCode, string Stdout, string Output);

    private static ProcessResult Run(string dir, string program, params string[] args) => Run(dir, program, new Dictionary<string, string>(), args);

    private static ProcessResult Run(string dir, string program, Dictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in 5 minutes.");
        }
        return new ProcessResult(p.ExitCode, stdout.Result, $"$ {program} {string.Join(' ', args)}\n{stdout.Result}{stderr.Result}");
    }
}
