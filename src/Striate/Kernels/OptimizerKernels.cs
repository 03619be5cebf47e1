using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// Fused per-element parameter updates for SGD and Adam/AdamW: one pass over parameter, gradient and state
/// instead of the half-dozen element-wise passes PyTorch's single-tensor path makes. Each fast kernel has a
/// plain scalar twin (<c>…Reference</c>) that performs the same float operations in the same order, so the
/// two agree bit for bit (no FMA contraction on either side).
/// </summary>
/// <remarks>
/// Shapes: every span has the parameter's element count, except state that a configuration does not use
/// (the momentum buffer when momentum is 0, the max buffer without AMSGrad), which may be empty.
/// </remarks>
public static class OptimizerKernels
{
    // ---- SGD ------------------------------------------------------------------------------------

    /// <summary>
    /// One SGD step as torch.optim.SGD (1.13): d = g + wd·p; with momentum, buf = d on the first step
    /// (<paramref name="initializeBuffer"/>) else buf = μ·buf + (1 − dampening)·d, then d = nesterov ? d + μ·buf : buf;
    /// finally p −= lr·d.
    /// </summary>
    public static void SgdStep(Span<float> param, ReadOnlySpan<float> grad, Span<float> momentumBuffer,
        float lr, float momentum, float dampening, float weightDecay, bool nesterov, bool initializeBuffer)
    {
        CheckSgd(param, grad, momentumBuffer, momentum, nameof(SgdStep));
        int n = param.Length;
        ref float p = ref MemoryMarshal.GetReference(param);
        ref float g = ref MemoryMarshal.GetReference(grad);
        ref float b = ref MemoryMarshal.GetReference(momentumBuffer);
        bool useMomentum = momentum != 0;
        float keep = 1f - dampening;
        int i = 0;

        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            var vLr = Vector512.Create(lr);
            var vMu = Vector512.Create(momentum);
            var vKeep = Vector512.Create(keep);
            var vWd = Vector512.Create(weightDecay);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var vp = Vector512.LoadUnsafe(ref p, (nuint)i);
                var d = Vector512.LoadUnsafe(ref g, (nuint)i) + vWd * vp;
                if (useMomentum)
                {
                    var vb = initializeBuffer ? d : vMu * Vector512.LoadUnsafe(ref b, (nuint)i) + vKeep * d;
                    vb.StoreUnsafe(ref b, (nuint)i);
                    d = nesterov ? d + vMu * vb : vb;
                }
                (vp - vLr * d).StoreUnsafe(ref p, (nuint)i);
            }
        }
        else if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var vLr = new Vector<float>(lr);
            var vMu = new Vector<float>(momentum);
            var vKeep = new Vector<float>(keep);
            var vWd = new Vector<float>(weightDecay);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var vp = Vector.LoadUnsafe(ref p, (nuint)i);
                var d = Vector.LoadUnsafe(ref g, (nuint)i) + vWd * vp;
                if (useMomentum)
                {
                    var vb = initializeBuffer ? d : vMu * Vector.LoadUnsafe(ref b, (nuint)i) + vKeep * d;
                    vb.StoreUnsafe(ref b, (nuint)i);
                    d = nesterov ? d + vMu * vb : vb;
                }
                (vp - vLr * d).StoreUnsafe(ref p, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            float pi = Unsafe.Add(ref p, i);
            float d = Unsafe.Add(ref g, i) + weightDecay * pi;
            if (useMomentum)
            {
                float bi = initializeBuffer ? d : momentum * Unsafe.Add(ref b, i) + keep * d;
                Unsafe.Add(ref b, i) = bi;
                d = nesterov ? d + momentum * bi : bi;
            }
            Unsafe.Add(ref p, i) = pi - lr * d;
        }
    }

    /// <summary>Plain-loop twin of <see cref="SgdStep"/>: the specification it is tested against.</summary>
    public static void SgdStepReference(Span<float> param, ReadOnlySpan<float> grad, Span<float> momentumBuffer,
        float lr, float momentum, float dampening, float weightDecay, bool nesterov, bool initializeBuffer)
    {
        CheckSgd(param, grad, momentumBuffer, momentum, nameof(SgdStepReference));
        for (int i = 0; i < param.Length; i++)
        {
            float d = grad[i] + weightDecay * param[i];
            if (momentum != 0)
            {
                momentumBuffer[i] = initializeBuffer ? d : momentum * momentumBuffer[i] + (1f - dampening) * d;
                d = nesterov ? d + momentum * momentumBuffer[i] : momentumBuffer[i];
            }
            param[i] = param[i] - lr * d;
        }
    }

    // ---- Adam / AdamW ---------------------------------------------------------------------------

    /// <summary>
    /// One Adam step (Kingma &amp; Ba 2015) in torch.optim.Adam's (1.13) arithmetic, with AdamW's decoupled decay
    /// (Loshchilov &amp; Hutter 2019) folded in: p *= <paramref name="paramScale"/> (1 − lr·wd for AdamW, 1 for Adam);
    /// g += <paramref name="weightDecay"/>·p (Adam's L2 term, 0 for AdamW); m = β1·m + (1 − β1)·g;
    /// v = β2·v + (1 − β2)·g²; with AMSGrad (non-empty <paramref name="maxExpAvgSq"/>) v̂ = max(v̂, v) is used in
    /// place of v; p −= stepSize · m / (√v / √bc2 + eps), where the caller passes stepSize = lr / (1 − β1^t) and
    /// biasCorrection2Sqrt = √(1 − β2^t) computed in double as PyTorch does. The betas are doubles because 1 − β is
    /// formed in double (as in PyTorch) before it is rounded to float.
    /// </summary>
    public static void AdamStep(Span<float> param, ReadOnlySpan<float> grad, Span<float> expAvg, Span<float> expAvgSq,
        Span<float> maxExpAvgSq, float stepSize, double beta1, double beta2, float eps, float weightDecay,
        float biasCorrection2Sqrt, float paramScale)
    {
        bool amsgrad = CheckAdam(param, grad, expAvg, expAvgSq, maxExpAvgSq, nameof(AdamStep));
        var (b1, oneMinusBeta1) = Coefficients(beta1);
        var (b2, oneMinusBeta2) = Coefficients(beta2);
        int n = param.Length;
        ref float p = ref MemoryMarshal.GetReference(param);
        ref float g = ref MemoryMarshal.GetReference(grad);
        ref float m = ref MemoryMarshal.GetReference(expAvg);
        ref float v = ref MemoryMarshal.GetReference(expAvgSq);
        ref float vMax = ref MemoryMarshal.GetReference(maxExpAvgSq);
        int i = 0;

        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            var vScale = Vector512.Create(paramScale);
            var vWd = Vector512.Create(weightDecay);
            var vB1 = Vector512.Create(b1);
            var vB2 = Vector512.Create(b2);
            var v1B1 = Vector512.Create(oneMinusBeta1);
            var v1B2 = Vector512.Create(oneMinusBeta2);
            var vBc2 = Vector512.Create(biasCorrection2Sqrt);
            var vEps = Vector512.Create(eps);
            var vStep = Vector512.Create(stepSize);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var vp = Vector512.LoadUnsafe(ref p, (nuint)i) * vScale;
                var vg = Vector512.LoadUnsafe(ref g, (nuint)i) + vWd * vp;
                var vm = vB1 * Vector512.LoadUnsafe(ref m, (nuint)i) + v1B1 * vg;
                var vv = vB2 * Vector512.LoadUnsafe(ref v, (nuint)i) + v1B2 * vg * vg;
                vm.StoreUnsafe(ref m, (nuint)i);
                vv.StoreUnsafe(ref v, (nuint)i);
                if (amsgrad)
                {
                    vv = Vector512.Max(Vector512.LoadUnsafe(ref vMax, (nuint)i), vv);
                    vv.StoreUnsafe(ref vMax, (nuint)i);
                }
                var denom = Vector512.Sqrt(vv) / vBc2 + vEps;
                (vp - vStep * (vm / denom)).StoreUnsafe(ref p, (nuint)i);
            }
        }
        else if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var vScale = new Vector<float>(paramScale);
            var vWd = new Vector<float>(weightDecay);
            var vB1 = new Vector<float>(b1);
            var vB2 = new Vector<float>(b2);
            var v1B1 = new Vector<float>(oneMinusBeta1);
            var v1B2 = new Vector<float>(oneMinusBeta2);
            var vBc2 = new Vector<float>(biasCorrection2Sqrt);
            var vEps = new Vector<float>(eps);
            var vStep = new Vector<float>(stepSize);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var vp = Vector.LoadUnsafe(ref p, (nuint)i) * vScale;
                var vg = Vector.LoadUnsafe(ref g, (nuint)i) + vWd * vp;
                var vm = vB1 * Vector.LoadUnsafe(ref m, (nuint)i) + v1B1 * vg;
                var vv = vB2 * Vector.LoadUnsafe(ref v, (nuint)i) + v1B2 * vg * vg;
                vm.StoreUnsafe(ref m, (nuint)i);
                vv.StoreUnsafe(ref v, (nuint)i);
                if (amsgrad)
                {
                    vv = Vector.Max(Vector.LoadUnsafe(ref vMax, (nuint)i), vv);
                    vv.StoreUnsafe(ref vMax, (nuint)i);
                }
                var denom = Vector.SquareRoot(vv) / vBc2 + vEps;
                (vp - vStep * (vm / denom)).StoreUnsafe(ref p, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            float pi = Unsafe.Add(ref p, i) * paramScale;
            float gi = Unsafe.Add(ref g, i) + weightDecay * pi;
            float mi = b1 * Unsafe.Add(ref m, i) + oneMinusBeta1 * gi;
            float vi = b2 * Unsafe.Add(ref v, i) + oneMinusBeta2 * gi * gi;
            Unsafe.Add(ref m, i) = mi;
            Unsafe.Add(ref v, i) = vi;
            if (amsgrad)
            {
                vi = MathF.Max(Unsafe.Add(ref vMax, i), vi);
                Unsafe.Add(ref vMax, i) = vi;
            }
            float denom = MathF.Sqrt(vi) / biasCorrection2Sqrt + eps;
            Unsafe.Add(ref p, i) = pi - stepSize * (mi / denom);
        }
    }

    /// <summary>Plain-loop twin of <see cref="AdamStep"/>: the specification it is tested against.</summary>
    public static void AdamStepReference(Span<float> param, ReadOnlySpan<float> grad, Span<float> expAvg, Span<float> expAvgSq,
        Span<float> maxExpAvgSq, float stepSize, double beta1, double beta2, float eps, float weightDecay,
        float biasCorrection2Sqrt, float paramScale)
    {
        bool amsgrad = CheckAdam(param, grad, expAvg, expAvgSq, maxExpAvgSq, nameof(AdamStepReference));
        float b1 = (float)beta1, c1 = (float)(1 - beta1), b2 = (float)beta2, c2 = (float)(1 - beta2);
        for (int i = 0; i < param.Length; i++)
        {
            float p = param[i] * paramScale;
            float g = grad[i] + weightDecay * p;
            expAvg[i] = b1 * expAvg[i] + c1 * g;
            expAvgSq[i] = b2 * expAvgSq[i] + c2 * g * g;
            float v = expAvgSq[i];
            if (amsgrad)
            {
                maxExpAvgSq[i] = MathF.Max(maxExpAvgSq[i], v);
                v = maxExpAvgSq[i];
            }
            float denom = MathF.Sqrt(v) / biasCorrection2Sqrt + eps;
            param[i] = p - stepSize * (expAvg[i] / denom);
        }
    }

    // β and 1 − β as PyTorch gets them: 1 − β is formed in double before rounding to float. Forming it in float
    // from β = 0.999f would be off by 1.3e-5 relative, which is visible in v.
    private static (float Beta, float OneMinusBeta) Coefficients(double beta) => ((float)beta, (float)(1 - beta));

    // ---- argument checks ------------------------------------------------------------------------

    private static void CheckSgd(Span<float> param, ReadOnlySpan<float> grad, Span<float> momentumBuffer, float momentum, string op)
    {
        if (grad.Length != param.Length)
            throw new ArgumentException($"OptimizerKernels.{op}: grad has {grad.Length} elements, param has {param.Length}; they must match.", nameof(grad));
        if (momentum != 0 && momentumBuffer.Length != param.Length)
            throw new ArgumentException($"OptimizerKernels.{op}: momentumBuffer has {momentumBuffer.Length} elements, param has {param.Length}; they must match when momentum is {momentum}.", nameof(momentumBuffer));
    }

    private static bool CheckAdam(Span<float> param, ReadOnlySpan<float> grad, Span<float> expAvg, Span<float> expAvgSq, Span<float> maxExpAvgSq, string op)
    {
        int n = param.Length;
        if (grad.Length != n) throw new ArgumentException($"OptimizerKernels.{op}: grad has {grad.Length} elements, param has {n}; they must match.", nameof(grad));
        if (expAvg.Length != n) throw new ArgumentException($"OptimizerKernels.{op}: expAvg has {expAvg.Length} elements, param has {n}; they must match.", nameof(expAvg));
        if (expAvgSq.Length != n) throw new ArgumentException($"OptimizerKernels.{op}: expAvgSq has {expAvgSq.Length} elements, param has {n}; they must match.", nameof(expAvgSq));
        if (maxExpAvgSq.Length != 0 && maxExpAvgSq.Length != n)
            throw new ArgumentException($"OptimizerKernels.{op}: maxExpAvgSq has {maxExpAvgSq.Length} elements; expected {n} (AMSGrad) or 0.", nameof(maxExpAvgSq));
        // An empty parameter with an empty max buffer is trivially fine either way.
        return maxExpAvgSq.Length == n && n != 0;
    }
}
