using System.Globalization;
using Striate.Benchmarks;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Bench;

/// <summary>
/// <c>striate bench --serve-b1 MODEL</c> (<see cref="PairedB1Server"/>), Striate's side of <c>bench/ort_b1.py --paired</c>:
/// "ready" once prepared, one positive millisecond figure per "run" line, one line of per-step milliseconds per
/// "profile" line (what bench/steps_b1.py parses), nothing after "quit"; other lines and unknown models are refused
/// with exit code 2. Timings are not checked.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class PairedB1ServerTests
{
    private static (int Code, string[] Lines, string Error) Serve(string model, string input)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        try
        {
            int code = PairedB1Server.Serve(model, new StringReader(input), output, error);
            return (code, output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), error.ToString());
        }
        finally
        {
            BenchSwitches.RestoreDefaults();
        }
    }

    [Fact]
    public void AnswersEachRunWithItsMilliseconds()
    {
        var (code, lines, error) = Serve("mobilenet_v2", "run\nrun\nquit\nrun\n");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Equal(3, lines.Length);
        Assert.Equal("ready", lines[0]);
        foreach (var line in lines[1..]) Assert.True(double.Parse(line, CultureInfo.InvariantCulture) > 0, line);
    }

    [Fact]
    public void AnswersEachProfileWithEveryStepAndItsMilliseconds()
    {
        var (code, lines, error) = Serve("mobilenet_v2", "profile\nrun\nprofile\nquit\n");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Equal(4, lines.Length);
        Assert.True(double.Parse(lines[2], CultureInfo.InvariantCulture) > 0, lines[2]);
        string[][] nodes = [.. new[] { lines[1], lines[3] }.Select(line => line.Split(';').Select(entry =>
        {
            int at = entry.LastIndexOf('=');
            Assert.True(at > 0, entry);
            Assert.True(double.Parse(entry[(at + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture) >= 0, entry);
            return entry[..at];
        }).ToArray())];
        // One entry per step of the prepared session, the same steps in the same order each time; the first is
        // MobileNet-V2's stem with features.1 and the last its classifier.
        Assert.True(nodes[0].Length > 10, lines[1]);
        Assert.Equal(nodes[0], nodes[1]);
        Assert.Contains("features.0.0", nodes[0][0]);
        Assert.Contains("classifier", nodes[0][^1]);
    }

    [Fact]
    public void AnswersPlacementWithOneLineOfJson()
    {
        var (code, lines, error) = Serve("mobilenet_v2", "placement\nquit\n");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Equal(2, lines.Length);
        using var doc = System.Text.Json.JsonDocument.Parse(lines[1]);
        var root = doc.RootElement;
        Assert.Equal(Environment.ProcessId, root.GetProperty("pid").GetInt32());
        Assert.True(root.GetProperty("threads").GetArrayLength() >= 1);
        Assert.Contains(root.GetProperty("code").EnumerateArray(), c => c.GetProperty("method").GetString()!.StartsWith("Gemm256x6x16.Run(", StringComparison.Ordinal));
        var regions = root.GetProperty("regions").EnumerateArray().ToList();
        Assert.Contains(regions, r => r.GetProperty("role").GetString() == "buffer 0");
        Assert.Contains(regions, r => r.GetProperty("role").GetString() == "y");
        foreach (var r in regions)
        {
            long address = Convert.ToInt64(r.GetProperty("addr").GetString(), 16), bytes = r.GetProperty("bytes").GetInt64();
            Assert.Equal(address % 64, r.GetProperty("mod64").GetInt64());
            Assert.Equal(address % 4096, r.GetProperty("mod4k").GetInt64());
            Assert.Equal((address + bytes - 1) / 4096 - address / 4096 + 1, r.GetProperty("pages").GetInt64());
        }
    }

    [Fact]
    public void RefusesUnknownModelsAndLines()
    {
        var (code, lines, error) = Serve("resnet19", "run\n");
        Assert.Equal(2, code);
        Assert.Empty(lines);
        Assert.Contains("resnet18", error);

        (code, lines, error) = Serve("mobilenet_v2", "go\n");
        Assert.Equal(2, code);
        Assert.Equal(["ready"], lines);
        Assert.Contains("'go'", error);
        Assert.Contains("'profile'", error);
    }
}
