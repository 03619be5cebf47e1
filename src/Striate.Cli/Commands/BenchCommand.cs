using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Striate.Benchmarks;

namespace Striate.Cli.Commands;

/// <summary>
/// <c>striate bench [--json] [--only SUITE] [--figures SUBSTRING] [--threads N] [--ab NAME=VALUE ... | --ab-null] [--ab-swap] [--rounds N]</c>:
/// the performance figures, one per row; with --ab, each figure in two arms alternated in one process (<see cref="BenchAb"/>);
/// with --ab-null, the same with both arms alike (the noise floor).
/// </summary>
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
        var ab = new Option<string[]>("--ab")
        {
            HelpName = "NAME=VALUE",
            Description = "A/B in one process: arm A runs the STRIATE_BENCH_* switches as the environment gives them, arm B with these "
                + "NAME=VALUE set (NAME= unsets one), alternating A B, B A, ... for --rounds pairs; prints each figure's medians, B÷A and the "
                + "range of per-pair ratios (with STRIATE_BENCH_PROFILE=RUNS also each step of both arms side by side). Needs --only "
                + "(models, layers, conv, gemm, lenet, resnet). Every switch works: before each arm the fields are reset and the "
                + "environment re-applied, the transformed-weight cache emptied and the suite re-run from scratch (models rebuilt and "
                + "re-prepared), so the switches a session bakes in when prepared (STRIATE_BENCH_POOL_*, _AFFINE_*, _SHARED_INPUT, "
                + "_BANDED_*, _STEM_*, _AVX2_NC) take effect per arm. "
                + "E.g. --only models --figures tv_resnet50_224_infer_b1_latency --ab STRIATE_BENCH_AVX2_NC=512 --rounds 8.",
            AllowMultipleArgumentsPerToken = true,
        };
        var abNull = new Option<bool>("--ab-null")
        {
            Description = "An A/A run instead of --ab: both arms run the switches as the environment gives them, alternated, reset and rebuilt "
                + "exactly as in an A/B, so B÷A, the pair range, the 90 % CI and the sign test show the noise floor an A/B of the same "
                + "figures and rounds has to clear. E.g. --only gemm --figures sgemm_1024 --ab-null --rounds 20.",
        };
        var abSwap = new Option<bool>("--ab-swap")
        {
            Description = "With --ab or --ab-null: run the arms B A, A B, ... (BAAB) instead of A B, B A, ... (ABBA). Both orders put each arm "
                + "first in every other round; this changes only which arm opens the process on a cold JIT, heap and cache. To swap "
                + "which value the environment gives, run again with the variable exported and --ab giving the other value.",
        };
        var abControl = new Option<bool>("--ab-control")
        {
            Description = "With --ab: a third arm A' running arm A's switches again, the three rotated per round (A B A', B A' A, A' A B, ...), "
                + "and under each figure's B÷A row its A'÷A row: the A/A noise floor of the same window, without a second command.",
        };
        var abWarmUp = new Option<int>("--ab-warm-up")
        {
            HelpName = "N",
            Description = "With --ab or --ab-null: untimed passes of each arm before round 1, in round 1's order (default 1; 0: none), so no timed "
                + "round opens the process on a cold JIT and heap.",
            DefaultValueFactory = _ => 1,
        };
        var rounds = new Option<int>("--rounds") { HelpName = "N", Description = "With --ab or --ab-null: pairs of arms to run (default 4; at least 3 for a range worth reading, 20 for a CI).", DefaultValueFactory = _ => 4 };
        // Hidden: Striate's long-lived side of bench/ort_b1.py --paired (PairedB1Server), not a figure of its own.
        var serveB1 = new Option<string>("--serve-b1") { HelpName = "MODEL", Hidden = true };
        var command = new Command("bench", "Measure kernel and model throughput on this machine.") { json, only, figures, threads, ab, abNull, abSwap, abControl, abWarmUp, rounds, serveB1 };
        command.SetAction(parse =>
        {
            if (parse.GetValue(serveB1) is { } served)
            {
                if (parse.GetValue(threads) is > 0 and var n) Striate.Kernels.KernelThreads.Count = n;
                return PairedB1Server.Serve(served, Console.In, Console.Out, Console.Error);
            }
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
            // Implicit: an option given no value on the command line still has a result when it has a default (--rounds).
            bool isAb = parse.GetResult(ab) is { Implicit: false }, isNull = parse.GetValue(abNull);
            var order = parse.GetValue(abSwap) ? AbOrder.Baab : AbOrder.Abba;
            bool control = parse.GetValue(abControl);
            if (isAb && isNull) { Console.Error.WriteLine("striate bench: --ab-null runs both arms alike; give it instead of --ab (the same --only, --figures and --rounds), not with it."); return 2; }
            if (control && !isAb) { Console.Error.WriteLine("striate bench: --ab-control only applies with --ab (--ab-null is already an A/A run)."); return 2; }
            if (isAb || isNull)
                return RunAb(isNull ? null : parse.GetValue(ab) ?? [], parse.GetValue(only) is { Length: > 0 } ? selected : null, parse.GetValue(rounds), order, asJson,
                    parse.GetValue(abWarmUp), control);
            if (parse.GetResult(rounds) is { Implicit: false }) { Console.Error.WriteLine("striate bench: --rounds only applies with --ab or --ab-null."); return 2; }
            if (parse.GetResult(abWarmUp) is { Implicit: false }) { Console.Error.WriteLine("striate bench: --ab-warm-up only applies with --ab or --ab-null."); return 2; }
            if (order == AbOrder.Baab) { Console.Error.WriteLine("striate bench: --ab-swap only applies with --ab or --ab-null."); return 2; }
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

    /// <summary>
    /// --ab (or --ab-null, <paramref name="words"/> null): both arms of the named suites (and the control arm A' with
    /// <paramref name="control"/>), <paramref name="warmUp"/> untimed passes each, then <paramref name="rounds"/> rounds in
    /// <paramref name="order"/>, then the table (or JSON) on stdout; progress on stderr.
    /// </summary>
    private static int RunAb(string[]? words, string[]? suites, int rounds, AbOrder order, bool asJson, int warmUp, bool control)
    {
        string flag = words == null ? "--ab-null" : "--ab";
        if (suites == null)
        {
            Console.Error.WriteLine($"striate bench: {flag} needs --only SUITE (and usually --figures): every suite twice per round takes hours.");
            return 2;
        }
        foreach (var name in suites)
        {
            if (BenchAb.RefusedSuites.TryGetValue(name, out var why))
            {
                Console.Error.WriteLine($"striate bench: {flag} cannot run the {name} suite: {why}.");
                return 2;
            }
        }
        if (rounds < 1) { Console.Error.WriteLine($"striate bench: --rounds must be at least 1, got {rounds}."); return 2; }
        if (warmUp < 0) { Console.Error.WriteLine($"striate bench: --ab-warm-up must be 0 or more, got {warmUp}."); return 2; }
        try
        {
            IEnumerable<BenchFigure> Measure() => suites.SelectMany(n => BenchSuite.Suites[n]());
            var result = words == null
                ? BenchAb.RunNull(rounds, Measure, Console.Error, order, warmUp)
                : BenchAb.Run(BenchAb.Parse(words), rounds, Measure, Console.Error, order, warmUp, control);
            Console.Write(asJson ? BenchAb.Json(result) + Environment.NewLine : BenchAb.Text(result));
            return 0;
        }
        catch (BenchAbException e)
        {
            Console.Error.WriteLine($"striate bench: {e.Message}");
            return 2;
        }
    }
}
