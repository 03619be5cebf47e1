using System.Globalization;
using System.Text.Json;
using Striate.Benchmarks;
using Striate.Graph;
using Striate.Kernels;
using Striate.Tests.Cli;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Bench;

/// <summary>
/// <c>striate bench --ab</c> (<see cref="BenchAb"/>): arm B sets the fields its switches name and arm A puts them back,
/// alternating ABBA in one process (BAAB with --ab-swap; both arms alike with --ab-null; rotated with the control arm A'
/// of --ab-control), after untimed warm-up passes (--ab-warm-up); bad switches and arms that would not differ are
/// refused; the table and the JSON carry both arms, the statistics of the pair ratios and the profiles side by side.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class BenchAbTests
{
    private const string Nc = "STRIATE_BENCH_AVX2_NC", PassInput = "STRIATE_BENCH_AVX2_PASS_INPUT", PoolConv = "STRIATE_BENCH_POOL_CONV";
    private const string Schedule = "STRIATE_BENCH_DIRECT_SCHEDULE", FewCalls = "STRIATE_BENCH_FEW_CALLS";
    private static readonly string[] Used = [Nc, PassInput, PoolConv, Schedule, FewCalls];

    /// <summary>Runs <paramref name="body"/> with the switches it uses unset, then restores the environment and every field.</summary>
    private static void WithCleanSwitches(Action body)
    {
        var saved = Used.ToDictionary(n => n, Environment.GetEnvironmentVariable);
        try
        {
            foreach (var n in Used) Environment.SetEnvironmentVariable(n, null);
            BenchSwitches.Apply();
            body();
        }
        finally
        {
            foreach (var (n, v) in saved) Environment.SetEnvironmentVariable(n, v);
            BenchSwitches.RestoreDefaults();
        }
    }

    /// <summary>What a suite's kernels would see of the three switches' fields, as figures.</summary>
    private static List<BenchFigure> Fields() =>
    [
        new("nc", Avx2GemmTunables.ColumnBlock, "cols"),
        new("pass_input", Conv2dDirect.Avx2InputBoundPasses ? 1 : 0, "flag"),
        new("pool_conv", InferenceSession.PoolIntoConvolution ? 1 : 0, "flag"),
    ];

    [Fact]
    public void ArmBSetsItsFieldsAndArmAPutsThemBackInAbbaOrder()
    {
        WithCleanSwitches(() =>
        {
            int nc = Avx2GemmTunables.ColumnBlock, ncB = nc == 128 ? 256 : 128;
            Assert.True(Conv2dDirect.Avx2InputBoundPasses && InferenceSession.PoolIntoConvolution, "defaults: both switches on");
            var order = new List<char>();
            var r = BenchAb.Run([(Nc, ncB.ToString(CultureInfo.InvariantCulture)), (PassInput, "0"), (PoolConv, "0")], 3, () =>
            {
                order.Add(Avx2GemmTunables.ColumnBlock == ncB ? 'B' : 'A');
                return Fields();
            });

            Assert.Equal("ABBAAB", new string(order.ToArray()));
            var f = r.Figures.ToDictionary(x => x.Name);
            Assert.Equal([nc, nc, nc], f["nc"].A);
            Assert.Equal([ncB, ncB, ncB], f["nc"].B);
            Assert.Equal([1.0, 1, 1], f["pass_input"].A);
            Assert.Equal([0.0, 0, 0], f["pass_input"].B);
            Assert.Equal([1.0, 1, 1], f["pool_conv"].A);
            Assert.Equal([0.0, 0, 0], f["pool_conv"].B);
            Assert.Equal((Nc, (string?)null, (string?)ncB.ToString(CultureInfo.InvariantCulture)), r.Switches[0]);
            // Afterwards: the environment and the fields as before.
            Assert.Null(Environment.GetEnvironmentVariable(Nc));
            Assert.Null(Environment.GetEnvironmentVariable(PoolConv));
            Assert.Equal(nc, Avx2GemmTunables.ColumnBlock);
            Assert.True(Conv2dDirect.Avx2InputBoundPasses && InferenceSession.PoolIntoConvolution);
        });
    }

    [Fact]
    public void ArmAClearsFieldsThatAnUnsetSwitchWouldLeaveAlone()
    {
        // STRIATE_BENCH_DIRECT_SCHEDULE and STRIATE_BENCH_FEW_CALLS only write their field when set: without the reset
        // before each arm, arm A would run arm B's schedule from the second round on.
        WithCleanSwitches(() =>
        {
            int fewCalls = Conv2dDirect.FewCalls;
            var r = BenchAb.Run([(Schedule, "perimage"), (FewCalls, "3")], 4, () =>
            [
                new("override", DirectSchedule.Override is null ? 0 : 1, "flag"),
                new("few_calls", Conv2dDirect.FewCalls, "calls"),
            ]);
            var f = r.Figures.ToDictionary(x => x.Name);
            Assert.Equal([0.0, 0, 0, 0], f["override"].A);
            Assert.Equal([1.0, 1, 1, 1], f["override"].B);
            Assert.All(f["few_calls"].A, v => Assert.Equal(fewCalls, v));
            Assert.All(f["few_calls"].B, v => Assert.Equal(3, v));
            Assert.Null(DirectSchedule.Override);
            Assert.Equal(fewCalls, Conv2dDirect.FewCalls);
        });
    }

    [Fact]
    public void ParseTakesBenchSwitchesAndRefusesEverythingElse()
    {
        Assert.Equal([(Nc, "512"), (PoolConv, "")], BenchAb.Parse([$"{Nc}=512", $"{PoolConv}="]));
        Assert.Equal([("STRIATE_BENCH_CONV_ALGORITHM", "Im2ColGemm")], BenchAb.Parse(["STRIATE_BENCH_CONV_ALGORITHM=Im2ColGemm"]));
        Refused(["DOTNET_TieredPGO=1"], "not a STRIATE_BENCH_* switch");
        Refused(["STRIATE_BENCH_PROFILE=20"], "STRIATE_BENCH_PROFILE cannot be an arm's switch");
        Refused(["STRIATE_BENCH_CLOCK=cpu"], "read once when the process starts");
        Refused(["STRIATE_BENCH_PASSES=1"], "different figure sets");
        Refused(["STRIATE_BENCH_AVX2_NCC=512"], "is not a switch striate bench knows");
        Refused([Nc], "NAME=VALUE");
        Refused(["=512"], "NAME=VALUE");
        Refused([$"{Nc}=512", $"{Nc}=256"], "twice");
        Refused([], "at least one");

        static void Refused(string[] words, string expected) => Assert.Contains(expected, Assert.Throws<BenchAbException>(() => BenchAb.Parse(words)).Message);
    }

    [Fact]
    public void RunRefusesArmsThatWouldNotDifferAndEmptyFigureSets()
    {
        WithCleanSwitches(() =>
        {
            int measured = 0;
            IEnumerable<BenchFigure> Count() { measured++; return Fields(); }
            // Not a multiple of 16: the switch ignores it, so arm B would run arm A's code.
            Assert.Contains("sets no field differently", Assert.Throws<BenchAbException>(() => BenchAb.Run([(Nc, "500")], 2, Count)).Message);
            Environment.SetEnvironmentVariable(PassInput, "0");
            Assert.Contains("already gives it that value", Assert.Throws<BenchAbException>(() => BenchAb.Run([(PassInput, "0")], 2, Count)).Message);
            Environment.SetEnvironmentVariable(PassInput, null);
            Assert.Contains("no figure was measured", Assert.Throws<BenchAbException>(() => BenchAb.Run([(PassInput, "0")], 2, () => [])).Message);
            Assert.Equal(0, measured);
            Assert.Throws<BenchAbException>(() => BenchAb.Run([(PassInput, "0")], 0, Count));
            // A refusal after arm B was applied still leaves the fields as they were.
            Assert.True(Conv2dDirect.Avx2InputBoundPasses);
        });
    }

    [Fact]
    public void ProfilesOfBothArmsMatchStepsByModulePathWithTheLargestMoveFirst()
    {
        WithCleanSwitches(() =>
        {
            var r = BenchAb.Run([(PoolConv, "0")], 2, () =>
            {
                bool b = !InferenceSession.PoolIntoConvolution;
                // Arm B renumbers the graph's values and splits conv1's pool into a step of its own.
                (string, double)[] steps = b
                    ? [("%212 = FusedConv2d(relu)  # conv1 (Direct 3→64 7×7 s2 @224×224)", 3.0), ("%9 = MaxPool2d  # maxpool (ActionStep)", 0.5),
                       ("%214 = FusedConv2d(relu)  # layer1.0.conv1 (Direct 64→64 3×3 s1 @56×56)", 2.1), ("%171 = Linear  # fc (LinearStep)", 0.2)]
                    : [("%9 = FusedConv2d → MaxPool2d  # conv1 (ConvPool 3→64 7×7 s2 @224×224)", 3.2),
                       ("%13 = FusedConv2d(relu)  # layer1.0.conv1 (Direct 64→64 3×3 s1 @56×56)", 2.0), ("%171 = Linear  # fc (LinearStep)", 0.2)];
                ModelBenchmarks.ProfileLog!.Add(new ModelBenchmarks.ProfileRecord("tv_x_224_infer_b1_latency", steps, [5.0, 5.5, 6.0]));
                return [new BenchFigure("tv_x_224_infer_b1_latency", b ? 5.9 : 5.4, "ms")];
            });
            var p = Assert.Single(r.Profiles);
            Assert.Equal("tv_x_224_infer_b1_latency", p.Figure);
            Assert.Equal(5, p.Steps.Count);
            var layer = p.Steps.Single(s => s.Node.StartsWith("layer1.0.conv1", StringComparison.Ordinal));
            Assert.Equal((2.0, 2.1), (layer.AMilliseconds, layer.BMilliseconds));
            Assert.StartsWith("conv1 (", p.Steps[0].Node); // 3.2 ms in A only or 3.0 in B only: the largest moves
            Assert.StartsWith("fc ", p.Steps[^1].Node);    // unmoved: last
            Assert.Equal((5.4, 5.8), (Math.Round(p.ATotal, 6), Math.Round(p.BTotal, 6)));
            Assert.Null(ModelBenchmarks.ProfileLog);

            var text = BenchAb.Text(r);
            Assert.Contains("profile of tv_x_224_infer_b1_latency", text);
            Assert.Contains("maxpool (ActionStep)", text);
            using var json = JsonDocument.Parse(BenchAb.Json(r));
            var steps = json.RootElement.GetProperty("profiles")[0].GetProperty("steps");
            Assert.Equal(5, steps.GetArrayLength());
            Assert.Contains(steps.EnumerateArray(), s => s.GetProperty("a_ms").ValueKind == JsonValueKind.Null);
        });
    }

    [Fact]
    public void EverySwitchTheBenchSourcesReadIsKnown()
    {
        // A switch added to a suite but not to BenchSwitches would be refused by --ab, and its field never reset between arms.
        var known = BenchSwitches.Applied.Concat(BenchSwitches.ReadAtUse).Concat(BenchSwitches.NotSwitches.Keys).ToHashSet();
        var folder = Path.Combine(RepoPaths.Root, "bench", "Striate.Benchmarks");
        var named = Directory.GetFiles(folder, "*.cs")
            .SelectMany(f => System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(f), "STRIATE_BENCH_[A-Z0-9_]*[A-Z0-9]").Select(m => (File: Path.GetFileName(f), m.Value)))
            .ToList();
        Assert.Contains(named, n => n.Value == Nc);
        Assert.Empty(named.Where(n => !known.Contains(n.Value)).Select(n => $"{n.File}: {n.Value}").Distinct());
    }

    [Fact]
    public void TextAndJsonCarryBothArmsTheRatioAndThePairRange()
    {
        var r = new AbResult(3, [(Nc, null, "512")], [new AbFigure("tv_resnet50_224_infer_b1_latency", "ms", [50.0, 52.0, 51.0], [48.0, 53.0, 49.0])], [], []);
        var text = BenchAb.Text(r);
        Assert.Contains($"arm A: {Nc} unset", text);
        Assert.Contains($"arm B: {Nc}=512", text);
        var row = text.Split('\n').Single(l => l.StartsWith("tv_resnet50_224_infer_b1_latency", StringComparison.Ordinal));
        Assert.Contains("51.0", row);            // A's median
        Assert.Contains("49.0", row);            // B's median
        Assert.Contains("0.961", row);           // 49 / 51
        Assert.Contains("0.960–1.019", row);     // pairs 48/50, 53/52, 49/51
        Assert.Contains("B faster in 2 of 3 pairs", row);
        Assert.Contains("0.960–1.008", row);     // p10–p90 of 0.960, 0.961, 1.019
        Assert.Contains("0.960–1.019", row[(row.IndexOf("0.960–1.008", StringComparison.Ordinal) + 11)..]); // the 90 % CI: a third of resamples' medians sit at either end
        Assert.Contains(" 1.000 ", row);         // sign test: 2 : 1 is as even as 3 pairs can split
        Assert.Contains("no difference shown", row);
        Assert.Contains("ABBA order", text);
        Assert.DoesNotContain("A/A", text);

        using var json = JsonDocument.Parse(BenchAb.Json(r));
        var root = json.RootElement;
        Assert.Equal(3, root.GetProperty("rounds").GetInt32());
        Assert.Equal("512", root.GetProperty("switches")[0].GetProperty("b").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("switches")[0].GetProperty("a").ValueKind);
        var f = root.GetProperty("figures")[0];
        Assert.Equal(3, f.GetProperty("a").GetProperty("values").GetArrayLength());
        Assert.Equal(3, f.GetProperty("b").GetProperty("values").GetArrayLength());
        Assert.Equal(51.0, f.GetProperty("a").GetProperty("median").GetDouble());
        Assert.Equal(50.5, f.GetProperty("a").GetProperty("p25").GetDouble()); // fast quartile of 50, 51, 52
        Assert.Equal(0.9608, f.GetProperty("b_over_a").GetDouble());
        Assert.Equal(3, f.GetProperty("pair_ratios").GetArrayLength());
        Assert.Equal("ABBA", root.GetProperty("order").GetString());
        Assert.False(root.GetProperty("null").GetBoolean());
        Assert.Equal(1.0, f.GetProperty("sign_test_p").GetDouble());
        Assert.Equal(2, f.GetProperty("pair_ratio_median_ci90").GetArrayLength());
        Assert.False(f.GetProperty("difference_shown").GetBoolean());
    }

    [Fact]
    public void SignTestIsTheExactTwoSidedBinomialTail()
    {
        Assert.Equal(1.0, AbStatistics.SignTest(0, 0));
        Assert.Equal(1.0, AbStatistics.SignTest(5, 5));
        Assert.Equal(2.0 / 1024, AbStatistics.SignTest(10, 0), 12);
        Assert.Equal(2.0 / 1024, AbStatistics.SignTest(0, 10), 12);
        Assert.Equal(2.0 * (1 + 10 + 45) / 1024, AbStatistics.SignTest(8, 2), 12); // P(X ≤ 2) + P(X ≥ 8), n = 10
        Assert.Equal(2.0 * (1 + 20) / (1 << 20), AbStatistics.SignTest(1, 19), 12);
        Assert.InRange(AbStatistics.SignTest(600, 400), 0, 1e-9); // large n in logs: no overflow, tiny p
    }

    [Fact]
    public void BootstrapIntervalOfTheMedianHoldsItAndIsTheSameEveryTime()
    {
        Assert.Equal((1.02, 1.02), AbStatistics.BootstrapMedian([1.02, 1.02, 1.02, 1.02], 0.90));
        var g = new Generator(11);
        var ratios = Enumerable.Range(0, 20).Select(_ => 0.9 + 0.2 * g.NextFloat()).Select(x => (double)x).ToArray();
        var (low, high) = AbStatistics.BootstrapMedian(ratios, 0.90);
        double median = BenchAb.Quantile(ratios, 0.5, true);
        Assert.InRange(median, low, high);
        Assert.True(low > ratios.Min() && high < ratios.Max(), $"20 pairs: the interval {low}–{high} should be inside the range");
        Assert.Equal((low, high), AbStatistics.BootstrapMedian(ratios, 0.90));
        var (low50, high50) = AbStatistics.BootstrapMedian(ratios, 0.50);
        Assert.True(low50 >= low && high50 <= high, "a lower level gives a narrower interval");

        // Twenty pairs all 4–6 % faster in B: shown, and B faster in every pair (sign p = 2 / 2^20).
        var figure = new AbFigure("x", "ms", Enumerable.Repeat(100.0, 20).ToArray(), Enumerable.Range(0, 20).Select(i => 94.0 + i % 3).ToArray());
        var st = figure.Statistics;
        Assert.True(st.Shown && st.MedianHigh < 1);
        Assert.Equal(2.0 / (1 << 20), st.SignTestP, 12);
        Assert.Equal((0.94, 0.96), (Math.Round(st.P10, 6), Math.Round(st.P90, 6)));
    }

    [Fact]
    public void NullRunMeasuresBothArmsOnTheEnvironmentsSwitchesAndSaysSo()
    {
        WithCleanSwitches(() =>
        {
            int nc = Avx2GemmTunables.ColumnBlock, calls = 0;
            var r = BenchAb.RunNull(3, () => { calls++; return Fields(); });
            Assert.Equal(6, calls);
            Assert.True(r.Null);
            Assert.Empty(r.Switches);
            var f = r.Figures.ToDictionary(x => x.Name);
            Assert.Equal([nc, nc, nc], f["nc"].A);
            Assert.Equal([nc, nc, nc], f["nc"].B);
            Assert.Equal([1.0, 1, 1], f["pool_conv"].B);
            var text = BenchAb.Text(r);
            Assert.StartsWith("A/A (--ab-null) in one process, 3 rounds in ABBA order", text);
            using var json = JsonDocument.Parse(BenchAb.Json(r));
            Assert.True(json.RootElement.GetProperty("null").GetBoolean());
            Assert.Equal(0, json.RootElement.GetProperty("switches").GetArrayLength());
        });
    }

    [Fact]
    public void SwappedOrderOpensWithArmB()
    {
        WithCleanSwitches(() =>
        {
            int ncB = Avx2GemmTunables.ColumnBlock == 128 ? 256 : 128;
            var order = new List<char>();
            var r = BenchAb.Run([(Nc, ncB.ToString(CultureInfo.InvariantCulture))], 3, () =>
            {
                order.Add(Avx2GemmTunables.ColumnBlock == ncB ? 'B' : 'A');
                return Fields();
            }, order: AbOrder.Baab);
            Assert.Equal("BAABBA", new string(order.ToArray()));
            Assert.Equal(AbOrder.Baab, r.Order);
            Assert.Contains("BAAB order", BenchAb.Text(r));
            Assert.All(r.Figures.Single(x => x.Name == "nc").B, v => Assert.Equal(ncB, v));
        });
    }

    [Fact]
    public void WarmUpPassesRunEachArmInRoundOnesOrderAndAreDropped()
    {
        WithCleanSwitches(() =>
        {
            int ncB = Avx2GemmTunables.ColumnBlock == 128 ? 256 : 128, call = 0;
            var order = new List<char>();
            var progress = new StringWriter();
            var r = BenchAb.Run([(Nc, ncB.ToString(CultureInfo.InvariantCulture))], 2, () =>
            {
                order.Add(Avx2GemmTunables.ColumnBlock == ncB ? 'B' : 'A');
                return [new BenchFigure("call", call++, "ms")];
            }, progress, warmUp: 1);
            Assert.Equal("ABABBA", new string(order.ToArray()));
            var f = Assert.Single(r.Figures);
            Assert.Equal([2.0, 5], f.A); // calls 0 (A) and 1 (B) were the warm-up
            Assert.Equal([3.0, 4], f.B);
            Assert.Equal(1, r.WarmUp);
            var lines = progress.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("[ab] warm-up 1/1 A (untimed):", lines[0]);
            Assert.StartsWith("[ab] warm-up 1/1 B (untimed):", lines[1]);
            Assert.StartsWith("[ab] round 1/2 A:", lines[2]);
            Assert.Contains("after 1 untimed warm-up pass of each arm", BenchAb.Text(r));
            using var json = JsonDocument.Parse(BenchAb.Json(r));
            Assert.Equal(1, json.RootElement.GetProperty("warm_up").GetInt32());
            Assert.Throws<BenchAbException>(() => BenchAb.Run([(Nc, ncB.ToString(CultureInfo.InvariantCulture))], 2, Fields, warmUp: -1));
        });
    }

    [Fact]
    public void ControlArmRunsArmASwitchesAgainRotatedAndGivesTheWindowsAaFloor()
    {
        Assert.Equal(["ABC", "BCA", "CAB", "ABC"], Enumerable.Range(0, 4).Select(i => BenchAb.ArmOrder(i, AbOrder.Abba, control: true)));
        Assert.Equal(["BCA", "CAB", "ABC"], Enumerable.Range(0, 3).Select(i => BenchAb.ArmOrder(i, AbOrder.Baab, control: true)));
        Assert.Equal(["AB", "BA", "AB"], Enumerable.Range(0, 3).Select(i => BenchAb.ArmOrder(i, AbOrder.Abba, control: false)));
        Assert.Equal(["BA", "AB"], Enumerable.Range(0, 2).Select(i => BenchAb.ArmOrder(i, AbOrder.Baab, control: false)));
        WithCleanSwitches(() =>
        {
            int nc = Avx2GemmTunables.ColumnBlock, ncB = nc == 128 ? 256 : 128, call = 0;
            var order = new List<char>();
            var r = BenchAb.Run([(Nc, ncB.ToString(CultureInfo.InvariantCulture))], 3, () =>
            {
                order.Add(Avx2GemmTunables.ColumnBlock == ncB ? 'B' : 'A');
                return [new BenchFigure("call", ++call, "ms"), new BenchFigure("nc", Avx2GemmTunables.ColumnBlock, "cols")];
            }, control: true);
            // A B A', B A' A, A' A B: the control arm runs arm A's switches.
            Assert.Equal("ABABAAAAB", new string(order.ToArray()));
            var calls = r.Figures.Single(x => x.Name == "call");
            Assert.Equal([1.0, 6, 8], calls.A);
            Assert.Equal([2.0, 4, 9], calls.B);
            var control = r.Control.Single(x => x.Name == "call");
            Assert.Equal(calls.A, control.A);
            Assert.Equal([3.0, 5, 7], control.B); // arm A'
            Assert.All(r.Control.Single(x => x.Name == "nc").B, v => Assert.Equal(nc, v));
            Assert.Equal(2, r.Control.Count);

            var text = BenchAb.Text(r);
            Assert.Contains("rotated order (A B A', B A' A, A' A B, ...)", text);
            Assert.Contains("control arm A'", text);
            var rows = text.Split('\n');
            int at = Array.FindIndex(rows, l => l.StartsWith("call ", StringComparison.Ordinal));
            Assert.StartsWith("  A'÷A (control, A/A)", rows[at + 1]);
            using var json = JsonDocument.Parse(BenchAb.Json(r));
            var f = json.RootElement.GetProperty("figures")[0];
            Assert.Equal(3, f.GetProperty("control").GetProperty("b").GetProperty("values").GetArrayLength());
            Assert.Equal(5.0, f.GetProperty("control").GetProperty("b").GetProperty("median").GetDouble());
        });
    }

    [Fact]
    public void BenchAbNullRunsInOneProcessAndSwapOpensWithB()
    {
        var r = StriateProcess.RunWith(new Dictionary<string, string> { ["STRIATE_BENCH_LAYER_ROUNDS"] = "1" }, null,
            "bench", "--only", "layers", "--figures", "b1_832_32_1x1_s1_7_", "--ab-null", "--ab-swap", "--rounds", "2", "--json");
        StriateProcess.AssertOk(r);
        using var json = JsonDocument.Parse(r.Stdout);
        Assert.True(json.RootElement.GetProperty("null").GetBoolean());
        Assert.Equal("BAAB", json.RootElement.GetProperty("order").GetString());
        Assert.NotEmpty(json.RootElement.GetProperty("figures").EnumerateArray());
        var rounds = r.Stderr.Split('\n').Where(l => l.StartsWith("[ab] round ", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, rounds.Count);
        Assert.StartsWith("[ab] round 1/2 B:", rounds[0]);
        // One untimed warm-up pass of each arm by default, in round 1's order.
        Assert.StartsWith("[ab] warm-up 1/1 B (untimed):", r.Stderr.Split('\n').First(l => l.StartsWith("[ab] ", StringComparison.Ordinal)));
        Assert.Equal(1, json.RootElement.GetProperty("warm_up").GetInt32());
    }

    [Fact]
    public void BenchAbRunsBothArmsOfALayerFigureInOneProcess()
    {
        // Every algorithm the layers suite offers for one small 1×1 shape (which ones depends on the ISA).
        var r = StriateProcess.RunWith(new Dictionary<string, string> { ["STRIATE_BENCH_LAYER_ROUNDS"] = "1" }, null,
            "bench", "--only", "layers", "--figures", "b1_832_32_1x1_s1_7_", "--ab", $"{PassInput}=0", "--rounds", "2", "--json");
        StriateProcess.AssertOk(r);
        using var json = JsonDocument.Parse(r.Stdout);
        var figures = json.RootElement.GetProperty("figures").EnumerateArray().ToList();
        Assert.NotEmpty(figures);
        foreach (var f in figures)
        {
            Assert.StartsWith("b1_832_32_1x1_s1_7_", f.GetProperty("name").GetString());
            Assert.Equal(2, f.GetProperty("a").GetProperty("values").GetArrayLength());
            Assert.Equal(2, f.GetProperty("b").GetProperty("values").GetArrayLength());
            Assert.True(f.GetProperty("b_over_a").GetDouble() > 0);
        }
        Assert.Equal("0", json.RootElement.GetProperty("switches")[0].GetProperty("b").GetString());
        Assert.Equal(4, r.Stderr.Split('\n').Count(l => l.StartsWith("[ab] round ", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("layers", "FOO=1", "not a STRIATE_BENCH_* switch")]
    [InlineData("loader", "STRIATE_BENCH_AVX2_NC=128", "cannot run the loader suite")]
    [InlineData("allreduce", "STRIATE_BENCH_AVX2_NC=128", "cannot run the allreduce suite")]
    [InlineData(null, "STRIATE_BENCH_AVX2_NC=128", "--ab needs --only")]
    public void BenchAbRefusesWithOneLine(string? suite, string word, string expected)
    {
        string[] args = suite == null ? ["bench", "--ab", word] : ["bench", "--only", suite, "--ab", word];
        StriateProcess.AssertOneLineError(StriateProcess.Run(args), expected);
    }

    [Theory]
    [InlineData("give it instead of --ab", "--only", "gemm", "--ab-null", "--ab", "STRIATE_BENCH_AVX2_NC=128")]
    [InlineData("--ab-null needs --only", "--ab-null")]
    [InlineData("--ab-null cannot run the loader suite", "--only", "loader", "--ab-null")]
    [InlineData("--ab-swap only applies with --ab or --ab-null", "--only", "gemm", "--ab-swap")]
    [InlineData("--ab-control only applies with --ab", "--only", "gemm", "--ab-control")]
    [InlineData("--ab-control only applies with --ab", "--only", "gemm", "--ab-null", "--ab-control")]
    [InlineData("--ab-warm-up only applies with --ab or --ab-null", "--only", "gemm", "--ab-warm-up", "2")]
    [InlineData("--ab-warm-up must be 0 or more", "--only", "gemm", "--ab-null", "--ab-warm-up", "-1")]
    public void AbNullAndSwapAreRefusedWithOneLineWhereTheyDoNotApply(string expected, params string[] args) =>
        StriateProcess.AssertOneLineError(StriateProcess.Run(["bench", .. args]), expected);

    [Fact]
    public void BenchWithoutAbRunsAsBefore()
    {
        // --rounds has a default, so its parse result exists even when not given: that must not count as given.
        var r = StriateProcess.Run("bench", "--only", "layers", "--figures", "no_such_figure", "--json");
        StriateProcess.AssertOk(r);
        using var json = JsonDocument.Parse(r.Stdout);
        Assert.Equal(0, json.RootElement.GetArrayLength());
    }

    [Fact]
    public void RoundsWithoutAbIsRefused() =>
        StriateProcess.AssertOneLineError(StriateProcess.Run("bench", "--only", "gemm", "--rounds", "3"), "--rounds only applies with --ab");
}
