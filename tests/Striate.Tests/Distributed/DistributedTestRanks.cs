using Striate.Distributed;

namespace Striate.Tests.Distributed;

/// <summary>Runs one function per rank of a <see cref="ThreadProcessGroup"/>, each on its own thread, and collects the results.</summary>
internal static class DistributedTestRanks
{
    public static T[] Run<T>(int worldSize, Func<IProcessGroup, T> body, TimeSpan? timeout = null)
    {
        var groups = ThreadProcessGroup.Create(worldSize, timeout ?? TimeSpan.FromSeconds(60));
        var results = new T[worldSize];
        var errors = new Exception?[worldSize];
        var threads = Enumerable.Range(0, worldSize).Select(r => new Thread(() =>
        {
            try { results[r] = body(groups[r]); }
            catch (Exception e) { errors[r] = e; }
        }, maxStackSize: 16 << 20)).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromMinutes(5)), "a rank thread did not finish within 5 minutes");
        var failed = errors.Select((e, r) => (e, r)).Where(x => x.e != null).ToList();
        if (failed.Count > 0)
            throw new AggregateException($"ranks {string.Join(", ", failed.Select(f => f.r))} failed: {failed[0].e!.Message}", failed.Select(f => f.e!));
        return results;
    }

    /// <summary>The largest absolute difference between two state dicts with the same names and shapes.</summary>
    public static double MaxDifference(IReadOnlyList<KeyValuePair<string, Tensor>> a, IReadOnlyList<KeyValuePair<string, Tensor>> b)
    {
        Assert.Equal(a.Select(p => p.Key), b.Select(p => p.Key));
        double max = 0;
        for (int i = 0; i < a.Count; i++)
        {
            var x = a[i].Value.ReadOnlySpan;
            var y = b[i].Value.ReadOnlySpan;
            Assert.Equal(x.Length, y.Length);
            for (int j = 0; j < x.Length; j++) max = Math.Max(max, Math.Abs((double)x[j] - y[j]));
        }
        return max;
    }

    /// <summary>The largest absolute value in a state dict (to put differences in proportion).</summary>
    public static double MaxAbs(IReadOnlyList<KeyValuePair<string, Tensor>> a) =>
        a.Max(p => p.Value.Numel == 0 ? 0 : p.Value.ToArray().Max(v => Math.Abs((double)v)));
}
