using System.Globalization;
using Striate.Benchmarks;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Bench;

/// <summary>
/// <c>striate bench --serve-b1 MODEL</c> (<see cref="PairedB1Server"/>), Striate's side of <c>bench/ort_b1.py --paired</c>:
/// "ready" once prepared, one positive millisecond figure per "run" line, nothing after "quit"; other lines and
/// unknown models are refused with exit code 2. Timings are not checked.
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
    }
}
