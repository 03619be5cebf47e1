using Striate.Functional;

namespace Striate.Graph;

/// <summary>
/// Runs one <see cref="Op"/> through its functional op (so autograd records it as usual). Batch norm and dropout follow
/// <c>training</c> (the running module's mode), not the mode the op was traced in.
/// </summary>
public static class OpExecutor
{
    /// <summary>
    /// Computes <paramref name="op"/> on <paramref name="inputs"/> (in the order the op's record lists them).
    /// Shapes: as the functional op.
    /// </summary>
    public static Tensor Run(Op op, IReadOnlyList<Tensor?> inputs, bool training)
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(inputs);
        Tensor X(int i) => i < inputs.Count && inputs[i] is { } t ? t
            : throw new ArgumentException($"{op.Name}: input {i} is missing (got {inputs.Count} inputs).", nameof(inputs));
        Tensor? Optional(int i) => i < inputs.Count ? inputs[i] : null;
        return op switch
        {
            Conv2dOp c => F.Conv2d(X(0), X(1), Optional(2), (c.Stride.H, c.Stride.W), (c.Padding.H, c.Padding.W), (c.Dilation.H, c.Dilation.W), c.Groups),
            BatchNormOp b => F.BatchNorm(X(0), X(1), X(2), Optional(3), Optional(4), training, b.Momentum, b.Eps),
            ReluOp => F.Relu(X(0)),
            LeakyReluOp l => F.LeakyRelu(X(0), l.NegativeSlope),
            SigmoidOp => F.Sigmoid(X(0)),
            TanhOp => F.Tanh(X(0)),
            HardtanhOp h => F.Hardtanh(X(0), h.MinVal, h.MaxVal),
            MaxPool2dOp m => F.MaxPool2d(X(0), (m.KernelSize.H, m.KernelSize.W), (m.Stride.H, m.Stride.W), (m.Padding.H, m.Padding.W), m.CeilMode),
            AvgPool2dOp a => F.AvgPool2d(X(0), (a.KernelSize.H, a.KernelSize.W), (a.Stride.H, a.Stride.W), (a.Padding.H, a.Padding.W), a.CeilMode,
                a.CountIncludePad, a.DivisorOverride == 0 ? null : a.DivisorOverride),
            AdaptiveAvgPool2dOp a => F.AdaptiveAvgPool2d(X(0), a.OutputSize.H, a.OutputSize.W),
            AdaptiveMaxPool2dOp a => F.AdaptiveMaxPool2d(X(0), a.OutputSize.H, a.OutputSize.W),
            LinearOp => F.Linear(X(0), X(1), Optional(2)),
            AddOp => F.Add(X(0), X(1)),
            SubOp => F.Sub(X(0), X(1)),
            MulOp => F.Mul(X(0), X(1)),
            DivOp => F.Div(X(0), X(1)),
            ScaleOp s => F.Mul(X(0), s.Scalar),
            AddScalarOp s => F.Add(X(0), s.Scalar),
            RSubScalarOp s => F.Sub(s.Scalar, X(0)),
            DivScalarOp s => F.Div(X(0), s.Scalar),
            RDivScalarOp s => F.Div(s.Scalar, X(0)),
            NegOp => F.Neg(X(0)),
            SumOp => F.Sum(X(0)),
            MeanOp => F.Mean(X(0)),
            ConcatOp c => F.Concat(AllInputs(inputs, op), c.Dim),
            ReshapeOp r => F.Reshape(X(0), ResolveReshape(r.Shape, X(0))),
            FlattenOp f => F.Flatten(X(0), f.StartDim, f.EndDim),
            DropoutOp d => F.Dropout(X(0), d.P, training),
            LocalResponseNormOp l => F.LocalResponseNorm(X(0), l.Size, l.Alpha, l.Beta, l.K),
            SoftmaxOp { Log: false } s => F.Softmax(X(0), s.Dim),
            SoftmaxOp { Log: true } s => F.LogSoftmax(X(0), s.Dim),
            InterpolateBilinearOp i => i.ScaleFactorH > 0 ? F.InterpolateBilinear(X(0), i.ScaleFactorH, i.ScaleFactorW)
                : F.InterpolateBilinear(X(0), i.OutputSize.H, i.OutputSize.W),
            IdentityOp => X(0),
            FusedConv2dOp c => RunFusedConv2d(c, X(0), X(1), Optional(2), Optional(3)),
            ChannelAffineOp a => a.Relu ? F.Relu(F.Add(F.Mul(X(0), X(1)), X(2))) : F.Add(F.Mul(X(0), X(1)), X(2)),
            _ => throw new NotSupportedException($"OpExecutor: no functional op runs {op} (a {op.GetType().Name})."),
        };
    }

    /// <summary>The unfused ops a <see cref="FusedConv2dOp"/> stands for, one after another (the specification of the fused kernel).</summary>
    private static Tensor RunFusedConv2d(FusedConv2dOp c, Tensor x, Tensor w, Tensor? bias, Tensor? residual)
    {
        var y = F.Conv2d(x, w, bias, (c.Stride.H, c.Stride.W), (c.Padding.H, c.Padding.W), (c.Dilation.H, c.Dilation.W), c.Groups);
        if (residual != null) y = F.Add(y, residual);
        if (c.Relu) return F.Relu(y);
        return c.HasActivation ? F.Hardtanh(y, c.ClampMin, c.ClampMax) : y;
    }

    /// <summary>A reshape target with 0 entries replaced by the input's size at that index (ONNX's rule); −1 stays for F.Reshape to infer.</summary>
    public static int[] ResolveReshape(IReadOnlyList<int> shape, Tensor input)
    {
        var dims = shape.ToArray();
        for (int i = 0; i < dims.Length; i++)
            if (dims[i] == 0)
            {
                if (i >= input.Rank)
                    throw new ArgumentException($"Reshape: target {Op.Format(shape)} copies dimension {i} (a 0 entry), but the input of shape {Tensor.FormatShape(input.Shape)} has rank {input.Rank}.");
                dims[i] = input.Size(i);
            }
        return dims;
    }

    private static Tensor[] AllInputs(IReadOnlyList<Tensor?> inputs, Op op)
    {
        var all = new Tensor[inputs.Count];
        for (int i = 0; i < all.Length; i++)
            all[i] = inputs[i] ?? throw new ArgumentException($"{op.Name}: input {i} is missing.", nameof(inputs));
        return all;
    }
}
