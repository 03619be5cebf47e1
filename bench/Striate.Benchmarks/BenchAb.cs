using System.Globalization;
using System.Text;
using System.Text.Json;
using Striate.Kernels;

namespace Striate.Benchmarks;

/// <summary>A request <c>striate bench --ab</c> cannot carry out (bad switch, arms that would not differ, nothing measured); the message says why.</summary>
public sealed class BenchAbException(string message) : Exception(message);

/// <summary>One figure of an A/B run: its value in each arm, round by round (index i of A and of B is pair i).</summary>
public sealed record AbFigure(string Name, string Unit, IReadOnlyList<double> A, IReadOnlyList<double> B)
{
    /// <summary>Whether a smaller value is better (times, allocations): "B faster" then means B ÷ A &lt; 1.</summary>
    public bool LowerIsBetter => BenchAb.LowerIsBetter(Unit);

    /// <summary>Each pair's B ÷ A.</summary>
    public IReadOnlyList<double> PairRatios => A.Zip(B, (a, b) => b / a).ToArray();

    /// <summary>B's median over A's.</summary>
    public double Ratio => BenchAb.Quantile(B, 0.5, LowerIsBetter) / BenchAb.Quantile(A, 0.5, LowerIsBetter);

    /// <summary>Pairs in which B was faster than A.</summary>
    public int PairsBFaster => PairRatios.Count(r => LowerIsBetter ? r < 1 : r > 1);

    /// <summary>Pairs in which A was faster than B (ties, B ÷ A = 1 exactly, count for neither).</summary>
    public int PairsAFaster => PairRatios.Count(r => LowerIsBetter ? r > 1 : r < 1);

    /// <summary>How far the per-pair ratios spread and how sure "B faster" is (<see cref="AbStatistics"/>).</summary>
    public AbStatistics Statistics => AbStatistics.Of(PairRatios, PairsBFaster, PairsAFaster);
}

/// <summary>
/// What the per-pair ratios B ÷ A of one figure say beyond their median: their p10–p90 (the middle 80 % of pairs), a 90 %
/// bootstrap interval of their median (pairs drawn with replacement, <see cref="BootstrapResamples"/> times, from a
/// fixed seed so a result prints the same twice), and the two-sided sign test of "B faster in k of n pairs" against a
/// coin (the chance of a split at least that uneven when neither arm is faster; ties dropped). A difference is shown only
/// when the interval leaves out 1: an A/A run (<c>--ab-null</c>) shows how wide both are when nothing changed.
/// </summary>
public sealed record AbStatistics(double P10, double Median, double P90, double MedianLow, double MedianHigh, double SignTestP)
{
    /// <summary>Resamples of the bootstrap interval.</summary>
    public const int BootstrapResamples = 4000;

    /// <summary>Whether the 90 % interval of the median pair ratio leaves out 1 (a difference, in either direction).</summary>
    public bool Shown => MedianLow > 1 || MedianHigh < 1;

    /// <summary>The statistics of <paramref name="ratios"/> (each pair's B ÷ A), with B faster in <paramref name="bFaster"/> pairs and A in <paramref name="aFaster"/>.</summary>
    public static AbStatistics Of(IReadOnlyList<double> ratios, int bFaster, int aFaster)
    {
        if (ratios.Count == 0) return new AbStatistics(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, 1);
        var (low, high) = BootstrapMedian(ratios, 0.90);
        return new AbStatistics(BenchAb.Quantile(ratios, 0.10, true), BenchAb.Quantile(ratios, 0.5, true), BenchAb.Quantile(ratios, 0.90, true),
            low, high, SignTest(bFaster, aFaster));
    }

    /// <summary>
    /// Two-sided exact sign test: the probability that a fair coin tossed <paramref name="a"/> + <paramref name="b"/> times
    /// splits at least as unevenly as <paramref name="a"/> : <paramref name="b"/> (1 when there are no tosses).
    /// </summary>
    public static double SignTest(int a, int b)
    {
        int n = a + b, k = Math.Min(a, b);
        if (n == 0) return 1;
        // P(X ≤ k) for X ~ Binomial(n, ½), summed in logs so n in the thousands does not overflow.
        double tail = 0, logHalfN = -n * Math.Log(2), logChoose = 0;
        for (int i = 0; i <= k; i++)
        {
            if (i > 0) logChoose += Math.Log(n - i + 1) - Math.Log(i);
            tail += Math.Exp(logChoose + logHalfN);
        }
        return Math.Min(1, 2 * tail);
    }

    /// <summary>The central <paramref name="level"/> interval of the median of <paramref name="values"/> over bootstrap resamples (percentile method, fixed seed).</summary>
    public static (double Low, double High) BootstrapMedian(IReadOnlyList<double> values, double level)
    {
        var random = new Random(20261206);
        var medians = new double[BootstrapResamples];
        var sample = new double[values.Count];
        for (int r = 0; r < medians.Length; r++)
        {
            for (int i = 0; i < sample.Length; i++) sample[i] = values[random.Next(values.Count)];
            medians[r] = BenchAb.Quantile(sample, 0.5, true);
        }
        double tail = (1 - level) / 2;
        return (BenchAb.Quantile(medians, tail, true), BenchAb.Quantile(medians, 1 - tail, true));
    }
}

/// <summary>A profiled step (STRIATE_BENCH_PROFILE) in both arms: the median over rounds of its per-round median ms (NaN where an arm has no such step).</summary>
public sealed record AbStep(string Node, double AMilliseconds, double BMilliseconds);

/// <summary>The side-by-side profile of one figure: steps that moved most first, and the sums and whole runs of each arm (medians over rounds).</summary>
public sealed record AbProfile(string Figure, IReadOnlyList<AbStep> Steps, double ATotal, double BTotal, double AWholeRun, double BWholeRun);

/// <summary>
/// What <see cref="BenchAb.Run"/> measured: the switches of arm B (and their values in arm A; none in a null run), the
/// figures, the profiles, and the order the arms ran in (<see cref="AbOrder"/>).
/// </summary>
public sealed record AbResult(int Rounds, IReadOnlyList<(string Name, string? A, string? B)> Switches, IReadOnlyList<AbFigure> Figures,
    IReadOnlyList<AbProfile> Profiles, IReadOnlyList<string> OneArmOnly, AbOrder Order = AbOrder.Abba)
{
    /// <summary>An A/A run (<c>--ab-null</c>): both arms ran the same switches, so every difference is noise.</summary>
    public bool Null => Switches.Count == 0;

    /// <summary>
    /// With <c>--ab-control</c>: per figure, arm A against the control arm A' (A's switches again, run in the same
    /// rounds), as figures whose <see cref="AbFigure.B"/> is A': their A'÷A and interval are the noise floor of this very
    /// window. Empty otherwise.
    /// </summary>
    public IReadOnlyList<AbFigure> Control { get; init; } = [];

    /// <summary>Untimed passes of each arm before round 1 (<c>--ab-warm-up</c>).</summary>
    public int WarmUp { get; init; }
}

/// <summary>
/// The order of the arms: ABBA (A B, B A, A B, ...: A opens the process) or, with <c>--ab-swap</c>, BAAB (B A, A B, ...: B
/// opens it). Both alternate which arm goes first in each round, so a drift within a pair falls on each arm alike; what
/// they change is only the arm that runs first in the process, on a cold JIT, heap and cache. With a control arm A'
/// (<c>--ab-control</c>) the three arms rotate instead: A B A', B A' A, A' A B, ... (from B with --ab-swap), so each arm
/// runs first, second and third equally often over three rounds.
/// </summary>
public enum AbOrder { Abba, Baab }

/// <summary>
/// <c>striate bench --ab NAME=VALUE ... --rounds N</c>: arm A (the STRIATE_BENCH_* switches as the environment gives them)
/// and arm B (those variables set) measured alternately in one process, ABBA (A B, B A, A B, ...; BAAB with --ab-swap),
/// so a slow spell of a shared host hits both arms alike; <c>--ab-null</c> runs both arms with the environment's
/// switches (an A/A run: the noise floor of the figure). Before each arm the variables are set or restored, every switched field goes back
/// to its default and the environment is applied again (<see cref="BenchSwitches.Apply"/>), the transformed-weight cache
/// is emptied and the suite runs from scratch: models are built and prepared again, so switches a session bakes in
/// when it is prepared (its fusions, its GEMM blocking) are those of the arm.
/// </summary>
public static class BenchAb
{
    /// <summary>Suites an A/B cannot run, and why.</summary>
    public static IReadOnlyDictionary<string, string> RefusedSuites { get; } = new Dictionary<string, string>
    {
        ["allreduce"] = "it measures in mpirun processes of its own, which the switches of this process do not reach",
        ["loader"] = "it measures image decoding, which no STRIATE_BENCH_* switch changes",
    };

    /// <summary>The arm-B settings from "NAME=VALUE" words (an empty VALUE unsets NAME in arm B); throws <see cref="BenchAbException"/> naming the first bad one.</summary>
    public static IReadOnlyList<(string Name, string Value)> Parse(IEnumerable<string> words)
    {
        var settings = new List<(string Name, string Value)>();
        foreach (var word in words)
        {
            int eq = word.IndexOf('=');
            if (eq <= 0) throw new BenchAbException($"--ab takes NAME=VALUE (e.g. STRIATE_BENCH_AVX2_NC=512; NAME= unsets it in arm B), got '{word}'.");
            var (name, value) = (word[..eq], word[(eq + 1)..]);
            if (BenchSwitches.Refusal(name) is { } why) throw new BenchAbException($"--ab {word}: {why}.");
            if (settings.Any(s => s.Name == name)) throw new BenchAbException($"--ab sets {name} twice.");
            settings.Add((name, value));
        }
        if (settings.Count == 0) throw new BenchAbException("--ab needs at least one NAME=VALUE.");
        return settings;
    }

    /// <summary>
    /// Measures <paramref name="measure"/> (one pass over the wanted figures) <paramref name="rounds"/> times in each arm,
    /// in <paramref name="order"/> (<see cref="ArmOrder"/>), after <paramref name="warmUp"/> passes of each arm whose
    /// figures are dropped; with <paramref name="control"/> a third arm A' runs arm A's switches again in every round
    /// (<see cref="AbResult.Control"/>: this window's A/A floor). <paramref name="progress"/> gets a line per arm. With no settings for arm B
    /// (<see cref="RunNull"/>) both arms run the environment's switches. Throws <see cref="BenchAbException"/> when arm B
    /// would run what arm A runs (a value the environment already has, or one its switch ignores) or when nothing is
    /// measured. The environment and the switched fields are as before when it returns.
    /// </summary>
    public static AbResult Run(IReadOnlyList<(string Name, string Value)> armB, int rounds, Func<IEnumerable<BenchFigure>> measure, TextWriter? progress = null,
        AbOrder order = AbOrder.Abba, int warmUp = 0, bool control = false)
    {
        if (rounds < 1) throw new BenchAbException($"--rounds must be at least 1, got {rounds}.");
        if (warmUp < 0) throw new BenchAbException($"--ab-warm-up must be 0 or more, got {warmUp}.");
        var original = armB.Select(s => Environment.GetEnvironmentVariable(s.Name)).ToArray();
        for (int i = 0; i < armB.Count; i++)
            if ((original[i] ?? "") == armB[i].Value)
                throw new BenchAbException($"--ab {armB[i].Name}={armB[i].Value}: the environment already gives it that value, so both arms would be the same.");
        var a = new Dictionary<string, List<double>>();
        var b = new Dictionary<string, List<double>>();
        var a2 = new Dictionary<string, List<double>>(); // the control arm A' (--ab-control)
        var units = new Dictionary<string, string>();
        var profilesA = new List<ModelBenchmarks.ProfileRecord>();
        var profilesB = new List<ModelBenchmarks.ProfileRecord>();
        var previousLog = ModelBenchmarks.ProfileLog;
        try
        {
            SetArm(armB, original, isB: false);
            var stateA = BenchSwitches.State();
            SetArm(armB, original, isB: true);
            var stateB = BenchSwitches.State();
            if (armB.Count > 0 && stateA.SequenceEqual(stateB) && armB.All(s => !BenchSwitches.ReadAtUse.Contains(s.Name)))
                throw new BenchAbException($"--ab {string.Join(' ', armB.Select(s => $"{s.Name}={s.Value}"))}: arm B sets no field differently from arm A (that value may be the default already, or one the switch ignores).");
            // Warm-up passes (round < 0) run every arm in round 1's order and keep nothing.
            for (int round = -warmUp; round < rounds; round++)
            {
                foreach (char arm in ArmOrder(Math.Max(round, 0), order, control))
                {
                    bool isB = arm == 'B';
                    SetArm(armB, original, isB);
                    TransformedWeights.Clear();
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                    var log = new List<ModelBenchmarks.ProfileRecord>();
                    ModelBenchmarks.ProfileLog = round < 0 ? null : log;
                    var into = round < 0 ? null : arm switch { 'A' => a, 'B' => b, _ => a2 };
                    string armName = arm == 'C' ? "A'" : arm.ToString();
                    var line = new StringBuilder(round < 0
                        ? $"[ab] warm-up {round + warmUp + 1}/{warmUp} {armName} (untimed):"
                        : $"[ab] round {round + 1}/{rounds} {armName}:");
                    foreach (var f in measure())
                    {
                        line.Append(CultureInfo.InvariantCulture, $" {f.Name} {Format(f.Value)} {f.Unit};");
                        if (into == null) continue;
                        if (!into.TryGetValue(f.Name, out var values)) into[f.Name] = values = [];
                        values.Add(f.Value);
                        units[f.Name] = f.Unit;
                    }
                    if (arm == 'A') profilesA.AddRange(log);
                    else if (arm == 'B') profilesB.AddRange(log);
                    progress?.WriteLine(line.ToString().TrimEnd(';'));
                }
            }
        }
        finally
        {
            ModelBenchmarks.ProfileLog = previousLog;
            for (int i = 0; i < armB.Count; i++) Environment.SetEnvironmentVariable(armB[i].Name, original[i]);
            BenchSwitches.Apply();
        }
        if (a.Count == 0 && b.Count == 0) throw new BenchAbException("--ab: no figure was measured (does --figures match a figure of the suites named by --only?).");
        var figures = a.Keys.Where(n => b.ContainsKey(n) && a[n].Count == rounds && b[n].Count == rounds)
            .Select(n => new AbFigure(n, units[n], a[n], b[n])).ToList();
        var oneArm = a.Keys.Union(b.Keys).Where(n => !figures.Any(f => f.Name == n)).ToList();
        var controlFigures = figures.Where(f => a2.TryGetValue(f.Name, out var c) && c.Count == rounds)
            .Select(f => new AbFigure(f.Name, f.Unit, f.A, a2[f.Name])).ToList();
        var profiles = profilesA.Select(p => p.Figure).Distinct().Where(n => profilesB.Any(p => p.Figure == n))
            .Select(n => SideBySide(n, profilesA.Where(p => p.Figure == n).ToList(), profilesB.Where(p => p.Figure == n).ToList())).ToList();
        return new AbResult(rounds, armB.Select((s, i) => (s.Name, original[i], (string?)(s.Value.Length == 0 ? null : s.Value))).ToList(), figures, profiles, oneArm, order)
        {
            Control = controlFigures,
            WarmUp = warmUp,
        };
    }

    /// <summary>
    /// The arms of round <paramref name="round"/> (0-based) in the order they run: 'A', 'B' and, with a control arm, 'C'
    /// for A'. Two arms: ABBA (A B, B A, ...) or BAAB; three: rotated, A B A', B A' A, A' A B, ... (from B A' A with BAAB).
    /// </summary>
    public static string ArmOrder(int round, AbOrder order, bool control)
    {
        if (!control) return (round % 2 == 0) == (order == AbOrder.Abba) ? "AB" : "BA";
        const string cycle = "ABCABC";
        int start = (round + (order == AbOrder.Abba ? 0 : 1)) % 3;
        return cycle.Substring(start, 3);
    }

    /// <summary>
    /// The A/A run of <c>--ab-null</c>: <see cref="Run"/> with both arms on the environment's switches, everything else
    /// (alternation, resets, rebuilt models, statistics) as in an A/B, so its B ÷ A and intervals are the noise floor an
    /// A/B of the same figures, rounds and window has to clear.
    /// </summary>
    public static AbResult RunNull(int rounds, Func<IEnumerable<BenchFigure>> measure, TextWriter? progress = null, AbOrder order = AbOrder.Abba, int warmUp = 0) =>
        Run([], rounds, measure, progress, order, warmUp);

    private static void SetArm(IReadOnlyList<(string Name, string Value)> armB, string?[] original, bool isB)
    {
        for (int i = 0; i < armB.Count; i++)
            Environment.SetEnvironmentVariable(armB[i].Name, isB ? (armB[i].Value.Length == 0 ? null : armB[i].Value) : original[i]);
        BenchSwitches.Apply();
    }

    /// <summary>Steps keyed by their module path and kind (the k-th repeat of one as "... #k"), medians over rounds, largest |B − A| first.</summary>
    private static AbProfile SideBySide(string figure, List<ModelBenchmarks.ProfileRecord> a, List<ModelBenchmarks.ProfileRecord> b)
    {
        static Dictionary<string, List<double>> ByStep(List<ModelBenchmarks.ProfileRecord> records, List<string> order)
        {
            var steps = new Dictionary<string, List<double>>();
            foreach (var r in records)
            {
                var seen = new Dictionary<string, int>();
                foreach (var (text, ms) in r.Steps)
                {
                    // "%212 = FusedConv2d(...)  # layer1.0.conv2 (Direct 64→64 3×3 s1 @56×56)": the part after "# ", since a
                    // switch that changes the graph renumbers its values.
                    int hash = text.LastIndexOf("  # ", StringComparison.Ordinal);
                    var node = hash < 0 ? text : text[(hash + 4)..];
                    int k = seen[node] = seen.GetValueOrDefault(node) + 1;
                    var key = k == 1 ? node : $"{node} #{k}";
                    if (!steps.TryGetValue(key, out var list)) { steps[key] = list = []; if (!order.Contains(key)) order.Add(key); }
                    list.Add(ms);
                }
            }
            return steps;
        }
        var order = new List<string>();
        var sa = ByStep(a, order);
        var sb = ByStep(b, order);
        var steps = order.Select(n => new AbStep(n, sa.TryGetValue(n, out var x) ? Quantile(x, 0.5, true) : double.NaN, sb.TryGetValue(n, out var y) ? Quantile(y, 0.5, true) : double.NaN))
            .OrderByDescending(s => Math.Abs((double.IsNaN(s.BMilliseconds) ? 0 : s.BMilliseconds) - (double.IsNaN(s.AMilliseconds) ? 0 : s.AMilliseconds))).ToList();
        return new AbProfile(figure, steps,
            Quantile(a.Select(r => r.Steps.Sum(s => s.Milliseconds)).ToList(), 0.5, true), Quantile(b.Select(r => r.Steps.Sum(s => s.Milliseconds)).ToList(), 0.5, true),
            Quantile(a.Select(r => Quantile(r.WholeRunsMs, 0.5, true)).ToList(), 0.5, true), Quantile(b.Select(r => Quantile(r.WholeRunsMs, 0.5, true)).ToList(), 0.5, true));
    }

    /// <summary>Units where smaller is better: times and allocations; the rest (GFLOPS, img/s, GB/s) are rates.</summary>
    public static bool LowerIsBetter(string unit) => unit is "ms" or "us" or "µs" or "s" or "MB" or "MiB";

    /// <summary>The q-quantile, interpolated, with the values sorted fast first (ascending when lower is better): q = 0.25 is the fast quartile.</summary>
    public static double Quantile(IReadOnlyList<double> values, double q, bool lowerIsBetter)
    {
        var sorted = lowerIsBetter ? values.Order().ToArray() : values.OrderDescending().ToArray();
        if (sorted.Length == 0) return double.NaN;
        double at = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(at), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
    }

    private static string Format(double v) => v.ToString(Math.Abs(v) < 10 ? "F3" : "F1", CultureInfo.InvariantCulture);

    private static string Arm(IEnumerable<(string Name, string? Value)> settings) =>
        string.Join(", ", settings.Select(s => s.Value == null ? $"{s.Name} unset" : $"{s.Name}={s.Value}"));

    /// <summary>The result as a table: a row per figure, then each profile's steps side by side (at most <paramref name="maxSteps"/> of them).</summary>
    public static string Text(AbResult r, int maxSteps = 30)
    {
        var inv = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        bool control = r.Control.Count > 0;
        string order = control
            ? (r.Order == AbOrder.Abba ? "rotated order (A B A', B A' A, A' A B, ...)" : "rotated order from B (B A' A, A' A B, A B A', ...; --ab-swap)")
            : r.Order == AbOrder.Abba ? "ABBA order (A B, B A, ...)" : "BAAB order (B A, A B, ...; --ab-swap)";
        string plural = r.Rounds == 1 ? "" : "s";
        string warm = r.WarmUp == 0 ? "no untimed warm-up" : $"after {r.WarmUp} untimed warm-up pass{(r.WarmUp == 1 ? "" : "es")} of each arm";
        if (r.Null)
            s.AppendLine(inv, $"A/A (--ab-null) in one process, {r.Rounds} round{plural} in {order}, {warm}; both arms run the STRIATE_BENCH_* switches as the environment gives them: every difference below is noise, the floor an A/B of these figures has to clear");
        else
        {
            string third = control ? "; control arm A': arm A's switches again, so each figure's A'÷A row below it is this window's A/A floor" : "";
            s.AppendLine(inv, $"A/B in one process, {r.Rounds} round{plural} in {order}, {warm}; arm A: {Arm(r.Switches.Select(w => (w.Name, w.A)))} (as the environment gives); arm B: {Arm(r.Switches.Select(w => (w.Name, w.B)))}{third}");
        }
        s.AppendLine("p25: the fast quartile (25th percentile of times, 75th of rates); B÷A: B's median over A's; pairs: each round's B ÷ A, min–max (median)");
        s.AppendLine(inv, $"p10–p90: the middle 80 % of the pair ratios; 90 % CI: bootstrap interval of their median ({AbStatistics.BootstrapResamples} resamples); sign p: two-sided sign test of the split");
        s.AppendLine(inv, $"{"figure",-40} {"unit",-6} {"A median",10} {"A p25",10} {"B median",10} {"B p25",10} {"B÷A",7}  {"pairs B÷A",-24} {"p10–p90",-13} {"90% CI",-13} {"sign p",6}  verdict");
        foreach (var f in r.Figures)
        {
            Row(f.Name, f, "B");
            if (r.Control.FirstOrDefault(c => c.Name == f.Name) is { } c) Row("  A'÷A (control, A/A)", c, "A'");
        }
        foreach (var n in r.OneArmOnly) s.AppendLine(inv, $"{n}: not measured in every round of both arms (the switch changes which figures exist?), left out");
        foreach (var p in r.Profiles)
        {
            s.AppendLine();
            s.AppendLine(inv, $"profile of {p.Figure} (STRIATE_BENCH_PROFILE; each step's median over rounds of its per-round median), steps that moved most first:");
            s.AppendLine(inv, $"{"A ms",9} {"B ms",9} {"B−A ms",9}  step");
            foreach (var st in p.Steps.Take(maxSteps))
                s.AppendLine(inv, $"{Ms(st.AMilliseconds)} {Ms(st.BMilliseconds)} {Ms(st.BMilliseconds - st.AMilliseconds)}  {st.Node}");
            if (p.Steps.Count > maxSteps) s.AppendLine(inv, $"    ... {p.Steps.Count - maxSteps} more steps, each moved less (--json lists all)");
            s.AppendLine(inv, $"{Ms(p.ATotal)} {Ms(p.BTotal)} {Ms(p.BTotal - p.ATotal)}  total of the steps");
            s.AppendLine(inv, $"{Ms(p.AWholeRun)} {Ms(p.BWholeRun)} {Ms(p.BWholeRun - p.AWholeRun)}  whole runs (median)");
        }
        return s.ToString();

        // One figure's row; for the control row "B" is A' (named by `b`).
        void Row(string name, AbFigure f, string b)
        {
            var pairs = f.PairRatios;
            bool low = f.LowerIsBetter;
            var st = f.Statistics;
            string split = f.PairsBFaster == pairs.Count ? $"{b} faster in every pair" : f.PairsBFaster == 0 && f.PairsAFaster == pairs.Count ? "A faster in every pair" : $"{b} faster in {f.PairsBFaster} of {pairs.Count} pairs";
            string verdict = split + (st.Shown ? ((st.MedianHigh < 1) == low ? $"; {b} faster" : "; A faster") : "; no difference shown (CI holds 1)");
            string range = $"{pairs.Min():F3}–{pairs.Max():F3} ({st.Median:F3})";
            string middle = $"{st.P10:F3}–{st.P90:F3}", ci = $"{st.MedianLow:F3}–{st.MedianHigh:F3}";
            s.AppendLine(inv, $"{name,-40} {f.Unit,-6} {Format(Quantile(f.A, 0.5, low)),10} {Format(Quantile(f.A, 0.25, low)),10} {Format(Quantile(f.B, 0.5, low)),10} {Format(Quantile(f.B, 0.25, low)),10} {f.Ratio,7:F3}  {range,-24} {middle,-13} {ci,-13} {PValue(st.SignTestP),6}  {verdict}");
        }

        static string Ms(double v) => double.IsNaN(v) ? $"{"—",9}" : v.ToString("F3", CultureInfo.InvariantCulture).PadLeft(9);
        static string PValue(double p) => p < 0.001 ? "<0.001" : p.ToString("F3", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The result as JSON: {rounds, order, null, switches [{name, a, b}], figures [{name, unit, a {median, p25, values}, b {...},
    /// b_over_a, pair_ratios, pair_ratio_p10/median/p90, pair_ratio_median_ci90, sign_test_p, difference_shown, ...}], profiles, one_arm_only}.
    /// </summary>
    public static string Json(AbResult r)
    {
        static object Arm(IReadOnlyList<double> v, bool low) => new Dictionary<string, object>
        {
            ["median"] = Math.Round(Quantile(v, 0.5, low), 4), ["p25"] = Math.Round(Quantile(v, 0.25, low), 4), ["values"] = v.Select(x => Math.Round(x, 4)).ToArray(),
        };
        static object? Num(double v) => double.IsNaN(v) ? null : Math.Round(v, 4);
        static Dictionary<string, object> Figure(AbFigure f)
        {
            var st = f.Statistics; // read once: each read bootstraps the median's interval
            return new Dictionary<string, object>
            {
                ["name"] = f.Name, ["unit"] = f.Unit, ["lower_is_better"] = f.LowerIsBetter,
                ["a"] = Arm(f.A, f.LowerIsBetter), ["b"] = Arm(f.B, f.LowerIsBetter),
                ["b_over_a"] = Math.Round(f.Ratio, 4),
                ["pair_ratios"] = f.PairRatios.Select(x => Math.Round(x, 4)).ToArray(),
                ["pair_ratio_min"] = Math.Round(f.PairRatios.Min(), 4), ["pair_ratio_max"] = Math.Round(f.PairRatios.Max(), 4),
                ["pairs_b_faster"] = f.PairsBFaster,
                ["pairs_a_faster"] = f.PairsAFaster,
                ["pair_ratio_p10"] = Math.Round(st.P10, 4), ["pair_ratio_median"] = Math.Round(st.Median, 4),
                ["pair_ratio_p90"] = Math.Round(st.P90, 4),
                ["pair_ratio_median_ci90"] = new[] { Math.Round(st.MedianLow, 4), Math.Round(st.MedianHigh, 4) },
                ["sign_test_p"] = Math.Round(st.SignTestP, 4),
                ["difference_shown"] = st.Shown,
            };
        }
        var root = new Dictionary<string, object>
        {
            ["rounds"] = r.Rounds,
            ["order"] = r.Order == AbOrder.Abba ? "ABBA" : "BAAB",
            ["null"] = r.Null,
            ["switches"] = r.Switches.Select(w => new Dictionary<string, object?> { ["name"] = w.Name, ["a"] = w.A, ["b"] = w.B }).ToArray(),
            ["warm_up"] = r.WarmUp,
            ["figures"] = r.Figures.Select(f =>
            {
                var figure = Figure(f);
                if (r.Control.FirstOrDefault(c => c.Name == f.Name) is { } c) figure["control"] = Figure(c); // its "b" is arm A'
                return figure;
            }).ToArray(),
            ["profiles"] = r.Profiles.Select(p => new Dictionary<string, object?>
            {
                ["figure"] = p.Figure,
                ["steps"] = p.Steps.Select(st => new Dictionary<string, object?> { ["node"] = st.Node, ["a_ms"] = Num(st.AMilliseconds), ["b_ms"] = Num(st.BMilliseconds) }).ToArray(),
                ["a_total_ms"] = Num(p.ATotal), ["b_total_ms"] = Num(p.BTotal), ["a_whole_run_ms"] = Num(p.AWholeRun), ["b_whole_run_ms"] = Num(p.BWholeRun),
            }).ToArray(),
            ["one_arm_only"] = r.OneArmOnly.ToArray(),
        };
        return JsonSerializer.Serialize(root, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
