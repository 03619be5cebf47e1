namespace Striate.Data;

/// <summary>
/// Seeded, stratified choices of samples: every class keeps its share. An image folder lists its samples class by
/// class, so "the first N" is one or two classes; these pick across all of them instead (as scikit-learn's
/// <c>train_test_split(stratify=labels)</c>).
/// </summary>
public static class StratifiedSampling
{
    /// <summary>
    /// <paramref name="count"/> sample indices of <paramref name="dataset"/>, each class contributing in proportion to its
    /// size (largest remainders round the quotas; every class with samples gets at least one while count allows), chosen
    /// at random within the class with <paramref name="seed"/>. Returned in ascending index order.
    /// </summary>
    public static int[] Sample(IDataset dataset, int count, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (count <= 0 || count > dataset.Count)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"StratifiedSampling: count must be in [1, {dataset.Count}] for a dataset of {dataset.Count} samples.");
        var byClass = ShuffledByClass(dataset, seed);
        var quotas = Quotas(byClass, count, keepOneEach: true);
        var chosen = new List<int>(count);
        for (int c = 0; c < byClass.Length; c++) chosen.AddRange(byClass[c].Take(quotas[c]));
        chosen.Sort();
        return chosen.ToArray();
    }

    /// <summary>
    /// Splits <paramref name="dataset"/> in two: <paramref name="fraction"/> of every class held out (rounded, at least
    /// one image of each class with two or more, never a class's last image), the rest kept, both in ascending index order.
    /// </summary>
    public static (int[] Kept, int[] HeldOut) Split(IDataset dataset, double fraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, $"StratifiedSampling: the held-out fraction must be in (0, 1), got {fraction}.");
        var byClass = ShuffledByClass(dataset, seed);
        var kept = new List<int>();
        var held = new List<int>();
        foreach (var members in byClass)
        {
            if (members.Count == 0) continue;
            int h = members.Count < 2 ? 0 : Math.Clamp((int)Math.Round(members.Count * fraction, MidpointRounding.AwayFromZero), 1, members.Count - 1);
            held.AddRange(members.Take(h));
            kept.AddRange(members.Skip(h));
        }
        kept.Sort();
        held.Sort();
        return (kept.ToArray(), held.ToArray());
    }

    /// <summary>Each class's sample indices, shuffled with one generator seeded by <paramref name="seed"/> (class by class, in class order).</summary>
    private static List<int>[] ShuffledByClass(IDataset dataset, ulong seed)
    {
        int classes = dataset.ClassNames.Count;
        var byClass = new List<int>[classes];
        for (int c = 0; c < classes; c++) byClass[c] = new List<int>();
        for (int i = 0; i < dataset.Count; i++)
        {
            int label = dataset.Label(i);
            if ((uint)label >= (uint)classes)
                throw new InvalidDataException($"StratifiedSampling: sample {i} has label {label}, outside the {classes} classes.");
            byClass[label].Add(i);
        }
        var generator = new Generator(seed);
        foreach (var members in byClass) generator.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(members));
        return byClass;
    }

    /// <summary>
    /// Per-class counts summing to <paramref name="count"/>: with <paramref name="keepOneEach"/> (and count enough) one
    /// for every non-empty class first, then the rest in proportion to what each class has left, rounded by largest
    /// remainder and capped at the class's size.
    /// </summary>
    private static int[] Quotas(List<int>[] byClass, int count, bool keepOneEach)
    {
        int classes = byClass.Length;
        var quotas = new int[classes];
        int nonEmpty = byClass.Count(m => m.Count > 0);
        if (keepOneEach && count >= nonEmpty)
            for (int c = 0; c < classes; c++) quotas[c] = Math.Min(1, byClass[c].Count);
        int assigned = quotas.Sum();
        int rest = count - assigned;
        long left = byClass.Select((m, c) => (long)(m.Count - quotas[c])).Sum();
        var remainders = new double[classes];
        for (int c = 0; c < classes && left > 0; c++)
        {
            double exact = (double)rest * (byClass[c].Count - quotas[c]) / left;
            int whole = (int)Math.Floor(exact);
            quotas[c] += whole;
            remainders[c] = exact - whole;
            assigned += whole;
        }
        var order = Enumerable.Range(0, classes).Where(c => quotas[c] < byClass[c].Count)
            .OrderByDescending(c => remainders[c]).ThenBy(c => c).ToList();
        for (int k = 0; assigned < count && order.Count > 0; k = (k + 1) % order.Count)
        {
            int c = order[k];
            if (quotas[c] < byClass[c].Count) { quotas[c]++; assigned++; }
        }
        return quotas;
    }
}
