using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Striate.Benchmarks;

namespace Striate.Cli.Commands;

/// <summary><c>striate bench [--json] [--only SUITE] [--figures SUBSTRING] [--threads N]</c>: the performance figures, one per row.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array of {\"name\", \"value\", \"unit\"} instead of a table." };
        var only = new Option<string[]>("--only")
        {
            Description = $"Run only these suites ({string.Join(", ", BenchSuite.Suites.Keys)}; {string.Join(", ", BenchSuite.OnRequest)} only when named: all-reduce bandwidth over MPI).",
            AllowMultipleArgumentsPerToken = true,
        };
        var figures = new Option<string[]>("--figures")
        {
            Description = "Measure only figures whose name contains one of these substrings (e.g. tv_resnet18, conv3x3_64_56).",
            AllowMultipleArgumentsPerToken = true,
        };
        var threads = new Option<int>("--threads") { Description = "Kernel threads (default: all cores)." };
        var command = new Command("bench", "Measure kernel and model throughput on this machine.") { json, only, figures, threads };
        command.SetAction(parse =>
        {
            var selected = parse.GetValue(only) is { Length: > 0 } names ? names : BenchSuite.Suites.Keys.Where(k => !BenchSuite.OnRequest.Contains(k)).ToArray();
            foreach (var name in selected)
            {
                if (!BenchSuite.Suites.ContainsKey(name))
                {
                    Console.Error.WriteLine($"striate bench: unknown suite '{name}'; expected one of {string.Join(", ", BenchSuite.Suites.Keys)}.");
                    return 2;
                }
            }
            int t = parse.GetValue(threads);
            if (t < 0) { Console.Error.WriteLine($"striate bench: --threads must be positive, got {t}."); return 2; }
            if (t > 0) Striate.Kernels.KernelThreads.Count = t;

            BenchFilter.Patterns = parse.GetValue(figures) ?? [];

            bool asJson = parse.GetValue(json);
            var measured = new List<BenchFigure>();
            foreach (var name in selected)
            {
                foreach (var figure in BenchSuite.Suites[name]())
                {
                    measured.Add(figure);
                    if (!asJson)
                        Console.WriteLine($"{figure.Name,-40} {figure.Value.ToString(Math.Abs(figure.Value) < 10 ? "F3" : "F1", CultureInfo.InvariantCulture),10} {figure.Unit}");
                }
            }
            if (asJson)
            {
                var rows = measured.Select(f => new Dictionary<string, object> { ["name"] = f.Name, ["value"] = Math.Round(f.Value, 3), ["unit"] = f.Unit });
                Console.WriteLine(JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
            }
            return 0;
        });
        return command;
    }
}
