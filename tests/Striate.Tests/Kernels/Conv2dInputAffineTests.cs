using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// A 1×1 convolution whose input is normalized (eval batch norm, ReLU or not) as the GEMM packs it
/// (<see cref="Conv2dKernels.ForwardWithInputAffine"/>) against its plain twin: <see cref="ChannelAffineReference"/>
/// then <see cref="Conv2dReference"/> and the epilogue in a loop, on random shapes (depths across GEMM depth blocks,
/// planes that are not whole tiles, batches).
/// </summary>
public sealed class Conv2dInputAffineTests
{
    public static TheoryData<int> Seeds() => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    [Theory, MemberData(nameof(Seeds))]
    public void MatchesTheAffineThenTheConvolutionOnRandomShapes(int seed)
    {
        var r = new Random(seed);
        int batch = r.Next(1, 4), cin = r.Next(1, 700), cout = r.Next(GemmSmallM.MaxM + 1, 90);
        int h = r.Next(1, 20), w = r.Next(1, 20);
        var g = new Conv2dGeometry(batch, cin, h, w, cout, 1, 1);
        Assert.True(Conv2dKernels.TakesInputAffine(g), $"{g} should take the input transform");
        var gen = new Generator((ulong)seed);
        var x = Close.RandomArray((int)g.InputLength, gen);
        var scale = Close.RandomArray(cin, gen);
        var shift = Close.RandomArray(cin, gen);
        var weight = Close.RandomArray((int)g.WeightLength, gen);
        var bias = Close.RandomArray(cout, gen);
        var residual = Close.RandomArray((int)g.OutputLength, gen);
        foreach (bool inputRelu in new[] { true, false })
        foreach (bool withResidual in new[] { false, true })
        {
            bool relu = seed % 2 == 0;
            var normalized = new float[x.Length];
            ChannelAffineReference.Forward(batch, cin, h * w, x, scale, shift, inputRelu, normalized);
            var expected = new float[g.OutputLength];
            Conv2dReference.Forward(g, normalized, weight, bias, expected);
            for (int i = 0; i < expected.Length; i++)
            {
                float v = expected[i] + (withResidual ? residual[i] : 0f);
                expected[i] = relu ? MathF.Max(v, 0f) : v;
            }
            var actual = Guarded.Nan(g.OutputLength); // an element the kernel skips cannot pass
            var epilogue = new Conv2dEpilogue { Residual = withResidual ? residual : default, Relu = relu };
            Conv2dKernels.ForwardWithInputAffine(g, x, scale, shift, inputRelu, weight, bias, actual, epilogue);
            Close.Assert(expected, actual, 1e-4, 1e-5 * Math.Sqrt(cin + 1) * 4, $"{g} inputRelu={inputRelu} residual={withResidual} relu={relu}");
        }
    }

    [Fact]
    public void RefusesShapesWhosePaddingOrWindowWouldSeeTheTransform()
    {
        var padded = new Conv2dGeometry(1, 8, 5, 5, 16, 3, 3, 1, 1, 1, 1);
        Assert.False(Conv2dKernels.TakesInputAffine(padded));
        var x = new float[padded.InputLength];
        var ex = Assert.Throws<ArgumentException>(() => Conv2dKernels.ForwardWithInputAffine(padded, x, new float[8], new float[8], true,
            new float[padded.WeightLength], default, new float[padded.OutputLength], default));
        Assert.Contains("1×1", ex.Message);
    }

    [Fact]
    public void NamesTheLengthsWhenScaleDoesNotMatchTheInputChannels()
    {
        var g = new Conv2dGeometry(1, 8, 4, 4, 16, 1, 1);
        var ex = Assert.Throws<ArgumentException>(() => Conv2dKernels.ForwardWithInputAffine(g, new float[g.InputLength], new float[7], new float[8], false,
            new float[g.WeightLength], default, new float[g.OutputLength], default));
        Assert.Contains("scale has 7", ex.Message);
        Assert.Contains("expected 8", ex.Message);
    }
}
