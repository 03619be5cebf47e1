using Striate.Graph;
using Striate.Kernels;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// The stamped run (serve-b1's "steps": a timestamp and the pool's wake-up count before every step) computes what a
/// plain run computes, and its stamps and counts describe that run: times never go back, and the per-step wake-ups add
/// up to the pool's count over the run. In the switches' collection: it turns the pool's process-wide Trace on.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class InferenceSessionStampedRunTests
{
    [Fact]
    public void StampedRunMatchesThePlainRunAndCountsEveryWakeUpOnce()
    {
        var g = new Generator(21);
        var model = new Sequential(
            new Conv2d(3, 16, 3, padding: 1, generator: g),
            new ReLU(),
            new Conv2d(16, 32, 3, stride: 2, padding: 1, generator: g),
            new ReLU(),
            new Flatten(),
            new Linear(32 * 8 * 8, 5, generator: g)).Eval();
        var input = Tensor.Rand([1, 3, 16, 16], new Generator(22), -1f, 1f);
        var session = model.PrepareForInference(1, 3, 16, 16);
        var plain = session.Run(input);

        var stamped = new float[5];
        var stamps = new long[session.StepCount + 1];
        var wakeUps = new long[session.StepCount + 1];
        long before, after;
        ParallelFor.Trace = true;
        try
        {
            before = Volatile.Read(ref ParallelFor.TracedWakeUps);
            session.Run(input.ReadOnlySpan, stamped, stamps, wakeUps);
            after = Volatile.Read(ref ParallelFor.TracedWakeUps);
        }
        finally
        {
            ParallelFor.Trace = false;
        }

        Assert.Equal(plain.ReadOnlySpan.ToArray(), stamped);
        for (int i = 0; i < session.StepCount; i++)
        {
            Assert.True(stamps[i + 1] >= stamps[i], $"stamp {i + 1} ({stamps[i + 1]}) before stamp {i} ({stamps[i]})");
            Assert.True(wakeUps[i + 1] >= wakeUps[i], $"wake-up count fell at step {i}");
        }
        // Counted between the first and last reads only: never more than the pool counted over the whole call.
        Assert.InRange(wakeUps[^1] - wakeUps[0], 0, after - before);
    }
}
