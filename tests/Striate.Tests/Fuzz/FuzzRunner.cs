namespace Striate.Tests.Fuzz;

/// <summary>How one input ended.</summary>
/// <summary>How one input ended. Unnamed: the reader's own exception, but its message does not name the file (issue 14,
/// defect 4: every error names the file, the field and what was expected).</summary>
internal enum Outcome { Accepted, Rejected, Generic, Hang, OverBudget, Unnamed }

/// <summary>An input that did not end cleanly, minimized, with how to replay it.</summary>
internal sealed record Finding(Outcome Outcome, int Index, string Detail, byte[] Input, string? SavedAs);

/// <summary>One target's tally: the figures the issue's closing note reports per reader.</summary>
internal sealed record FuzzReport(string Target, int Inputs, int Accepted, int Rejected, int Generic, int Hangs, int OverBudget, int Unnamed,
    long LargestAllocation, long LargestSmallInputAllocation, int LargestSmallInputIndex, TimeSpan Elapsed, IReadOnlyList<Finding> Findings)
{
    public override string ToString() =>
        $"{Target}: {Inputs} inputs, {Accepted} accepted, {Rejected} clean rejections, {Generic} generic exceptions, {Hangs} hangs, " +
        $"{OverBudget} over the allocation budget, {Unnamed} errors not naming the file; largest allocation {LargestAllocation / 1024.0:F0} KiB, by an input under 1 KiB " +
        $"{LargestSmallInputAllocation / 1024.0:F0} KiB (input #{LargestSmallInputIndex}); {Elapsed.TotalSeconds:F1} s";
}

/// <summary>
/// Runs a <see cref="FuzzTarget"/> on seeded mutations of its seed files. Each input runs on its own thread under a
/// time limit (a reader still running after it is a hang) and has its managed allocations measured against a budget;
/// an exception that is not one of the reader's documented ones is a generic exception. Failing inputs are minimized
/// (chunks removed while the outcome stays the same) and saved, so they can become regression files.
/// </summary>
internal static class FuzzRunner
{
    /// <summary>Inputs per target: STRIATE_FUZZ_INPUTS, else <paramref name="fallback"/>.</summary>
    public static int InputsPerTarget(int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("STRIATE_FUZZ_INPUTS"), out int n) && n > 0 ? n : fallback;

    /// <summary>The base seed: STRIATE_FUZZ_SEED, else 1 (CI runs the same inputs every time).</summary>
    public static int BaseSeed => int.TryParse(Environment.GetEnvironmentVariable("STRIATE_FUZZ_SEED"), out int s) ? s : 1;

    public static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("STRIATE_FUZZ_TIME_LIMIT"), System.Globalization.CultureInfo.InvariantCulture, out double t) && t > 0 ? t : 10);

    /// <summary>Managed bytes one input may make a reader allocate: far above any seed's needs (seeds are kilobytes),
    /// far below what a header-driven allocation asks for.</summary>
    public const long AllocationBudget = 64 * Allocation.MiB;

    /// <summary>Every target names its input fuzz.EXT (a path in the scratch folder or a source name): a clean
    /// rejection's message must contain it.</summary>
    public const string FileNameStem = "fuzz.";

    /// <summary>The input number <paramref name="index"/> of <paramref name="target"/> for base seed <paramref name="baseSeed"/>.</summary>
    public static byte[] Input(FuzzTarget target, int baseSeed, int index)
    {
        var random = new Random(unchecked(baseSeed * 1_000_003 + index * 7919 + target.Name.Length));
        var seed = target.Seeds[index % target.Seeds.Count];
        return target.Mutate(seed, random);
    }

    public static FuzzReport Run(FuzzTarget target, int inputs, int baseSeed, string? findingsFolder)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int accepted = 0, rejected = 0, generic = 0, hangs = 0, overBudget = 0, unnamed = 0, smallIndex = -1;
        long largest = 0, largestSmall = 0;
        var findings = new List<Finding>();
        using var scratch = new Striate.Tests.Data.TempFolder();
        for (int i = 0; i < inputs; i++)
        {
            var input = Input(target, baseSeed, i);
            var (outcome, allocated, detail) = RunOne(target, input, scratch.Path);
            largest = Math.Max(largest, allocated);
            if (input.Length < 1024 && allocated > largestSmall) (largestSmall, smallIndex) = (allocated, i);
            switch (outcome)
            {
                case Outcome.Accepted: accepted++; continue;
                case Outcome.Rejected: rejected++; continue;
                case Outcome.Generic: generic++; break;
                case Outcome.Hang: hangs++; break;
                case Outcome.OverBudget: overBudget++; break;
                case Outcome.Unnamed: unnamed++; break;
            }
            if (findings.Count >= 5) continue; // enough to act on; the counts say how many there were
            var minimized = outcome == Outcome.Hang ? input : Minimize(target, input, outcome, detail, scratch.Path);
            string? saved = null;
            if (findingsFolder != null)
            {
                Directory.CreateDirectory(Path.Combine(findingsFolder, target.Name));
                saved = Path.Combine(findingsFolder, target.Name, $"{outcome.ToString().ToLowerInvariant()}-seed{baseSeed}-input{i}{target.Extension}");
                File.WriteAllBytes(saved, minimized);
            }
            findings.Add(new Finding(outcome, i, detail, minimized, saved));
        }
        return new FuzzReport(target.Name, inputs, accepted, rejected, generic, hangs, overBudget, unnamed, largest, largestSmall, smallIndex, clock.Elapsed, findings);
    }

    /// <summary>Runs one input on a fresh thread (so its allocations are its own) under the time limit.</summary>
    public static (Outcome Outcome, long Allocated, string Detail) RunOne(FuzzTarget target, byte[] input, string scratchFolder)
    {
        Measured measured = default;
        var thread = new Thread(() => measured = Allocation.Measure(() => target.Read(input, scratchFolder)), 16 << 20) { IsBackground = true };
        thread.Start();
        if (!thread.Join(TimeLimit))
            return (Outcome.Hang, 0, $"still running after {TimeLimit.TotalSeconds} s"); // abandoned: a background thread does not keep the process alive
        var e = measured.Thrown;
        if (measured.AllocatedBytes > AllocationBudget)
            return (Outcome.OverBudget, measured.AllocatedBytes, $"allocated {measured.AllocatedBytes / Allocation.MiB} MiB ({(e is null ? "accepted" : e.GetType().Name + ": " + e.Message)})");
        // The heap refused what the input asked for (CI runs these tests under a 512 MiB heap limit, beside other tests
        // holding memory): the refused allocation is not counted above, but it is the same defect as one that succeeded.
        if (e is OutOfMemoryException)
            return (Outcome.OverBudget, measured.AllocatedBytes, $"the heap refused an allocation after {measured.AllocatedBytes / Allocation.MiB} MiB: {e.Message}");
        if (e is null) return (Outcome.Accepted, measured.AllocatedBytes, "");
        if (target.IsClean(e))
            return e.Message.Contains(FileNameStem, StringComparison.Ordinal)
                ? (Outcome.Rejected, measured.AllocatedBytes, e.Message)
                : (Outcome.Unnamed, measured.AllocatedBytes, $"{e.GetType().Name} without the file's name: {e.Message}\n{e.StackTrace}");
        return (Outcome.Generic, measured.AllocatedBytes, $"{e.GetType().FullName}: {e.Message}\n{e.StackTrace}");
    }

    /// <summary>Removes chunks (halves down to single bytes) while the input still ends the same way; at most 400 tries.</summary>
    private static byte[] Minimize(FuzzTarget target, byte[] input, Outcome outcome, string detail, string scratch)
    {
        string signature = Signature(outcome, detail);
        int tries = 0;
        for (int chunk = Math.Max(1, input.Length / 2); chunk >= 1 && tries < 400; chunk /= 2)
        {
            for (int start = 0; start + chunk <= input.Length && tries < 400;)
            {
                var candidate = input[..start].Concat(input[(start + chunk)..]).ToArray();
                tries++;
                var (o, _, d) = RunOne(target, candidate, scratch);
                if (o == outcome && Signature(o, d) == signature) input = candidate;
                else start += chunk;
            }
        }
        return input;
    }

    /// <summary>The same defect: the same outcome and, for exceptions, the same type thrown from the same place.</summary>
    private static string Signature(Outcome outcome, string detail) =>
        outcome == Outcome.Generic ? detail[..detail.IndexOf(':')] + detail[(detail.IndexOf('\n') + 1)..].Split('\n').FirstOrDefault() : outcome.ToString();
}
