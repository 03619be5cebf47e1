using Striate.Autograd;
using Striate.Graph;
using Striate.Models;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// A channel affine (eval batch norm → ReLU) read only by the 1×1 convolution after it runs inside that convolution's
/// packing (one step instead of two): DenseNet's every dense layer and transition. The prepared model still computes the
/// eager model's output, at batch 1 and 2, and the same output as the session that runs the two steps apart.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class InferenceSessionAffineConvTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void DenseNetNormalizesEach1x1InputInsideTheConvolution(int batch)
    {
        var (model, _) = RegistryModels.Build("densenet121");
        var input = Tensor.Rand([batch, 3, 64, 64], new Generator(23), -1f, 1f);
        var expected = EagerOutput.Of(model, input);

        var fused = model.PrepareForInference(batch, 3, 64, 64);
        InferenceSession apart;
        using (Switches.Set(() => InferenceSession.AffineIntoConvolution, false))
            apart = model.PrepareForInference(batch, 3, 64, 64);
        // DenseNet-121: 58 dense layers (6 + 12 + 24 + 16) and 3 transitions each normalize before a 1×1 convolution. The
        // pair stays two steps where the convolution runs otherwise than one driver GEMM per image: the pixels-as-rows
        // product on the small maps (which depends on the ISA), the batched im2col path at batch 2 on these maps.
        int pairs = fused.StepNodes.Count(s => s.Contains("(AffineConv ", StringComparison.Ordinal));
        Assert.InRange(pairs, batch == 1 ? 1 : 0, 61);
        Assert.Equal(0, apart.StepNodes.Count(s => s.Contains("(AffineConv ", StringComparison.Ordinal)));
        Assert.Equal(apart.StepCount - pairs, fused.StepCount);
        var actual = fused.Run(input);
        Close.Assert(expected, actual, 1e-3, 1e-4, $"densenet121 b{batch}: fused session against eager");
        Close.Assert(apart.Run(input), actual, 1e-5, 1e-5, $"densenet121 b{batch}: fused session against the two steps apart");
    }
}
