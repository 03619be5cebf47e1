using Striate.Functional;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Core;

/// <summary>
/// Pooled storage has generations: a tensor used after the scope that allocated it ended (without Keep) throws instead
/// of reading or writing the values of whichever tensor got its array next.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class TensorLifetimeTests
{
    // The bug the check exists for: a tensor escapes its scope, the pool hands its array to the next step's tensor, and
    // the escaped tensor silently reads (or overwrites) the new tensor's values.
    [Fact]
    public void ATensorThatOutlivedItsScopeThrowsInsteadOfReadingRecycledMemory()
    {
        Tensor escaped;
        using (TensorScope.Begin()) escaped = Tensor.Full(1f, 3, 7, 11);
        using (TensorScope.Begin())
        {
            var next = Tensor.Full(2f, 3, 7, 11); // the same length: the pool hands out the escaped tensor's array
            var e = Assert.Throws<InvalidOperationException>(() => escaped.ToArray());
            Assert.Contains("Tensor [3, 7, 11] was used after the TensorScope that allocated it ended", e.Message);
            Assert.Contains("TensorScope.Keep", e.Message);
            Assert.Throws<InvalidOperationException>(() => escaped.Span[0] = 5f);
            Assert.Throws<InvalidOperationException>(() => escaped[0, 0, 0]);
            Assert.Throws<InvalidOperationException>(() => escaped.Reshape(-1));
            Assert.Throws<InvalidOperationException>(() => F.Relu(escaped));
            Assert.All(next.ToArray(), v => Assert.Equal(2f, v));
        }
    }

    [Fact]
    public void ViewsOfAReleasedTensorAreReleasedTooAndKeptTensorsSurvive()
    {
        Tensor view, kept, outside = Tensor.Ones(4);
        using (TensorScope.Begin())
        {
            view = Tensor.Zeros(2, 6).Reshape(3, 4);
            kept = TensorScope.Keep(Tensor.Full(3f, 2, 2).Reshape(4));
            Assert.Equal(0f, view[1, 1]);
        }
        Assert.Throws<InvalidOperationException>(() => view.ReadOnlySpan[0]);
        Assert.All(kept.ToArray(), v => Assert.Equal(3f, v));
        Assert.All(outside.ToArray(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void TheDebugSwitchNamesWhereTheTensorWasAllocated()
    {
        using (Switches.Set(() => TensorPool.DebugAllocations, true))
        {
            Tensor escaped;
            using (TensorScope.Begin()) escaped = AllocateHere();
            var e = Assert.Throws<InvalidOperationException>(() => escaped.Item());
            Assert.Contains("It was allocated at:", e.Message);
            Assert.Contains(nameof(AllocateHere), e.Message);
        }

        Tensor plain;
        using (TensorScope.Begin()) plain = Tensor.Zeros(1);
        Assert.Contains("STRIATE_DEBUG_TENSORS=1", Assert.Throws<InvalidOperationException>(() => plain.Item()).Message);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static Tensor AllocateHere() => Tensor.Zeros(1);

    // Each thread has its own buckets: threads stepping at once never hand each other an array still in use.
    [Fact]
    public void ThreadsRecyclingTheSameLengthsNeverShareLiveStorage()
    {
        const int threads = 4, steps = 200;
        var failures = new int[threads];
        var workers = Enumerable.Range(0, threads).Select(id => new Thread(() =>
        {
            for (int step = 0; step < steps; step++)
            {
                using var scope = TensorScope.Begin();
                var a = Tensor.Full(id * 1000 + step, 257);
                var b = Tensor.Full(-(id * 1000 + step), 257);
                Thread.Yield();
                if (a.ReadOnlySpan.ToArray().Any(v => v != id * 1000 + step) || b.ReadOnlySpan.ToArray().Any(v => v != -(id * 1000 + step)))
                    failures[id]++;
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.All(failures, f => Assert.Equal(0, f));
    }

    [Fact]
    public void ClearDropsThePooledArraysOfThisThread()
    {
        float[] first;
        using (TensorScope.Begin()) first = Tensor.Zeros(43210).Storage;
        TensorPool.Clear();
        using (TensorScope.Begin()) Assert.NotSame(first, Tensor.Zeros(43210).Storage);
    }
}
