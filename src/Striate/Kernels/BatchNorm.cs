using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Striate.Kernels;

/// <summary>
/// Batch normalization (Ioffe and Szegedy 2015) over a [N, C, S] view of the input (S = H·W for 2-d, L or 1
/// for 1-d): statistics are per channel over the N·S elements. An empty weight or bias span means none
/// (scale 1, shift 0); an empty gradient span means that gradient is not wanted.
/// </summary>
public static partial class BatchNorm
{
    /// <summary>
    /// Training-mode forward: normalizes with the batch mean and biased variance. Writes per channel
    /// <paramref name="mean"/>, <paramref name="variance"/> (biased) and <paramref name="invStd"/> = 1/√(var+eps).
    /// </summary>
    public static unsafe void ForwardTraining(int n, int c, int s, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        float eps, Span<float> output, Span<float> mean, Span<float> variance, Span<float> invStd)
    {
        // input, output: [n, c, s]; weight, bias, mean, variance, invStd: [c]
        Check(n, c, s, input.Length, output.Length, weight.Length, bias.Length, nameof(ForwardTraining));
        fixed (float* pIn = input) fixed (float* pW = weight) fixed (float* pB = bias) fixed (float* pOut = output)
        fixed (float* pMean = mean) fixed (float* pVar = variance) fixed (float* pIstd = invStd)
        {
            nint aIn = (nint)pIn, aW = (nint)pW, aB = (nint)pB, aOut = (nint)pOut, aMean = (nint)pMean, aVar = (nint)pVar, aIstd = (nint)pIstd;
            int total = input.Length, wLen = weight.Length, bLen = bias.Length;
            PlaneParallel.For(c, 3L * total, (c0, c1) =>
            {
                var x = new ReadOnlySpan<float>((float*)aIn, total);
                var m = new Span<float>((float*)aMean, c);
                var istd = new Span<float>((float*)aIstd, c);
                Statistics(n, c, s, x, eps, m, new Span<float>((float*)aVar, c), istd, c0, c1);
                Normalize(n, c, s, x, new ReadOnlySpan<float>((float*)aW, wLen), new ReadOnlySpan<float>((float*)aB, bLen), m, istd,
                    new Span<float>((float*)aOut, total), c0, c1);
            });
        }
    }

    private static void Statistics(int n, int c, int s, ReadOnlySpan<float> input, float eps, Span<float> mean, Span<float> variance, Span<float> invStd, int c0, int c1)
    {
        double count = (double)n * s;
        for (int ch = c0; ch < c1; ch++)
        {
            double sum = 0;
            for (int b = 0; b < n; b++) sum += SliceSum(input.Slice((b * c + ch) * s, s));
            float m = (float)(sum / count);
            // Two passes (mean, then squared deviations) avoid the cancellation of E[x²] − E[x]²; the second reads
            // the channel from cache. The cross-process statistics (SyncBatchNorm) make the same float operations.
            double squares = 0;
            for (int b = 0; b < n; b++) squares += SumSquaredDeviation(input.Slice((b * c + ch) * s, s), m);
            float v = (float)(squares / count);
            mean[ch] = m;
            variance[ch] = v;
            invStd[ch] = (float)(1.0 / Math.Sqrt(v + (double)eps));
        }
    }

    /// <summary>Eval-mode forward: normalizes with the running statistics.</summary>
    public static unsafe void ForwardEval(int n, int c, int s, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, float eps, Span<float> output)
    {
        // input, output: [n, c, s]; weight, bias, runningMean, runningVar: [c]
        Check(n, c, s, input.Length, output.Length, weight.Length, bias.Length, nameof(ForwardEval));
        float[] invStdArray = System.Buffers.ArrayPool<float>.Shared.Rent(c);
        InvStd(runningVar, eps, invStdArray.AsSpan(0, c));
        fixed (float* pIn = input) fixed (float* pW = weight) fixed (float* pB = bias) fixed (float* pOut = output) fixed (float* pMean = runningMean)
        {
            nint aIn = (nint)pIn, aW = (nint)pW, aB = (nint)pB, aOut = (nint)pOut, aMean = (nint)pMean;
            int total = input.Length, wLen = weight.Length, bLen = bias.Length;
            PlaneParallel.For(c, 2L * total, (c0, c1) =>
                Normalize(n, c, s, new ReadOnlySpan<float>((float*)aIn, total), new ReadOnlySpan<float>((float*)aW, wLen), new ReadOnlySpan<float>((float*)aB, bLen),
                    new ReadOnlySpan<float>((float*)aMean, c), invStdArray.AsSpan(0, c), new Span<float>((float*)aOut, total), c0, c1));
        }
        System.Buffers.ArrayPool<float>.Shared.Return(invStdArray);
    }

    /// <summary>
    /// Eval-mode batch norm folded into one multiply-add per channel, in double: scale = γ/√(var + eps),
    /// shift = β − mean·scale (γ = 1 and β = 0 when empty). The inference passes fold it into convolutions or a
    /// <see cref="ChannelAffine"/> step; DenseNet's feature list applies it straight.
    /// </summary>
    public static void FoldEval(ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        float eps, Span<double> scale, Span<double> shift)
    {
        for (int c = 0; c < mean.Length; c++)
        {
            scale[c] = (gamma.IsEmpty ? 1.0 : gamma[c]) / Math.Sqrt(variance[c] + (double)eps);
            shift[c] = (beta.IsEmpty ? 0.0 : beta[c]) - mean[c] * scale[c];
        }
    }

    /// <summary>1/√(var + eps) per channel (eval mode saves this for backward).</summary>
    public static void InvStd(ReadOnlySpan<float> variance, float eps, Span<float> invStd)
    {
        for (int ch = 0; ch < variance.Length; ch++) invStd[ch] = (float)(1.0 / Math.Sqrt(variance[ch] + (double)eps));
    }

    /// <summary>
    /// running ← (1 − momentum)·running + momentum·batch, with the variance made unbiased (× count/(count − 1))
    /// first, as PyTorch does; <paramref name="count"/> = N·S.
    /// </summary>
    public static void UpdateRunningStats(Span<float> runningMean, Span<float> runningVar, ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, float momentum, int count)
    {
        double correction = count > 1 ? (double)count / (count - 1) : 1.0;
        for (int ch = 0; ch < mean.Length; ch++)
        {
            runningMean[ch] = (float)((1 - momentum) * (double)runningMean[ch] + momentum * (double)mean[ch]);
            runningVar[ch] = (float)((1 - momentum) * (double)runningVar[ch] + momentum * variance[ch] * correction);
        }
    }

    /// <summary>
    /// Backward. With x̂ = (x − mean)·invStd: dBias = Σg, dWeight = Σg·x̂; in training (statistics depend on x)
    /// dx = w·invStd·(g − Σg/M − x̂·Σg·x̂/M), in eval dx = w·invStd·g.
    /// </summary>
    public static unsafe void Backward(int n, int c, int s, bool training, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, Span<float> gradInput, Span<float> gradWeight, Span<float> gradBias)
    {
        // input, gradOutput, gradInput: [n, c, s]; weight, mean, invStd, gradWeight, gradBias: [c]
        Check(n, c, s, input.Length, gradOutput.Length, weight.Length, 0, nameof(Backward));
        if (!gradInput.IsEmpty && gradInput.Length != input.Length)
            throw new ArgumentException($"BatchNorm.Backward: gradInput has {gradInput.Length} elements, expected {input.Length} (or none).");
        fixed (float* pIn = input) fixed (float* pGo = gradOutput) fixed (float* pW = weight) fixed (float* pMean = mean) fixed (float* pIstd = invStd)
        fixed (float* pGi = gradInput) fixed (float* pGw = gradWeight) fixed (float* pGb = gradBias)
        {
            nint aIn = (nint)pIn, aGo = (nint)pGo, aW = (nint)pW, aMean = (nint)pMean, aIstd = (nint)pIstd, aGi = (nint)pGi, aGw = (nint)pGw, aGb = (nint)pGb;
            int total = input.Length, wLen = weight.Length, giLen = gradInput.Length, gwLen = gradWeight.Length, gbLen = gradBias.Length;
            PlaneParallel.For(c, 3L * total, (c0, c1) =>
                BackwardChannels(n, c, s, training, new ReadOnlySpan<float>((float*)aIn, total), new ReadOnlySpan<float>((float*)aGo, total),
                    new ReadOnlySpan<float>((float*)aW, wLen), new ReadOnlySpan<float>((float*)aMean, c), new ReadOnlySpan<float>((float*)aIstd, c),
                    new Span<float>((float*)aGi, giLen), new Span<float>((float*)aGw, gwLen), new Span<float>((float*)aGb, gbLen), c0, c1));
        }
    }

    private static void BackwardChannels(int n, int c, int s, bool training, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, Span<float> gradInput, Span<float> gradWeight, Span<float> gradBias, int c0, int c1)
    {
        double count = (double)n * s;
        for (int ch = c0; ch < c1; ch++)
        {
            float m = mean[ch], istd = invStd[ch];
            double sumG = 0, sumGCentered = 0;
            for (int b = 0; b < n; b++)
            {
                int at = (b * c + ch) * s;
                SumAndDotCentered(gradOutput.Slice(at, s), input.Slice(at, s), m, out double sliceSum, out double sliceDot);
                sumG += sliceSum;
                sumGCentered += sliceDot;
            }
            float sumGXhat = (float)(sumGCentered * istd);
            if (!gradBias.IsEmpty) gradBias[ch] = (float)sumG;
            if (!gradWeight.IsEmpty) gradWeight[ch] = sumGXhat;
            if (gradInput.IsEmpty) continue;
            float w = weight.IsEmpty ? 1f : weight[ch];
            float k = w * istd;
            float meanG = training ? (float)(sumG / count) : 0f;
            float slope = training ? (float)(-k * (double)istd * sumGXhat / count) : 0f;
            // dx = k·(g − meanG) + slope·(x − mean)
            for (int b = 0; b < n; b++)
            {
                int at = (b * c + ch) * s;
                AffineCombine(gradOutput.Slice(at, s), input.Slice(at, s), k, meanG, slope, m, gradInput.Slice(at, s));
            }
        }
    }

    private static void Normalize(int n, int c, int s, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, Span<float> output, int c0, int c1)
    {
        for (int ch = c0; ch < c1; ch++)
        {
            float scale = (weight.IsEmpty ? 1f : weight[ch]) * invStd[ch];
            float shift = (bias.IsEmpty ? 0f : bias[ch]) - mean[ch] * scale;
            for (int b = 0; b < n; b++)
            {
                int at = (b * c + ch) * s;
                Elementwise.ScaleShift(input.Slice(at, s), scale, shift, output.Slice(at, s));
            }
        }
    }

    // Σx over one slice: vector lanes in float (two accumulators), the total in double. A plain loop: per call,
    // TensorPrimitives.Sum (which the core used then) cost more in dispatch and overlap checks than the sum on 7×7 and
    // 14×14 planes.
    private static double SliceSum(ReadOnlySpan<float> x)
    {
        int w = Vector<float>.Count, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        Vector<float> s0 = default, s1 = default;
        for (; i <= x.Length - 2 * w; i += 2 * w)
        {
            s0 += Vector.LoadUnsafe(ref px, (nuint)i);
            s1 += Vector.LoadUnsafe(ref px, (nuint)(i + w));
        }
        for (; i <= x.Length - w; i += w) s0 += Vector.LoadUnsafe(ref px, (nuint)i);
        double sum = Vector.Sum(s0 + s1);
        for (; i < x.Length; i++) sum += Unsafe.Add(ref px, i);
        return sum;
    }

    // Σg and Σg·(x − mean) over one slice in one read of g and x (backward's two reductions).
    private static void SumAndDotCentered(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float mean, out double sum, out double dot)
    {
        int w = Vector<float>.Count, i = 0;
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float px = ref MemoryMarshal.GetReference(x);
        var vm = new Vector<float>(mean);
        Vector<float> s0 = default, s1 = default, d0 = default, d1 = default;
        for (; i <= x.Length - 2 * w; i += 2 * w)
        {
            var g0 = Vector.LoadUnsafe(ref pg, (nuint)i);
            var g1 = Vector.LoadUnsafe(ref pg, (nuint)(i + w));
            s0 += g0; d0 += g0 * (Vector.LoadUnsafe(ref px, (nuint)i) - vm);
            s1 += g1; d1 += g1 * (Vector.LoadUnsafe(ref px, (nuint)(i + w)) - vm);
        }
        for (; i <= x.Length - w; i += w)
        {
            var g0 = Vector.LoadUnsafe(ref pg, (nuint)i);
            s0 += g0; d0 += g0 * (Vector.LoadUnsafe(ref px, (nuint)i) - vm);
        }
        sum = Vector.Sum(s0 + s1);
        dot = Vector.Sum(d0 + d1);
        for (; i < x.Length; i++) { float gi = Unsafe.Add(ref pg, i); sum += gi; dot += gi * (Unsafe.Add(ref px, i) - mean); }
    }

    // Σ(x − mean)² over one slice (the second pass of the cross-process two-pass variance).
    private static double SumSquaredDeviation(ReadOnlySpan<float> x, float mean)
    {
        var acc = Vector<float>.Zero;
        var vm = new Vector<float>(mean);
        int i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var d = Vector.LoadUnsafe(ref px, (nuint)i) - vm;
            acc += d * d;
        }
        double sum = Vector.Sum(acc);
        for (; i < x.Length; i++) { float d = x[i] - mean; sum += d * d; }
        return sum;
    }

    // dst = k·(g − meanG) + slope·(x − mean)
    private static void AffineCombine(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float k, float meanG, float slope, float mean, Span<float> dst)
    {
        int i = 0;
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pd = ref MemoryMarshal.GetReference(dst);
        var vk = new Vector<float>(k); var vmg = new Vector<float>(meanG); var vs = new Vector<float>(slope); var vm = new Vector<float>(mean);
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var r = vk * (Vector.LoadUnsafe(ref pg, (nuint)i) - vmg) + vs * (Vector.LoadUnsafe(ref px, (nuint)i) - vm);
            r.StoreUnsafe(ref pd, (nuint)i);
        }
        for (; i < x.Length; i++) Unsafe.Add(ref pd, i) = k * (g[i] - meanG) + slope * (x[i] - mean);
    }

    private static void Check(int n, int c, int s, int inputLength, int outputLength, int weightLength, int biasLength, string op)
    {
        int total = n * c * s;
        if (inputLength != total || outputLength != total)
            throw new ArgumentException($"BatchNorm.{op}: got {inputLength} and {outputLength} elements, expected {total} for [{n}, {c}, {s}].");
        if ((weightLength != 0 && weightLength != c) || (biasLength != 0 && biasLength != c))
            throw new ArgumentException($"BatchNorm.{op}: weight has {weightLength} and bias {biasLength} elements, expected {c} (or none).");
    }
}
