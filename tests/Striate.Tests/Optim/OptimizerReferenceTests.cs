using Striate.Optim;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Optim;

public class OptimizerReferenceTests
{
    [Theory]
    [InlineData("sgd_00")]
    [InlineData("sgd_momentum_00")]
    [InlineData("sgd_nesterov_00")]
    [InlineData("adam_00")]
    [InlineData("adamw_00")]
    // The references were computed in float64; float32 arithmetic lands within ~2e-7 relative of them.
    public void ThreeStepsMatchPyTorchReferenceCase(string caseName)
    {
        var c = TempReferenceReader.Read(caseName);
        var p = c.Tensors["param"].Clone().RequireGrad();
        var optimizer = Make(c, p);
        for (int s = 0; s < 3; s++)
        {
            p.Grad = c.Tensors[$"grad_{s}"];
            optimizer.Step();
        }
        Close.Assert(c.Tensors["param_after_3"], p, 1e-6, 1e-7, $"{caseName} param after 3 steps");
    }

    [Fact]
    public void EveryOptimizerReferenceCaseIsCovered()
    {
        // A new optimizer case in the folder should get a line in the theory above.
        var known = new[] { "sgd_00", "sgd_momentum_00", "sgd_nesterov_00", "adam_00", "adamw_00" };
        var found = Directory.GetFiles(TempReferenceReader.OpsFolder(), "*.safetensors")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n!.StartsWith("sgd", StringComparison.Ordinal) || n.StartsWith("adam", StringComparison.Ordinal))
            .Order().ToArray();
        Assert.Equal(known.Order(), found);
    }

    private static Optimizer Make(TempReferenceReader.Case c, Tensor p)
    {
        string op = c.Metadata["op"];
        switch (op)
        {
            case "sgd":
            case "sgd_momentum":
            case "sgd_nesterov":
                return new Sgd([p], c.Float("lr"), momentum: c.Float("momentum"), weightDecay: c.Float("weight_decay"),
                    nesterov: c.Metadata["nesterov"] == "True");
            case "adam":
                return new Adam([p], c.Float("lr"), c.Double("beta1"), c.Double("beta2"), c.Float("eps"), c.Float("weight_decay"));
            case "adamw":
                return new AdamW([p], c.Float("lr"), c.Double("beta1"), c.Double("beta2"), c.Float("eps"), c.Float("weight_decay"));
            default:
                throw new Xunit.Sdk.XunitException($"unknown optimizer op '{op}' in reference case");
        }
    }

    // Expected values below come from torch 1.13 (float32):
    //   p0 = [0.5, -1.25, 2.0, 0.125]
    //   gs = [[0.1, -0.2, 0.3, -0.4], [-0.5, 0.25, 0.75, 0.0], [0.05, 0.6, -0.9, 0.2]]
    //   p = torch.nn.Parameter(torch.tensor(p0)); o = make([p])
    //   for g in gs: p.grad = torch.tensor(g); o.step()
    private static readonly float[] P0 = [0.5f, -1.25f, 2.0f, 0.125f];
    private static readonly float[][] Grads = [[0.1f, -0.2f, 0.3f, -0.4f], [-0.5f, 0.25f, 0.75f, 0.0f], [0.05f, 0.6f, -0.9f, 0.2f]];

    [Fact]
    public void AdamWithAmsGradMatchesPyTorch()
    {
        // torch.optim.Adam(ps, lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, amsgrad=True)
        AssertThreeSteps(p => new Adam([p], 0.1f, 0.8, 0.99, 1e-6f, 0.01f, amsgrad: true),
            [0.501984596f, -1.23480844f, 1.8071034f, 0.295294523f], "Adam amsgrad");
    }

    [Fact]
    public void AdamWWithAmsGradMatchesPyTorch()
    {
        // torch.optim.AdamW(ps, lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True)
        AssertThreeSteps(p => new AdamW([p], 0.1f, 0.8, 0.99, 1e-6f, 0.1f, amsgrad: true),
            [0.490684003f, -1.20661724f, 1.75375664f, 0.29028219f], "AdamW amsgrad");
    }

    [Fact]
    public void SgdWithDampeningMatchesPyTorch()
    {
        // torch.optim.SGD(ps, lr=0.2, momentum=0.5, dampening=0.3, weight_decay=0.1)
        AssertThreeSteps(p => new Sgd([p], 0.2f, momentum: 0.5f, dampening: 0.3f, weightDecay: 0.1f),
            [0.528372109f, -1.23147213f, 1.72954237f, 0.225034699f], "SGD dampening");
    }

    private static void AssertThreeSteps(Func<Tensor, Optimizer> make, float[] expected, string what)
    {
        var p = Tensor.FromArray(P0).RequireGrad();
        var optimizer = make(p);
        foreach (var g in Grads)
        {
            p.Grad = Tensor.FromArray(g);
            optimizer.Step();
        }
        Close.Assert(expected, p.ReadOnlySpan, 1e-6, 1e-7, what);
    }
}
