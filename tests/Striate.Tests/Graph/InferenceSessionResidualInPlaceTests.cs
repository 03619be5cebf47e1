using Striate.Graph;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// A 1×1 convolution that adds a residual (ResNet's conv3) writes its output over that residual when nothing reads it
/// later (<see cref="InferenceSession.ResidualInPlace"/>): the kernel's store reads each residual element just before it
/// writes the output element in its place (<see cref="Conv2dKernels.ResidualMayShareOutput"/>). The session computes
/// exactly the output of the session with the switch off (the registry's parity tests hold it to the eager model).
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class InferenceSessionResidualInPlaceTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ResNet50MatchesTheSessionWithOwnBuffers(int batch)
    {
        var (inPlace, apart, actual, expected) = BothWays("resnet50", batch, 64);
        Close.Assert(expected, actual, 0, 0, $"resnet50 b{batch}: conv3 over its residual against its own buffer");
        if (Conv2dKernels.ResidualMayShareOutput(new Conv2dGeometry(batch, 64, 16, 16, 256, 1, 1, 1, 1, 0, 0, 1, 1, 1)))
            Assert.True(inPlace.BufferFloats < apart.BufferFloats, $"{inPlace.BufferFloats} floats in place, {apart.BufferFloats} apart");
    }

    /// <summary>
    /// The models whose residual adds (or concatenations) sit beside fused steps: outputs bit-identical with the switch on
    /// and off. MobileNet-V2's blocks run in bands at every map size here (<see cref="InferenceSession.BandedBlockMinPixels"/>
    /// 0): a projection writing a band over the block's input would destroy rows the next band's expansion reads, so
    /// the plan must keep fused steps' residuals apart (it once did not: 1.7e-12 off).
    /// </summary>
    [Theory]
    [InlineData("mobilenet_v2", 64)]
    [InlineData("resnet18", 64)]
    [InlineData("googlenet", 64)]
    [InlineData("densenet121", 64)]
    public void ModelOutputsDoNotMove(string name, int size)
    {
        using (Switches.Set(() => InferenceSession.BandedBlockMinPixels, 0))
        {
            var (_, _, actual, expected) = BothWays(name, 1, size);
            Close.Assert(expected, actual, 0, 0, $"{name} b1 @{size}: residual in place on against off");
        }
    }

    /// <summary>The model prepared with residuals in place (as the switch is) and without; both run on one random input.</summary>
    private static (InferenceSession InPlace, InferenceSession Apart, Tensor Actual, Tensor Expected) BothWays(string name, int batch, int size)
    {
        var (model, _) = RegistryModels.Build(name);
        var input = Tensor.Rand([batch, 3, size, size], new Generator(51), -1f, 1f);
        InferenceSession inPlace, apart;
        using (Switches.Set(() => InferenceSession.ResidualInPlace, true))
            inPlace = model.PrepareForInference(batch, 3, size, size);
        using (Switches.Set(() => InferenceSession.ResidualInPlace, false))
            apart = model.PrepareForInference(batch, 3, size, size);
        var actual = inPlace.Run(input).Clone();
        return (inPlace, apart, actual, apart.Run(input));
    }

    /// <summary>The kernel with residual and output as the same floats, on random 1×1 shapes the predicate accepts.</summary>
    [Fact]
    public void PointwiseForwardWithItsResidualAsOutput()
    {
        var r = new Random(52);
        int checkedShapes = 0;
        for (int t = 0; t < 40; t++)
        {
            int n = 1 + r.Next(2), cin = 1 + r.Next(256), cout = 5 + r.Next(300), size = 1 + r.Next(40);
            var g = new Conv2dGeometry(n, cin, size, size, cout, 1, 1, 1, 1, 0, 0, 1, 1, 1);
            if (!Conv2dKernels.ResidualMayShareOutput(g)) continue;
            checkedShapes++;
            var x = RandomArray((int)g.InputLength, r);
            var w = RandomArray(cout * cin, r);
            var b = RandomArray(cout, r);
            var residual = RandomArray((int)g.OutputLength, r);
            var expected = new float[g.OutputLength];
            Conv2dReference.Forward(g, x, w, b, expected);
            for (int i = 0; i < expected.Length; i++) expected[i] = Math.Max(0f, expected[i] + residual[i]);
            var shared = (float[])residual.Clone();
            Conv2dKernels.Forward(g, Conv2dAlgorithm.Pointwise, Conv2dDirect.BestWidth, x, w, b, shared, new Conv2dEpilogue { Residual = shared, Relu = true });
            Close.Assert(expected, shared, 1e-4, 1e-4, $"{cin}→{cout} @{size}×{size} b{n}: residual as output");
        }
        if (checkedShapes == 0) Assert.Skip("No SIMD GEMM path here: the output never shares its residual's floats.");
    }

    private static float[] RandomArray(int length, Random r)
    {
        var a = new float[length];
        for (int i = 0; i < length; i++) a[i] = (float)(r.NextDouble() * 2 - 1);
        return a;
    }
}
