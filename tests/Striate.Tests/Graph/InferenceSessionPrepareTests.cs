using Striate.Graph;
using Striate.Kernels;
using Striate.Nn;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>Tests that change the shared weight cache's budget run alone.</summary>
[CollectionDefinition(nameof(SharedWeightCacheCollection), DisableParallelization = true)]
public sealed class SharedWeightCacheCollection;

/// <summary>What preparing an inference session does ahead of the first run.</summary>
[Collection(nameof(SharedWeightCacheCollection))]
public sealed class InferenceSessionPrepareTests
{
    /// <summary>
    /// Preparing puts every convolution's weight into the layout its kernel reads (blocked for the direct kernel, packed
    /// as GEMM's A for 1×1 and im2col), so the first run does not reorder weights: a fresh process's first MobileNet-V2
    /// run spent most of its extra time packing 1×1 weights before this.
    /// </summary>
    [Fact]
    public void PreparingKeepsEveryConvolutionsWeightInItsKernelsLayout()
    {
        // The shared cache refuses newcomers when it is full of entries in use (other tests' models): room for this one.
        using (Switches.Set(() => TransformedWeights.BudgetBytes, TransformedWeights.Bytes + (64L << 20)))
            AssertPreparedWeightsAreKept();
    }

    private static void AssertPreparedWeightsAreKept()
    {
        var g = new Generator(5);
        var model = new Sequential(
            new Conv2d(64, 96, 1, generator: g),                       // 1×1: the pointwise GEMM
            new ReLU(),
            new Conv2d(96, 128, 1, stride: 2, generator: g),           // strided 1×1: im2col + GEMM, or subsampled and transposed
            new Conv2d(128, 128, 3, padding: 1, generator: g));        // 3×3: direct where the machine has SIMD
        var session = model.Eval().PrepareForInference(1, 64, 14, 14);

        int gemmChecked = 0;
        foreach (var n in session.Graph.Nodes)
        {
            if (n.Op is not FusedConv2dOp op) continue;
            var x = n.Inputs[0]!.Shape;
            var w = n.Inputs[1]!.Data!;
            var geometry = new Conv2dGeometry(x[0], x[1], x[2], x[3], w.Size(0), w.Size(2), w.Size(3), op.Stride.H, op.Stride.W,
                op.Padding.H, op.Padding.W, op.Dilation.H, op.Dilation.W, op.Groups);
            switch (Conv2dKernels.Choose(geometry))
            {
                case Conv2dAlgorithm.Pointwise or Conv2dAlgorithm.Im2ColGemm when Gemm.UsesPackedA(Gemm.BestPath, geometry.OutChannelsPerGroup):
                    // 1×1s on small maps (strided ones subsampled first) run as pixels × channels, whose weights are packed as its B̃.
                    var kind = Conv2dKernels.TakesPointwiseTransposed(geometry) || Conv2dKernels.TakesSubsampledPointwise(geometry)
                        ? WeightTransformKind.PointwiseTransposed : WeightTransformKind.GemmWeights;
                    Assert.True(TransformedWeights.Holds(w, kind), $"{n.Describe()}: GEMM weights packed ({kind}) when prepared");
                    gemmChecked++;
                    break;
                case Conv2dAlgorithm.Direct:
                    Assert.True(TransformedWeights.Holds(w, WeightTransformKind.DirectForward), $"{n.Describe()}: direct weights blocked when prepared");
                    break;
            }
        }
        Assert.True(gemmChecked >= 1, "the 1×1 takes a GEMM path that reads packed weights");
    }
}
