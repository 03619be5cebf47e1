using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// Conv2d → ReLU fused on the flat path: the forward with the ReLU in its copy-out, and the gradients of
/// relu(conv(x) + b) from the output's sign (<see cref="Conv2dKernels.BackwardRelu(in Conv2dGeometry, Conv2dAlgorithm?, GemmPath, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float})"/>:
/// dy masked while it is flattened, the bias gradient summed from the flattened rows) against
/// <see cref="Conv2dReference.BackwardRelu"/>, on every vector width of the path, on LeNet's shapes and random ones.
/// The other algorithms' fallback (mask, then the usual gradients) is checked on random geometries too.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class Conv2dFlatReluKernelTests
{
    private static readonly Conv2dGeometry[] Named =
    [
        new(37, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2),   // LeNet conv1, odd batch (3 weight tasks, the last short)
        new(29, 6, 14, 14, 16, 5, 5),              // LeNet conv2
        new(3, 2, 5, 9, 7, 3, 1, 1, 1, 0, 2),      // Cout 7 = 4 + 3; 1-wide kernel with wide padding
    ];

    public static TheoryData<int, int> NamedCases() => FlatConvCases.ByWidth(Named.Length);

    public static TheoryData<int, int> RandomCases() => FlatConvCases.ByWidth(12);

    [Theory, MemberData(nameof(NamedCases))]
    public void FusedReluMatchesReferenceOnNamedGeometry(int width, int index) => Check(Named[index], (GemmPath)width, 300 + (ulong)index);

    [Theory, MemberData(nameof(RandomCases))]
    public void FusedReluMatchesReferenceOnRandomGeometry(int width, int seed)
    {
        var r = new Generator(5500 + (ulong)seed);
        var g = FlatConvCases.RandomStride1(r, 0, 20, c => Conv2dFlat.Supports(c));
        Check(g, (GemmPath)width, 400 + (ulong)seed);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void MaskedGradientsOfOtherAlgorithmsMatchReference(int seed)
    {
        // Strided or grouped shapes: Im2ColGemm, BatchedIm2Col, Depthwise or Direct, each gradient by its own choice.
        var r = new Generator(6600 + (ulong)seed);
        int groups = 1 + r.NextInt(2), k = 1 + r.NextInt(3);
        var g = new Conv2dGeometry(1 + r.NextInt(3), 2 * groups, 6 + r.NextInt(8), 6 + r.NextInt(8), 2 * groups, k, k, 2, 2, r.NextInt(2), r.NextInt(2), 1, 1, groups);
        var (x, w, y, dy) = Inputs(g, 700 + (ulong)seed);
        var (dx, dw, db) = ReferenceGradients(g, x, w, y, dy);
        var (ax, aw, ab) = (Guarded.Nan(g.InputLength), Guarded.Nan(g.WeightLength), Guarded.Nan(g.OutChannels));
        Conv2dKernels.BackwardRelu(g, x, w, y, dy, ax, aw, ab);
        Close.Assert(dx, ax, 1e-4, 1e-5, $"gradInput {g}");
        Close.Assert(dw, aw, 1e-4, 1e-4, $"gradWeight {g}");
        Close.Assert(db, ab, 1e-4, 1e-4, $"gradBias {g}");
    }

    [Fact]
    public void MaskedWeightAndBiasGradientsDoNotDependOnTheThreadCount()
    {
        Assert.SkipUnless(Conv2dFlat.BestWidth != GemmPath.Scalar, "no vector width for the flat path here.");
        var g = new Conv2dGeometry(70, 6, 14, 14, 16, 5, 5);
        var (x, w, y, dy) = Inputs(g, 9);
        float[] dw1 = new float[g.WeightLength], db1 = new float[g.OutChannels], dw2 = new float[g.WeightLength], db2 = new float[g.OutChannels];
        using (Switches.Set(() => KernelThreads.Count, 1))
            Conv2dFlat.BackwardWeight(Conv2dFlat.BestWidth, g, x, dy, y, dw1, db1);
        using (Switches.Set(() => KernelThreads.Count, 2))
            Conv2dFlat.BackwardWeight(Conv2dFlat.BestWidth, g, x, dy, y, dw2, db2);
        Assert.Equal(dw1, dw2);
        Assert.Equal(db1, db2);
    }

    private static void Check(Conv2dGeometry g, GemmPath width, ulong seed)
    {
        Assert.SkipUnless(Conv2dFlat.IsSupported(width), $"the flat path at {width} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        var r = new Generator(seed);
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var b = Close.RandomArray(g.OutChannels, r);
        var dy = Close.RandomArray((int)g.OutputLength, r);
        string what = $"{g} ({width})";

        // Forward: relu(conv + b) in the copy-out against the reference convolution followed by max(·, 0).
        var expected = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b, expected);
        for (int i = 0; i < expected.Length; i++) expected[i] = MathF.Max(expected[i], 0f);
        var yOut = Guarded.Nan(g.OutputLength);
        Conv2dKernels.Forward(g, Conv2dAlgorithm.SmallDirect, width, x, w, b, yOut, new Conv2dEpilogue { Relu = true });
        Close.Assert(expected, yOut, 1e-4, 1e-4, $"forward with ReLU {what}");
        var y = yOut.ToArray();
        Assert.Contains(y, v => v == 0f); // the mask has both signs to test
        Assert.Contains(y, v => v > 0f);

        // Gradients from the kernel's own output (its zeros are the ReLU's), all three, then each alone.
        double sumAtol = Math.Max(1e-4, 1e-5 * Math.Sqrt(g.Batch * g.OutHeight * g.OutWidth) * 4);
        var (dx, dw, db) = ReferenceGradients(g, x, w, y, dy);
        var (ax, aw, ab) = (Guarded.Nan(g.InputLength), Guarded.Nan(g.WeightLength), Guarded.Nan(g.OutChannels));
        Conv2dKernels.BackwardRelu(g, Conv2dAlgorithm.SmallDirect, width, x, w, y, dy, ax, aw, ab);
        Close.Assert(dx, ax, 1e-4, 1e-4, $"gradInput {what}");
        Close.Assert(dw, aw, 1e-4, sumAtol, $"gradWeight {what}");
        Close.Assert(db, ab, 1e-4, sumAtol, $"gradBias {what}");

        var onlyX = Guarded.Nan(g.InputLength);
        Conv2dKernels.BackwardRelu(g, Conv2dAlgorithm.SmallDirect, width, x, w, y, dy, onlyX, default, default);
        onlyX.Check($"gradInput alone {what}");
        Assert.Equal(ax.ToArray(), onlyX.ToArray());
        var onlyW = Guarded.Nan(g.WeightLength);
        Conv2dKernels.BackwardRelu(g, Conv2dAlgorithm.SmallDirect, width, x, w, y, dy, default, onlyW, default);
        onlyW.Check($"gradWeight alone {what}");
        Assert.Equal(aw.ToArray(), onlyW.ToArray());
        var onlyB = Guarded.Nan(g.OutChannels);
        Conv2dKernels.BackwardRelu(g, Conv2dAlgorithm.SmallDirect, width, x, w, y, dy, default, default, onlyB);
        Close.Assert(db, onlyB, 1e-4, sumAtol, $"gradBias alone {what}");
    }

    private static (float[] X, float[] W, float[] Y, float[] Dy) Inputs(Conv2dGeometry g, ulong seed)
    {
        var r = new Generator(seed);
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var b = Close.RandomArray(g.OutChannels, r);
        var y = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b, y);
        for (int i = 0; i < y.Length; i++) y[i] = MathF.Max(y[i], 0f);
        return (x, w, y, Close.RandomArray((int)g.OutputLength, r));
    }

    private static (float[] Dx, float[] Dw, float[] Db) ReferenceGradients(Conv2dGeometry g, float[] x, float[] w, float[] y, float[] dy)
    {
        var (dx, dw, db) = (new float[g.InputLength], new float[g.WeightLength], new float[g.OutChannels]);
        Conv2dReference.BackwardRelu(g, x, w, y, dy, dx, dw, db);
        return (dx, dw, db);
    }
}
