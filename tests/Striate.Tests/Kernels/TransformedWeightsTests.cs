using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// The shared cache of transformed weights: filled once per (weight, transform, version), refilled in place when the
/// version changes, bounded by its budget, and used by the direct convolution when the caller passes a key.
/// Runs alone: the keyed-convolution test needs the shared cache to admit its entries, which it refuses while other
/// tests' prepared models fill the budget with entries in use (CI run of 01:14, 2026-12-05: three cases at once).
/// </summary>
[Collection(nameof(Striate.Tests.Graph.SharedWeightCacheCollection))]
public class TransformedWeightsTests
{
    private unsafe struct CountingFill(int[] calls, float value) : IWeightFill
    {
        public readonly void Fill(float* destination)
        {
            calls[0]++;
            destination[0] = value;
        }
    }

    private static readonly WeightTransform Forward16 = new(WeightTransformKind.DirectForward, 16, 2);
    private static readonly WeightTransform Backward16 = new(WeightTransformKind.DirectBackwardData, 16, 2);

    [Fact]
    public void SameVersionIsFilledOnceAndNewVersionRefillsInPlace()
    {
        var owner = new object();
        var calls = new int[1];
        var fill = new CountingFill(calls, 1f);
        var first = TransformedWeights.Get(new WeightKey(owner, 1), Forward16, 64, ref fill);
        var again = TransformedWeights.Get(new WeightKey(owner, 1), Forward16, 64, ref fill);
        Assert.Same(first, again);
        Assert.Equal(1, calls[0]);

        var refill = new CountingFill(calls, 2f);
        var next = TransformedWeights.Get(new WeightKey(owner, 2), Forward16, 64, ref refill);
        Assert.Same(first, next);
        Assert.NotNull(next);
        Assert.Equal(2, calls[0]);
        unsafe { Assert.Equal(2f, TransformedWeights.Start(next)[0]); }
        unsafe { Assert.Equal(0, (nint)TransformedWeights.Start(next) % 64); }
    }

    [Fact]
    public void TransformsOfOneWeightAreKeptApart()
    {
        var owner = new object();
        var calls = new int[1];
        var a = new CountingFill(calls, 1f);
        var b = new CountingFill(calls, 2f);
        var forward = TransformedWeights.Get(new WeightKey(owner, 5), Forward16, 32, ref a);
        var backward = TransformedWeights.Get(new WeightKey(owner, 5), Backward16, 32, ref b);
        Assert.NotSame(forward, backward);
        Assert.NotNull(forward);
        Assert.NotNull(backward);
        unsafe
        {
            Assert.Equal(1f, TransformedWeights.Start(forward)[0]);
            Assert.Equal(2f, TransformedWeights.Start(backward)[0]);
        }
        Assert.Same(forward, TransformedWeights.Get(new WeightKey(owner, 5), Forward16, 32, ref a));
        Assert.Equal(2, calls[0]);
    }

    [Fact]
    public void PastTheBudgetEntriesInUseStayAndTheNewcomerIsRefused()
    {
        var cache = new TransformedWeights.Store();
        const int length = 1 << 16; // 256 KiB each
        cache.BudgetBytes = 3L * length * sizeof(float) / 2;
        object older = new(), newer = new();
        var calls = new int[1];
        var fill = new CountingFill(calls, 1f);
        Assert.NotNull(cache.Get(new WeightKey(older, 1), Forward16, length, ref fill));
        // Two entries do not fit and the first was just used: the second is not kept (nor filled; the caller uses scratch).
        Assert.Null(cache.Get(new WeightKey(newer, 1), Forward16, length, ref fill));
        Assert.Equal(1, calls[0]);
        // The first stays: asking for it again does not fill it again.
        Assert.NotNull(cache.Get(new WeightKey(older, 1), Forward16, length, ref fill));
        Assert.Equal(1, calls[0]);
    }

    [Fact]
    public void EntriesUnusedForAWhileMakeRoomForNewOnes()
    {
        var cache = new TransformedWeights.Store();
        const int length = 1 << 16;
        cache.BudgetBytes = 3L * length * sizeof(float) / 2;
        cache.StaleAfterTicks = -1; // every entry counts as unused
        object older = new(), newer = new();
        var calls = new int[1];
        var fill = new CountingFill(calls, 1f);
        cache.Get(new WeightKey(older, 1), Forward16, length, ref fill);
        Assert.NotNull(cache.Get(new WeightKey(newer, 1), Forward16, length, ref fill));
        Assert.Equal(2, calls[0]);
        Assert.False(cache.Holds(older, WeightTransformKind.DirectForward));
        Assert.True(cache.Holds(newer, WeightTransformKind.DirectForward));
    }

    [Fact]
    public void NegativeBudgetIsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => TransformedWeights.BudgetBytes = -1);

    /// <summary>
    /// A keyed convolution reuses its transformed weights (blocked for the direct kernel, packed for GEMM) while the
    /// version stays (so a weight changed without a new version still gives the old result: the proof that the cache
    /// was used) and transforms them again when it changes; forward and input gradient alike.
    /// </summary>
    [Theory]
    [InlineData(Conv2dAlgorithm.Direct, (int)GemmPath.Vector512)]
    [InlineData(Conv2dAlgorithm.Direct, (int)GemmPath.Vector256)]
    [InlineData(Conv2dAlgorithm.Im2ColGemm, 0)]
    [InlineData(Conv2dAlgorithm.Pointwise, 0)]
    public void KeyedConvolutionReusesWeightsUntilTheVersionChanges(Conv2dAlgorithm algorithm, int widthIndex)
    {
        var width = (GemmPath)widthIndex;
        if (algorithm == Conv2dAlgorithm.Direct) Assert.SkipUnless(Conv2dDirect.IsSupported(width), $"the direct kernel at {width} is not hardware-accelerated here.");
        var g = algorithm == Conv2dAlgorithm.Pointwise ? new Conv2dGeometry(2, 20, 9, 11, 24, 1, 1) : new Conv2dGeometry(2, 20, 9, 11, 24, 3, 3, 1, 1, 1, 1);
        var r = new Generator(11);
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var dy = Close.RandomArray((int)g.OutputLength, r);
        var original = (float[])w.Clone();
        var owner = new object();

        Guarded<float> Forward(long version)
        {
            var y = Guarded.Nan(g.OutputLength);
            Conv2dKernels.Forward(g, algorithm, width, x, w, default, y, default, new WeightKey(owner, version));
            return y;
        }
        Guarded<float> BackwardData(long version)
        {
            var dx = Guarded.Nan(g.InputLength);
            Conv2dKernels.BackwardData(g, algorithm, width, dy, w, dx, new WeightKey(owner, version));
            return dx;
        }
        float[] Reference(float[] weights)
        {
            var y = new float[g.OutputLength];
            Conv2dReference.Forward(g, x, weights, default, y);
            return y;
        }
        float[] ReferenceBackward(float[] weights)
        {
            var dx = new float[g.InputLength];
            Conv2dReference.BackwardData(g, dy, weights, dx);
            return dx;
        }

        Close.Assert(Reference(original), Forward(1), 1e-4, 1e-4, "first keyed forward");
        Close.Assert(ReferenceBackward(original), BackwardData(1), 1e-4, 1e-4, "first keyed input gradient");
        for (int i = 0; i < w.Length; i++) w[i] = -w[i];
        Close.Assert(Reference(original), Forward(1), 1e-4, 1e-4, "same version: the cached weights");
        Close.Assert(ReferenceBackward(original), BackwardData(1), 1e-4, 1e-4, "same version: the cached input-gradient weights");
        Close.Assert(Reference(w), Forward(2), 1e-4, 1e-4, "new version: reordered again");
        Close.Assert(ReferenceBackward(w), BackwardData(2), 1e-4, 1e-4, "new version: input-gradient weights reordered again");
    }
}
