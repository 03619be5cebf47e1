using Striate.Autograd;
using Striate.Graph;
using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Graph;

/// <summary>
/// A prepared MobileNet-V2 at batch 1 runs its inverted-residual blocks on large maps as one banded step each
/// (expand → depthwise → project, <see cref="InvertedResidualBands"/>) and still gives the eager model's logits: with
/// the default rule (maps of 28×28 and more) and with every block banded, down to 1×1 maps and stride 2 on odd sizes.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public sealed class InferenceSessionInvertedResidualTests
{
    [Theory]
    [InlineData(112, -1)] // the default rule: the blocks on 56×56 and 28×28 maps run banded, the smaller ones as three steps
    [InlineData(32, 0)]   // every block banded (16×16 down to 1×1)
    [InlineData(40, 0)]   // odd sizes after stride 2 (20 → 10 → 5 → 3)
    public void BandedBlocksGiveTheEagerModelsLogits(int size, int minPixels)
    {
        Assert.SkipUnless(DepthwiseConv2d.VectorWidth() > 0, "the banded blocks run with the depthwise vector kernels only (AVX2 or AVX-512); without them the session keeps three steps per block");
        var (model, _) = RegistryModels.Build("mobilenet_v2");
        var input = Tensor.Rand([1, 3, size, size], new Generator(17), -1f, 1f);
        var expected = EagerOutput.Of(model, input);

        InferenceSession session;
        using (Switches.Set(() => InferenceSession.BandedBlockMinPixels, minPixels >= 0 ? minPixels : InferenceSession.BandedBlockMinPixels))
            session = model.PrepareForInference(1, 3, size, size);
        var banded = session.StepNodes.Count(s => s.Contains("(InvertedResidual ", StringComparison.Ordinal));
        // MobileNet-V2 has 17 inverted residuals, 16 with an expansion; at 112×112, features.2 reads 56×56 and features.3–4
        // 28×28 (the rest 14×14 and less).
        Assert.Equal(minPixels == 0 ? 16 : 3, banded);
        var actual = session.Run(input);
        Close.Assert(expected, actual, 1e-3, 1e-4, $"mobilenet_v2 @{size}: banded session against eager");
        Close.Assert(actual, session.Run(input), 0, 0, "second run");
    }
}
