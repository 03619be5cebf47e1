using Striate.Functional;
using Striate.Optim;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Reference;

/// <summary>
/// Every PyTorch reference case in the folder named by STRIATE_REFERENCE_DIR (default: tests/reference/ops) is
/// run through the op its metadata names: the output and every gradient (and running statistics, and optimizer
/// steps) must match. A case whose op is unknown fails, so new cases cannot be skipped silently.
/// </summary>
public sealed class ReferenceCaseTests
{
    // Tolerances from shared/reference/README.md: they hold for a correct float32 implementation.
    private const double OutRtol = 1e-4, OutAtol = 1e-5, GradRtol = 1e-3, GradAtol = 1e-4;

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(RepoPaths.ReferenceOps, "*.safetensors").OrderBy(f => f, StringComparer.Ordinal))
            data.Add(Path.GetFileName(file));
        return data;
    }

    [Fact]
    public void ReferenceFolderHoldsTheCases()
    {
        Assert.True(Directory.Exists(RepoPaths.ReferenceOps), $"reference folder {RepoPaths.ReferenceOps} does not exist");
        Assert.True(Directory.GetFiles(RepoPaths.ReferenceOps, "*.safetensors").Length >= 50,
            $"expected at least the 50 shipped cases in {RepoPaths.ReferenceOps}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string file)
    {
        var c = new ReferenceCase(Path.Combine(RepoPaths.ReferenceOps, file));
        if (!Handlers.TryGetValue(c.Op, out var handler))
            throw new Xunit.Sdk.XunitException($"{c.Name}: op '{c.Op}' has no handler in ReferenceCaseTests; add one.");
        handler(c);
    }

    private static readonly Dictionary<string, Action<ReferenceCase>> Handlers = new()
    {
        ["conv2d"] = Conv2d,
        ["linear"] = c => WithParameters(c, (x, w, b) => F.Linear(x, w!, b)),
        ["max_pool2d"] = c => Unary(c, x => F.MaxPool2d(x, c.Pair("kernel"), c.Pair("stride"), c.Pair("padding"), c.Bool("ceil_mode"))),
        ["avg_pool2d"] = c => Unary(c, x => F.AvgPool2d(x, c.Pair("kernel"), c.Pair("stride"), c.Pair("padding"), c.Bool("ceil_mode"),
            c.OptionalArg("count_include_pad") is not { } cip || cip == "True")),
        ["adaptive_avg_pool2d"] = c => Unary(c, x => F.AdaptiveAvgPool2d(x, c.Pair("output_size").H, c.Pair("output_size").W)),
        ["adaptive_max_pool2d"] = c => Unary(c, x => F.AdaptiveMaxPool2d(x, c.Pair("output_size").H, c.Pair("output_size").W)),
        ["spatial_pyramid_pool"] = c =>
        {
            Assert.Equal("max", c.Arg("kind"));
            Unary(c, x => F.SpatialPyramidPool(x, c.Ints("levels")));
        },
        ["relu"] = c => Unary(c, F.Relu),
        ["leaky_relu"] = c => Unary(c, x => F.LeakyRelu(x, c.Float("negative_slope"))),
        ["sigmoid"] = c => Unary(c, F.Sigmoid),
        ["tanh"] = c => Unary(c, F.Tanh),
        ["hardtanh"] = c => Unary(c, x => F.Hardtanh(x, c.Float("min_val"), c.Float("max_val"))),
        ["softmax"] = c => Unary(c, x => F.Softmax(x, 1)),
        ["log_softmax"] = c => Unary(c, x => F.LogSoftmax(x, 1)),
        ["local_response_norm"] = c => Unary(c, x => F.LocalResponseNorm(x, c.Int("size"), c.Float("alpha"), c.Float("beta"), c.Float("k"))),
        ["interpolate_bilinear"] = c =>
        {
            Assert.Equal("False", c.Arg("align_corners"));
            Unary(c, x => F.InterpolateBilinear(x, c.Pair("size").H, c.Pair("size").W));
        },
        ["add"] = c => Binary(c, F.Add),
        ["sub"] = c => Binary(c, F.Sub),
        ["mul"] = c => Binary(c, F.Mul),
        ["div"] = c => Binary(c, F.Div),
        // The scalar cases go through Tensor's operators, as a user writes them.
        ["add_scalar"] = c => Unary(c, x => x + c.Float("other")),
        ["sub_scalar"] = c => Unary(c, x => x - c.Float("other")),
        ["rsub_scalar"] = c => Unary(c, x => c.Float("other") - x),
        ["mul_scalar"] = c => Unary(c, x => x * c.Float("other")),
        ["div_scalar"] = c => Unary(c, x => x / c.Float("other")),
        ["rdiv_scalar"] = c => Unary(c, x => c.Float("other") / x),
        ["neg"] = c => Unary(c, x => -x),
        ["cross_entropy"] = CrossEntropy,
        ["batch_norm1d"] = BatchNorm,
        ["batch_norm2d"] = BatchNorm,
        ["sgd"] = Sgd,
        ["sgd_momentum"] = Sgd,
        ["sgd_nesterov"] = Sgd,
        ["adam"] = c => OptimizerSteps(c, p => new Adam([p], lr: c.Float("lr"), beta1: c.Double("beta1"), beta2: c.Double("beta2"), eps: c.Float("eps"), weightDecay: c.Float("weight_decay"))),
        ["adamw"] = c => OptimizerSteps(c, p => new AdamW([p], lr: c.Float("lr"), beta1: c.Double("beta1"), beta2: c.Double("beta2"), eps: c.Float("eps"), weightDecay: c.Float("weight_decay"))),
    };

    /// <summary>y = op(x); checks y and dL/dx for the given dL/dy.</summary>
    private static void Unary(ReferenceCase c, Func<Tensor, Tensor> op)
    {
        var x = c.Leaf("input");
        var y = op(x);
        Close.Assert(c.Tensor("output"), y, OutRtol, OutAtol, $"{c.Name} output");
        y.Backward(c.Tensor("grad_output"));
        Close.Assert(c.Tensor("grad_input"), x.Grad!, GradRtol, GradAtol, $"{c.Name} grad_input");
    }

    /// <summary>y = op(input, other) with broadcasting; checks y and both gradients (each summed back to its input's shape).</summary>
    private static void Binary(ReferenceCase c, Func<Tensor, Tensor, Tensor> op)
    {
        var a = c.Leaf("input");
        var b = c.Leaf("other");
        var y = op(a, b);
        Close.Assert(c.Tensor("output"), y, OutRtol, OutAtol, $"{c.Name} output");
        y.Backward(c.Tensor("grad_output"));
        Close.Assert(c.Tensor("grad_input"), a.Grad!, GradRtol, GradAtol, $"{c.Name} grad_input");
        Close.Assert(c.Tensor("grad_other"), b.Grad!, GradRtol, GradAtol, $"{c.Name} grad_other");
    }

    /// <summary>y = op(x, weight, bias); checks y and the gradients of all three.</summary>
    private static void WithParameters(ReferenceCase c, Func<Tensor, Tensor?, Tensor?, Tensor> op)
    {
        var x = c.Leaf("input");
        var w = c.Has("weight") ? c.Leaf("weight") : null;
        var b = c.Has("bias") ? c.Leaf("bias") : null;
        var y = op(x, w, b);
        Close.Assert(c.Tensor("output"), y, OutRtol, OutAtol, $"{c.Name} output");
        y.Backward(c.Tensor("grad_output"));
        Close.Assert(c.Tensor("grad_input"), x.Grad!, GradRtol, GradAtol, $"{c.Name} grad_input");
        if (w != null) Close.Assert(c.Tensor("grad_weight"), w.Grad!, GradRtol, GradAtol, $"{c.Name} grad_weight");
        if (b != null) Close.Assert(c.Tensor("grad_bias"), b.Grad!, GradRtol, GradAtol, $"{c.Name} grad_bias");
    }

    private static void Conv2d(ReferenceCase c)
    {
        Assert.Equal(c.Bool("bias"), c.Has("bias"));
        WithParameters(c, (x, w, b) => F.Conv2d(x, w!, b, c.Pair("stride"), c.Pair("padding"), c.Pair("dilation"), c.Int("groups")));
    }

    private static void CrossEntropy(ReferenceCase c)
    {
        Assert.Equal("mean", c.Arg("reduction"));
        var x = c.Leaf("input");
        var loss = F.CrossEntropy(x, c.Int64AsInt("target"), c.Float("label_smoothing"));
        // PyTorch's scalar loss is stored as shape [1]; ours is rank 0.
        Close.Assert(c.Tensor("output").ReadOnlySpan, loss.ReadOnlySpan, OutRtol, OutAtol, $"{c.Name} output");
        loss.Backward(Tensor.Full(c.Tensor("grad_output").Item(), loss.ShapeArray));
        Close.Assert(c.Tensor("grad_input"), x.Grad!, GradRtol, GradAtol, $"{c.Name} grad_input");
    }

    private static void BatchNorm(ReferenceCase c)
    {
        var runningMean = c.Tensor("running_mean");
        var runningVar = c.Tensor("running_var");
        WithParameters(c, (x, w, b) => F.BatchNorm(x, runningMean, runningVar, w, b, c.Bool("training"), c.Float("momentum"), c.Float("eps")));
        Close.Assert(c.Tensor("running_mean_after"), runningMean, OutRtol, OutAtol, $"{c.Name} running_mean");
        Close.Assert(c.Tensor("running_var_after"), runningVar, OutRtol, OutAtol, $"{c.Name} running_var");
    }

    private static void Sgd(ReferenceCase c) => OptimizerSteps(c, p => new Sgd([p], lr: c.Float("lr"),
        momentum: c.Float("momentum"), dampening: c.OptionalArg("dampening") is null ? 0 : c.Float("dampening"),
        weightDecay: c.Float("weight_decay"), nesterov: c.Bool("nesterov")));

    /// <summary>Three optimizer steps with the case's gradients; the parameter must end where PyTorch's did.</summary>
    private static void OptimizerSteps(ReferenceCase c, Func<Tensor, Optimizer> make)
    {
        var p = c.Leaf("param");
        var optimizer = make(p);
        for (int step = 0; step < 3; step++)
        {
            p.Grad = c.Tensor($"grad_{step}");
            optimizer.Step();
        }
        Close.Assert(c.Tensor("param_after_3"), p, 1e-5, 1e-6, $"{c.Name} param after 3 steps");
    }
}
