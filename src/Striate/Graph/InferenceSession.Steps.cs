using Striate.Autograd;
using Striate.Kernels;
using System.Runtime.CompilerServices;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>An input of a step: a planned segment (computed values) or the tensor itself (parameters, constants).</summary>
    internal sealed record Operand(int[] Shape, Tensor? Data, Segment Segment)
    {
        public ReadOnlySpan<float> Span => Data != null ? Data.ReadOnlySpan : Segment.ReadOnly;

        /// <summary>A tensor over the operand's floats (no copy), for ops run through their functional form.</summary>
        public Tensor AsTensor() => Data ?? new Tensor(Segment.Array, Segment.Offset, Shape);
    }

    /// <summary>One kernel call of a run, with its operands placed.</summary>
    internal abstract class Step
    {
        /// <summary>The node this step computes, as a graph dump shows it (for profiles).</summary>
        public string Node { get; set; } = "";

        public abstract void Run();

        /// <summary>What the first run would otherwise do once (pack or block weights, compile tiles); called when the session is prepared.</summary>
        public virtual void Prepare()
        {
        }

        /// <summary>The step computing <paramref name="n"/>: a direct kernel call where one fits, else its functional op.</summary>
        public static Step For(Node n, Operand?[] ins, Segment y)
        {
            var x = ins.Length > 0 ? ins[0] : null;
            switch (n.Op)
            {
                case Conv2dOp c when x!.Data == null && ins[1]!.Data != null && (ins.Length < 3 || ins[2] == null || ins[2]!.Data != null):
                    return new ConvStep(new FusedConv2dOp(c), x, ins[1]!.Data!, ins.Length > 2 ? ins[2]?.Data : null, null, y);
                case FusedConv2dOp f when x!.Data == null && ins[1]!.Data != null && (ins[2] == null || ins[2]!.Data != null) && (ins[3] == null || ins[3]!.Data == null):
                    return new ConvStep(f, x, ins[1]!.Data!, ins[2]?.Data, ins[3], y);
                case ChannelAffineOp a when ins[1]!.Data != null && ins[2]!.Data != null && x!.Shape.Length >= 2:
                    return new AffineStep(x, ins[1]!.Data!, ins[2]!.Data!, a.Relu, y);
                case ReluOp:
                    return new ActionStep([MethodImpl(MethodImplOptions.AggressiveOptimization)] () => Activations.Relu(x!.Span, y.Span));
                case HardtanhOp h:
                    return new ActionStep([MethodImpl(MethodImplOptions.AggressiveOptimization)] () => Hardtanh.Forward(x!.Span, h.MinVal, h.MaxVal, y.Span));
                case MaxPool2dOp m when x!.Shape.Length == 4:
                {
                    var g = PoolGeometry(x.Shape, n.Output.Shape, m.KernelSize, m.Stride, m.Padding);
                    return new ActionStep([MethodImpl(MethodImplOptions.AggressiveOptimization)] () => Pooling.MaxPool2dForward(g, x.Span, y.Span, Span<int>.Empty));
                }
                case AvgPool2dOp a when x!.Shape.Length == 4:
                {
                    var g = PoolGeometry(x.Shape, n.Output.Shape, a.KernelSize, a.Stride, a.Padding);
                    return new ActionStep([MethodImpl(MethodImplOptions.AggressiveOptimization)] () => Pooling.AvgPool2dForward(g, a.CountIncludePad, a.DivisorOverride, x.Span, y.Span));
                }
                case AdaptiveAvgPool2dOp a when x!.Shape.Length == 4:
                {
                    int[] s = x.Shape;
                    return new ActionStep([MethodImpl(MethodImplOptions.AggressiveOptimization)] () => AdaptivePooling.AvgForward(s[0] * s[1], s[2], s[3], a.OutputSize.H, a.OutputSize.W, x.Span, y.Span));
                }
                case LinearOp when ins[1]!.Data != null && (ins.Length < 3 || ins[2] == null || ins[2]!.Data != null):
                    return new LinearStep(x!, ins[1]!.Data!, ins.Length > 2 ? ins[2]?.Data : null, y);
                case AddOp when ins[0]!.Shape.SequenceEqual(ins[1]!.Shape):
                    return new ActionStep([MethodImpl(MethodImplOptions.AggressiveOptimization)] () => Elementwise.Add(ins[0]!.Span, ins[1]!.Span, y.Span));
                case ConcatOp c when ins.All(i => i != null):
                    return new ConcatStep(ins!, NormalizeDim(c.Dim, n.Output.Rank), n.Output.ShapeArray, y);
                default:
                    return new FunctionalStep(n.Op, ins, y);
            }
        }

        private static int NormalizeDim(int dim, int rank) => dim < 0 ? dim + rank : dim;

        private static Pool2dGeometry PoolGeometry(int[] input, IReadOnlyList<int> output, Size2 kernel, Size2 stride, Size2 padding) =>
            new(input[0] * input[1], input[2], input[3], output[2], output[3], kernel.H, kernel.W, stride.H, stride.W, padding.H, padding.W);
    }

    private sealed class ActionStep(Action run) : Step
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run() => run();
    }

    /// <summary>y = clamp(conv(x, w) + b + residual): the epilogue rides on the kernel's output store (the direct kernel's knows ReLU only; another clamp follows it in place).</summary>
    private sealed class ConvStep : Step
    {
        private readonly FusedConv2dOp _op;
        private readonly Conv2dGeometry _g;
        private readonly Operand _x;
        private readonly Tensor _w;
        private readonly Tensor? _b;
        private readonly Operand? _residual;
        private readonly Segment _y;

        /// <summary>The convolution algorithm the kernels pick for this shape (for profiles).</summary>
        public Conv2dAlgorithm Algorithm { get; }

        /// <summary>The convolution's shape.</summary>
        public Conv2dGeometry Geometry => _g;

        // The operands, for steps that run several convolutions together (InvertedResidualStep).
        public FusedConv2dOp Op => _op;
        public Operand X => _x;
        public Tensor Weight => _w;
        public Tensor? Bias => _b;
        public Operand? Residual => _residual;
        public Segment Y => _y;

        /// <summary>
        /// Does now what the first run would otherwise do: compiles the direct kernel's tiles for this shape and
        /// blocks its weights, or packs the GEMM's, into <see cref="TransformedWeights"/>.
        /// </summary>
        public override unsafe void Prepare()
        {
            if (_pointwiseBlocked)
            {
                fixed (float* w = _w.ReadOnlySpan) PointwiseBlocked.Weights(w, _g.OutChannels, _g.InChannels, new WeightKey(_w, _w.Version), out _, _xs.V);
                return;
            }
            if (Algorithm is Conv2dAlgorithm.Pointwise or Conv2dAlgorithm.Im2ColGemm)
            {
                fixed (float* w = _w.ReadOnlySpan) Conv2dKernels.KeepGemmForwardWeights(_g, w, new WeightKey(_w, _w.Version));
                return;
            }
            if (Algorithm != Conv2dAlgorithm.Direct) return;
            foreach (var tile in Conv2dDirect.ForwardTileMethods(Conv2dDirect.BestWidth, _g)) System.Runtime.CompilerServices.RuntimeHelpers.PrepareMethod(tile.MethodHandle);
            fixed (float* w = _w.ReadOnlySpan) Conv2dDirect.KeepForwardWeights(Conv2dDirect.BestWidth, _g, w, new WeightKey(_w, _w.Version));
        }

        /// <summary>"64→128 3×3 s2 @56×56" (for profiles).</summary>
        public string Shape => $"{_g.InChannels}→{_g.OutChannels} {_g.KernelHeight}×{_g.KernelWidth} s{_g.StrideH}{(_g.Groups > 1 ? $" g{_g.Groups}" : "")} @{_g.InHeight}×{_g.InWidth}";

        public ConvStep(FusedConv2dOp op, Operand x, Tensor w, Tensor? b, Operand? residual, Segment y)
        {
            int[] s = x.Shape;
            _g = new Conv2dGeometry(s[0], s[1], s[2], s[3], w.Size(0), w.Size(2), w.Size(3), op.Stride.H, op.Stride.W, op.Padding.H, op.Padding.W,
                op.Dilation.H, op.Dilation.W, op.Groups);
            Algorithm = Conv2dKernels.Choose(_g);
            _op = op;
            _x = x;
            _w = w;
            _b = b;
            _residual = residual;
            _y = y;
        }

        // The blocked hand-off between direct steps (KeepBlockedBetweenDirectSteps): pinned buffers, aligned at use.
        private float[]? _blockedIn, _blockedOut;
        private int _blockedOutPad;

        /// <summary>This step writes its output channel-blocked into <paramref name="buffer"/>, with a zero border of <paramref name="pad"/> (<see cref="Conv2dDirect.ForwardBlocked"/>).</summary>
        public void BlockOutput(float[] buffer, int pad)
        {
            _blockedOut = buffer;
            _blockedOutPad = pad;
        }

        /// <summary>Whether this step hands its output on channel-blocked (for tests of the plan).</summary>
        public bool WritesBlocked => _blockedOut != null;

        /// <summary>This step reads its input channel-blocked from <paramref name="buffer"/>, padded as it convolves (the step before wrote it).</summary>
        public void BlockInput(float[] buffer) => _blockedIn = buffer;

        // KeepBlockedThrough: a blocked residual (in the blocked output's shape) for the direct kernel; a 1×1 on blocked operands.
        private float[]? _blockedResidual;
        private bool _pointwiseBlocked;
        private BlockedShape _xs, _ys, _rs;

        /// <summary>With <see cref="BlockOutput"/>: the residual is read channel-blocked from <paramref name="buffer"/>, in the output's blocked shape.</summary>
        public void BlockResidual(float[] buffer) => _blockedResidual = buffer;

        /// <summary>
        /// This 1×1 step runs <see cref="PointwiseBlocked"/>: input, output and residual (when it has one) channel-blocked in
        /// the given buffers and shapes (the output's border written zero by the kernel).
        /// </summary>
        public void RunPointwise(float[] x, BlockedShape xs, float[] y, BlockedShape ys, float[]? residual, BlockedShape rs)
        {
            _pointwiseBlocked = true;
            _blockedIn = x;
            _xs = xs;
            _blockedOut = y;
            _ys = ys;
            _blockedResidual = residual;
            _rs = rs;
        }

        /// <summary>Whether this step runs <see cref="PointwiseBlocked"/> (for tests of the plan).</summary>
        public bool RunsPointwiseBlocked => _pointwiseBlocked;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private unsafe void RunPointwiseBlocked()
        {
            fixed (float* w = _w.ReadOnlySpan, b = _b == null ? default : _b.ReadOnlySpan)
            fixed (float* x = _blockedIn, y = _blockedOut, r = _blockedResidual)
            {
                float* pw = PointwiseBlocked.Weights(w, _g.OutChannels, _g.InChannels, new WeightKey(_w, _w.Version), out var holder, _xs.V);
                PointwiseBlocked.Run(pw, CacheLine.Align(x), _xs, _g.StrideH, CacheLine.Align(y), _ys, b, r == null ? null : CacheLine.Align(r), _rs, _op.Relu);
                GC.KeepAlive(holder);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run()
        {
            if (_pointwiseBlocked)
            {
                RunPointwiseBlocked();
                return;
            }
            if (_blockedIn != null || _blockedOut != null)
            {
                RunBlocked();
                return;
            }
            var y = _y.Span;
            if (Algorithm == Conv2dAlgorithm.Depthwise && _residual == null)
            {
                // Depthwise kernels clamp in their store (ReLU6 included): no second pass over y.
                DepthwiseConv2d.Forward(_g, _x.Span, _w.ReadOnlySpan, _b == null ? default : _b.ReadOnlySpan, y, _op.ClampMin, _op.ClampMax);
                return;
            }
            Conv2dKernels.Forward(_g, Algorithm, Conv2dDirect.BestWidth, _x.Span, _w.ReadOnlySpan, _b == null ? default : _b.ReadOnlySpan, y,
                EpilogueOf(_op, _residual), new WeightKey(_w, _w.Version));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private unsafe void RunBlocked()
        {
            bool blockedIn = _blockedIn != null, blockedOut = _blockedOut != null;
            fixed (float* x = _x.Span, w = _w.ReadOnlySpan, b = _b == null ? default : _b.ReadOnlySpan, r = _residual == null ? default : _residual.Span, y = _y.Span)
            fixed (float* xb = _blockedIn, yb = _blockedOut, rb = _blockedResidual)
                Conv2dDirect.ForwardBlocked(Conv2dDirect.BestWidth, _g, blockedIn ? CacheLine.Align(xb) : x, blockedIn, w, b, rb != null ? CacheLine.Align(rb) : r, _op.Relu,
                    blockedOut ? CacheLine.Align(yb) : y, blockedOut ? _blockedOutPad : -1, new WeightKey(_w, _w.Version));
        }
    }

    /// <summary>
    /// The output store of a fused convolution: the residual (or none), ReLU, or any other clamp (ReLU6). The kernels
    /// apply it in their store where they can (GEMM, depthwise).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Conv2dEpilogue EpilogueOf(FusedConv2dOp op, Operand? residual) => new()
    {
        Residual = residual == null ? default : residual.Span,
        Relu = op.Relu,
        Clamp = op.HasActivation && !op.Relu ? (op.ClampMin, op.ClampMax) : null,
    };

    private sealed class AffineStep(Operand x, Tensor scale, Tensor shift, bool relu, Segment y) : Step
    {
        private readonly int _n = x.Shape[0], _c = x.Shape[1], _s = x.Shape.Skip(2).Aggregate(1, (a, b) => a * b);

        // The operands, for a 1×1 convolution that applies this step to its input as it reads it (AffineConvStep).
        public Operand X => x;
        public Tensor Scale => scale;
        public Tensor Shift => shift;
        public bool Relu => relu;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run() => ChannelAffine.Forward(_n, _c, _s, x.Span, scale.ReadOnlySpan, shift.ReadOnlySpan, relu, y.Span);
    }

    /// <summary>
    /// y [rows, out] = x [rows, in] · Wᵀ + b. At few rows (batch 1) W is streamed once in place with the bias added
    /// in the store (<see cref="Gemv"/>); more rows go to the blocked GEMM and a bias pass.
    /// </summary>
    private sealed class LinearStep(Operand x, Tensor w, Tensor? b, Segment y) : Step
    {
        private readonly int _out = w.Size(0), _in = w.Size(1);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run()
        {
            var dst = y.Span;
            int rows = dst.Length / _out;
            var bias = b == null ? default : b.ReadOnlySpan;
            if (rows <= Gemv.MaxRows && _in > 0)
            {
                Gemv.MultiplyTransposed(rows, _out, _in, x.Span, _in, w.ReadOnlySpan, _in, bias, dst, _out);
                return;
            }
            Gemm.Sgemm(false, true, rows, _out, _in, 1f, x.Span, _in, w.ReadOnlySpan, _in, 0f, dst, _out);
            if (b == null) return;
            for (int r = 0; r < rows; r++) Elementwise.AddInPlace(dst.Slice(r * _out, _out), bias);
        }
    }

    /// <summary>
    /// Parts copied into their places along one dimension (seen as [outer, block]), except parts the buffer plan had
    /// their producers write in place already (their segment is their block of the result).
    /// </summary>
    private sealed class ConcatStep : Step
    {
        private readonly Operand[] _parts;
        private readonly int _outer, _total;
        private readonly int[] _block, _offset;
        private readonly bool[] _inPlace;
        private readonly Segment _y;

        public ConcatStep(Operand[] parts, int dim, int[] shape, Segment y)
        {
            _parts = parts;
            _y = y;
            _outer = shape.Take(dim).Aggregate(1, (a, b) => a * b);
            int inner = shape.Skip(dim + 1).Aggregate(1, (a, b) => a * b);
            _total = shape[dim] * inner;
            _block = parts.Select(p => p.Shape[dim] * inner).ToArray();
            _offset = new int[parts.Length];
            for (int i = 1; i < parts.Length; i++) _offset[i] = _offset[i - 1] + _block[i - 1];
            _inPlace = parts.Select((p, i) => _outer == 1 && p.Data == null && ReferenceEquals(p.Segment.Array, y.Array)
                && p.Segment.Offset == y.Offset + _offset[i] && p.Segment.Length == _block[i]).ToArray();
        }

        /// <summary>True when every part was written in place by its producer: the step has nothing to do.</summary>
        public bool CopiesNothing => _inPlace.All(p => p);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run()
        {
            var whole = _y.Span;
            for (int i = 0; i < _parts.Length; i++)
                if (!_inPlace[i]) Concat.Insert(_outer, _block[i], _total, _offset[i], _parts[i].Span, whole);
        }
    }

    /// <summary>Any other op, through its functional form on tensors over the planned buffers; the result is copied into place.</summary>
    private sealed class FunctionalStep(Op op, Operand?[] ins, Segment y) : Step
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run()
        {
            using var noGrad = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            var tensors = ins.Select(i => i?.AsTensor()).ToArray();
            OpExecutor.Run(op, tensors, training: false).ReadOnlySpan.CopyTo(y.Span);
        }
    }
}
