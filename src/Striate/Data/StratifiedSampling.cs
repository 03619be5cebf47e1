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

    /// <summary>Per-class counts summing to <paramref name="count"/>, proportional to class sizes (largest remainder).</summary>
    private static int[] Quotas(List<int>[] byClass, int count, bool keepOneEach)
    {
        int total = byClass.Sum(m => m.Count);
        var quotas = new int[byClass.Length];
        var remainders = new double[byClass.Length];
        int assigned = 0;
        for (int c = 0; c < byClass.Length; c++)
        {
            double exact = (double)count * byClass[c].Count / total;
            quotas[c] = (int)Math.Floor(exact);
            remainders[c] = exact - quotas[c];
            assigned += quotas[c];
        }
        // Hand out what flooring left: first to non-empty classes that got nothing (so each is represented), then by remainder.
        var order = Enumerable.Range(0, byClass.Length)
            .Where(c => quotas[c] < byClass[c].Count)
            .OrderByDescending(c => keepOneEach && quotas[c] == 0 && byClass[c].Count > 0 ? 1 : 0)
            .ThenByDescending(c => remainders[c])
            .ThenBy(c => c)
            .ToList();
        for (int k = 0; assigned < count && k < order.Count; k++, assigned++) quotas[order[k]]++;
        return quotas;
    }
}
