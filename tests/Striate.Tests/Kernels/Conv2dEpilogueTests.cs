using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// A convolution's epilogue, y = clamp(relu?(conv + bias + residual)), on each algorithm that can run the shape, against
/// <see cref="Conv2dReference"/> followed by the same arithmetic in a plain loop. The pointwise and im2col paths apply it
/// in the GEMM's store (im2col when one image fills a GEMM), the others in a pass after.
/// </summary>
public class Conv2dEpilogueTests
{
    // (Batch, Cin, H, W, Cout, kH, kW, sH, sW, pH, pW, dH, dW, groups)
    private static readonly Conv2dGeometry[] Shapes =
    [
        new(1, 24, 7, 7, 40, 1, 1),                       // 1×1 at 7×7: 49 columns, an edge tile of C on every path
        new(2, 16, 14, 14, 29, 1, 1),                     // 1×1, batch 2, rows not a multiple of any tile height
        new(1, 8, 9, 10, 12, 1, 1, 1, 1, 0, 0, 1, 1, 2),  // 1×1 with groups
        new(1, 300, 5, 6, 20, 1, 1),                      // 1×1 deeper than one GEMM depth block (256)
        new(1, 3, 40, 40, 19, 3, 3, 2, 2, 1, 1),          // im2col, one image per GEMM: fused into the store
        new(3, 5, 6, 6, 7, 3, 3, 1, 1, 1, 1),             // im2col with images side by side: applied after
        new(1, 16, 9, 9, 16, 3, 3, 1, 1, 1, 1),           // 3×3 the direct kernel takes
        new(2, 6, 9, 11, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6),   // depthwise
    ];

    /// <summary>Each shape with every algorithm that can compute it (the direct kernel's SIMD width is checked at run time).</summary>
    public static TheoryData<int, int> Cases()
    {
        var data = new TheoryData<int, int>();
        for (int s = 0; s < Shapes.Length; s++)
        {
            var g = Shapes[s];
            bool depthwise = g.Groups > 1 && g.Groups == g.InChannels;
            var algorithms = depthwise ? new[] { Conv2dAlgorithm.Depthwise }
                : new[] { Conv2dAlgorithm.Im2ColGemm, Conv2dAlgorithm.BatchedIm2Col }
                    .Concat(g.KernelHeight == 1 && g.KernelWidth == 1 && g.StrideH == 1 && g.PadH == 0 ? [Conv2dAlgorithm.Pointwise] : Array.Empty<Conv2dAlgorithm>())
                    .Concat(Conv2dDirect.Supports(g) ? [Conv2dAlgorithm.Direct] : Array.Empty<Conv2dAlgorithm>());
            foreach (var a in algorithms) data.Add(s, (int)a);
        }
        return data;
    }

    /// <summary>
    /// Random input, weight, bias and residual for <paramref name="g"/> (drawn in that order from <paramref name="r"/>) and
    /// the reference convolution with bias, to which an epilogue's expected values add the residual and clamp.
    /// </summary>
    internal static (float[] X, float[] W, float[] B, float[] Residual, float[] Plain) Operands(in Conv2dGeometry g, Generator r)
    {
        var x = Close.RandomArray((int)g.InputLength, r);
        var w = Close.RandomArray((int)g.WeightLength, r);
        var b = Close.RandomArray(g.OutChannels, r);
        var res = Close.RandomArray((int)g.OutputLength, r);
        var plain = new float[g.OutputLength];
        Conv2dReference.Forward(g, x, w, b, plain);
        return (x, w, b, res, plain);
    }

    [Theory, MemberData(nameof(Cases))]
    public void EpilogueMatchesReferenceOnEveryAlgorithm(int shape, int algorithmIndex)
    {
        var g = Shapes[shape];
        var algorithm = (Conv2dAlgorithm)algorithmIndex;
        var width = Conv2dDirect.BestWidth;
        Assert.SkipWhen(algorithm == Conv2dAlgorithm.Direct && !Conv2dDirect.IsSupported(width),
            "The direct kernel has no SIMD width on this machine (or it is disabled by DOTNET_Enable* settings).");
        var (x, w, b, res, plain) = Operands(g, new Generator(60 + (ulong)shape));
        // (residual, relu, clamp): a bottleneck's end, MobileNet's ReLU6 (a narrow band so both bounds bite), ReLU then a clamp.
        var cases = new (bool Residual, bool Relu, (float, float)? Clamp)[]
        {
            (true, true, null), (false, false, (0f, 0.4f)), (true, true, (-1f, 0.3f)), (true, false, null), (false, false, null),
        };
        foreach (var (withResidual, relu, clamp) in cases)
        {
            var expected = new float[g.OutputLength];
            for (int i = 0; i < expected.Length; i++)
            {
                float v = plain[i] + (withResidual ? res[i] : 0f);
                if (relu) v = MathF.Max(v, 0f);
                if (clamp is var (lo, hi)) v = MathF.Min(MathF.Max(v, lo), hi);
                expected[i] = v;
            }
            var actual = Guarded.Nan(g.OutputLength);
            var epilogue = new Conv2dEpilogue { Residual = withResidual ? res : default, Relu = relu, Clamp = clamp };
            Conv2dKernels.Forward(g, algorithm, width, x, w, b, actual, epilogue);
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(g.InChannelsPerGroup * g.KernelHeight * g.KernelWidth + 1) * 4,
                $"{algorithm} {g} residual={withResidual} relu={relu} clamp={clamp}");
        }
    }
}
