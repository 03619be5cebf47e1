using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// Conv2d → ReLU → 2×2/2 max pooling on the flat path (<see cref="Conv2dFlat.ForwardReluPool"/>,
/// <see cref="Conv2dFlat.BackwardReluPool"/>), on every vector width of the path, for LeNet's shapes and random ones
/// (odd output sizes leave a row and a column outside every window): against the unfused kernels (convolution with
/// ReLU, then the pooling kernel; their backward passes) bit for bit, and against the reference twins
/// (<see cref="Conv2dReference"/>, <see cref="PoolingReference"/>) within rounding.
/// </summary>
public class Conv2dFlatPoolKernelTests
{
    private static readonly Conv2dGeometry[] Named =
    [
        new(37, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2),   // LeNet conv1 → 14×14
        new(29, 6, 14, 14, 16, 5, 5),              // LeNet conv2 → 5×5
        new(5, 2, 9, 8, 7, 3, 2, 1, 1, 1, 0),      // 9×7 output: odd height and width
    ];

    public static TheoryData<int, int> NamedCases() => FlatConvCases.ByWidth(Named.Length);

    public static TheoryData<int, int> RandomCases() => FlatConvCases.ByWidth(10);

    [Theory, MemberData(nameof(NamedCases))]
    public void FusedPoolMatchesUnfusedAndReferenceOnNamedGeometry(int width, int index) => Check(Named[index], (GemmPath)width, 500 + (ulong)index);

    [Theory, MemberData(nameof(RandomCases))]
    public void FusedPoolMatchesUnfusedAndReferenceOnRandomGeometry(int width, int seed)
    {
        var r = new Generator(7700 + (ulong)seed);
        var g = FlatConvCases.RandomStride1(r, 1, 20, c => Conv2dFlat.SupportsPool(c));
        Check(g, (GemmPath)width, 800 + (ulong)seed);
    }

    private static void Check(Conv2dGeometry g, GemmPath width, ulong seed)
    {
        Assert.SkipUnless(Conv2dFlat.IsSupported(width), $"the flat path at {width} is not hardware-accelerated here (or is disabled by DOTNET_Enable* settings).");
        var r = new Generator(seed);
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var b = Close.RandomArray(g.OutChannels, r);
        var pg = Conv2dFlat.PoolOf(g);
        var all = pg with { Planes = g.Batch * g.OutChannels }; // the pooling of the whole batch, as F.MaxPool2d runs it
        int pooledLength = all.Planes * all.OutPlane;
        var dp = Close.RandomArray(pooledLength, r);
        string what = $"{g} ({width})";

        // Unfused fast path: convolution with ReLU in its store, then the pooling kernel with indices.
        var y = new float[g.OutputLength];
        Conv2dFlat.Forward(width, g, x, w, b, y, relu: true);
        var pooledApart = new float[pooledLength];
        var indicesApart = new int[pooledLength];
        Pooling.MaxPool2dForward(all, y, pooledApart, indicesApart);

        var pooled = Guarded.Nan(pooledLength);
        var indices = new int[pooledLength];
        indices.AsSpan().Fill(-1);
        Conv2dFlat.ForwardReluPool(width, g, x, w, b, pooled, indices);
        Assert.Equal(pooledApart, pooled.ToArray());
        Assert.Equal(indicesApart, indices);

        // The reference twins: values within rounding (argmaxes of near-ties may differ, so values only).
        var yRef = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b, yRef);
        for (int i = 0; i < yRef.Length; i++) yRef[i] = MathF.Max(yRef[i], 0f);
        var pooledRef = new float[pooledLength];
        PoolingReference.MaxPool2dForward(all, yRef, pooledRef, new int[pooledLength]);
        Close.Assert(pooledRef, pooled, 1e-4, 1e-4, $"pooled values {what}");

        // Backward, unfused: pooling's backward into the full-size gradient, then the masked convolution gradients.
        var dy = new float[g.OutputLength];
        Pooling.MaxPool2dBackward(all, dp, indicesApart, dy);
        var (dxApart, dwApart, dbApart) = (new float[g.InputLength], new float[g.WeightLength], new float[g.OutChannels]);
        Conv2dFlat.BackwardData(width, g, dy, y, w, dxApart);
        Conv2dFlat.BackwardWeight(width, g, x, dy, y, dwApart, dbApart);

        var (dx, dw, db) = (Guarded.Nan(g.InputLength), Guarded.Nan(g.WeightLength), Guarded.Nan(g.OutChannels));
        Conv2dFlat.BackwardReluPool(width, g, x, w, pooled, indices, dp, dx, dw, db);
        Assert.Equal(dxApart, dx.ToArray());
        Assert.Equal(dwApart, dw.ToArray());
        Assert.Equal(dbApart, db.ToArray());

        // Against the reference: the pooled gradient routed by the same argmaxes, masked by the same output.
        var dyRef = new float[g.OutputLength];
        PoolingReference.MaxPool2dBackward(all.Planes, all.InPlane, all.OutPlane, dp, indices, dyRef);
        var (dxRef, dwRef, dbRef) = (new float[g.InputLength], new float[g.WeightLength], new float[g.OutChannels]);
        Conv2dReference.BackwardRelu(g, x, w, y, dyRef, dxRef, dwRef, dbRef);
        double sumAtol = Math.Max(1e-4, 1e-5 * Math.Sqrt(g.Batch * g.OutHeight * g.OutWidth) * 4);
        Close.Assert(dxRef, dx, 1e-4, 1e-4, $"gradInput {what}");
        Close.Assert(dwRef, dw, 1e-4, sumAtol, $"gradWeight {what}");
        Close.Assert(dbRef, db, 1e-4, sumAtol, $"gradBias {what}");

        // Each gradient alone gives the same.
        var onlyX = Guarded.Nan(g.InputLength);
        Conv2dFlat.BackwardReluPool(width, g, x, w, pooled, indices, dp, onlyX, default, default);
        onlyX.Check($"gradInput alone {what}");
        Assert.Equal(dx.ToArray(), onlyX.ToArray());
        var onlyB = Guarded.Nan(g.OutChannels);
        Conv2dFlat.BackwardReluPool(width, g, x, w, pooled, indices, dp, default, default, onlyB);
        onlyB.Check($"gradBias alone {what}");
        Assert.Equal(db.ToArray(), onlyB.ToArray());
    }
}
