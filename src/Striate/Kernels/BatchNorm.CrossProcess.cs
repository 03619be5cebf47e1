namespace Striate.Kernels;

/// <summary>
/// Batch normalization in phases whose per-channel sums can be added up across processes between the phases
/// (synchronized batch norm): the statistics of the whole batch are the sums of every process's part. With the sums
/// of one process, the phases compute exactly what <see cref="ForwardTraining"/> and <see cref="Backward"/> compute
/// (same formulas, same rounding); normalizing is <see cref="ForwardEval"/> with the batch's mean and variance.
/// </summary>
public static partial class BatchNorm
{
    /// <summary>Σx per channel over the N·S elements of each channel. Shapes: input [n, c, s]; sums [c].</summary>
    public static unsafe void ChannelSums(int n, int c, int s, ReadOnlySpan<float> input, Span<double> sums)
    {
        CheckPhase(n, c, s, input.Length, input.Length, sums.Length, nameof(ChannelSums));
        fixed (float* pIn = input) fixed (double* pSums = sums)
        {
            nint aIn = (nint)pIn, aSums = (nint)pSums;
            int total = input.Length;
            PlaneParallel.For(c, total, (c0, c1) =>
            {
                var x = new ReadOnlySpan<float>((float*)aIn, total);
                var result = new Span<double>((double*)aSums, c);
                for (int ch = c0; ch < c1; ch++)
                {
                    double sum = 0;
                    for (int b = 0; b < n; b++) sum += SliceSum(x.Slice((b * c + ch) * s, s));
                    result[ch] = sum;
                }
            });
        }
    }

    /// <summary>Σ(x − mean)² per channel (the second pass of the two-pass variance). Shapes: input [n, c, s]; mean, result [c].</summary>
    public static unsafe void ChannelSquaredDeviations(int n, int c, int s, ReadOnlySpan<float> input, ReadOnlySpan<float> mean, Span<double> result)
    {
        CheckPhase(n, c, s, input.Length, input.Length, Math.Min(mean.Length, result.Length), nameof(ChannelSquaredDeviations));
        fixed (float* pIn = input) fixed (float* pMean = mean) fixed (double* pResult = result)
        {
            nint aIn = (nint)pIn, aMean = (nint)pMean, aResult = (nint)pResult;
            int total = input.Length;
            PlaneParallel.For(c, total, (c0, c1) =>
            {
                var x = new ReadOnlySpan<float>((float*)aIn, total);
                var m = new ReadOnlySpan<float>((float*)aMean, c);
                var squares = new Span<double>((double*)aResult, c);
                for (int ch = c0; ch < c1; ch++)
                {
                    double sum = 0;
                    for (int b = 0; b < n; b++) sum += SumSquaredDeviation(x.Slice((b * c + ch) * s, s), m[ch]);
                    squares[ch] = sum;
                }
            });
        }
    }

    /// <summary>
    /// The sums backward needs: Σg and Σg·(x − mean) per channel (dBias = Σg; dWeight = invStd·Σg·(x − mean)).
    /// Shapes: input, gradOutput [n, c, s]; mean, sumG, sumGCentered [c].
    /// </summary>
    public static unsafe void BackwardSums(int n, int c, int s, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> mean,
        Span<double> sumG, Span<double> sumGCentered)
    {
        CheckPhase(n, c, s, input.Length, gradOutput.Length, Math.Min(mean.Length, Math.Min(sumG.Length, sumGCentered.Length)), nameof(BackwardSums));
        fixed (float* pIn = input) fixed (float* pGo = gradOutput) fixed (float* pMean = mean) fixed (double* pG = sumG) fixed (double* pGc = sumGCentered)
        {
            nint aIn = (nint)pIn, aGo = (nint)pGo, aMean = (nint)pMean, aG = (nint)pG, aGc = (nint)pGc;
            int total = input.Length;
            PlaneParallel.For(c, 2L * total, (c0, c1) =>
            {
                var x = new ReadOnlySpan<float>((float*)aIn, total);
                var g = new ReadOnlySpan<float>((float*)aGo, total);
                var m = new ReadOnlySpan<float>((float*)aMean, c);
                for (int ch = c0; ch < c1; ch++)
                {
                    double sum = 0, centered = 0;
                    for (int b = 0; b < n; b++)
                    {
                        int at = (b * c + ch) * s;
                        SumAndDotCentered(g.Slice(at, s), x.Slice(at, s), m[ch], out double sliceSum, out double sliceDot);
                        sum += sliceSum;
                        centered += sliceDot;
                    }
                    ((double*)aG)[ch] = sum;
                    ((double*)aGc)[ch] = centered;
                }
            });
        }
    }

    /// <summary>
    /// The input gradient of training-mode batch norm from sums over the whole batch of <paramref name="count"/>
    /// elements per channel: dx = w·invStd·(g − ΣG/M − x̂·Σg·x̂/M), x̂ = (x − mean)·invStd.
    /// Shapes: input, gradOutput, gradInput [n, c, s]; weight [c] or empty; mean, invStd, sumG, sumGCentered [c].
    /// </summary>
    public static unsafe void BackwardInput(int n, int c, int s, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<double> sumG, ReadOnlySpan<double> sumGCentered, double count, Span<float> gradInput)
    {
        CheckPhase(n, c, s, input.Length, gradOutput.Length, Math.Min(Math.Min(mean.Length, invStd.Length), Math.Min(sumG.Length, sumGCentered.Length)), nameof(BackwardInput));
        if (gradInput.Length != input.Length)
            throw new ArgumentException($"BatchNorm.BackwardInput: gradInput has {gradInput.Length} elements, expected {input.Length}.");
        if (weight.Length != 0 && weight.Length != c)
            throw new ArgumentException($"BatchNorm.BackwardInput: weight has {weight.Length} elements, expected {c} (or none).");
        fixed (float* pIn = input) fixed (float* pGo = gradOutput) fixed (float* pW = weight) fixed (float* pMean = mean) fixed (float* pIstd = invStd)
        fixed (double* pG = sumG) fixed (double* pGc = sumGCentered) fixed (float* pGi = gradInput)
        {
            nint aIn = (nint)pIn, aGo = (nint)pGo, aW = (nint)pW, aMean = (nint)pMean, aIstd = (nint)pIstd, aG = (nint)pG, aGc = (nint)pGc, aGi = (nint)pGi;
            int total = input.Length, wLen = weight.Length;
            PlaneParallel.For(c, 3L * total, (c0, c1) =>
            {
                var x = new ReadOnlySpan<float>((float*)aIn, total);
                var g = new ReadOnlySpan<float>((float*)aGo, total);
                var dx = new Span<float>((float*)aGi, total);
                for (int ch = c0; ch < c1; ch++)
                {
                    float m = ((float*)aMean)[ch], istd = ((float*)aIstd)[ch];
                    // The same roundings as BackwardChannels, so one process's sums give its result bit for bit.
                    float sumGXhat = (float)(((double*)aGc)[ch] * istd);
                    float k = (wLen == 0 ? 1f : ((float*)aW)[ch]) * istd;
                    float meanG = (float)(((double*)aG)[ch] / count);
                    float slope = (float)(-k * (double)istd * sumGXhat / count);
                    for (int b = 0; b < n; b++)
                    {
                        int at = (b * c + ch) * s;
                        AffineCombine(g.Slice(at, s), x.Slice(at, s), k, meanG, slope, m, dx.Slice(at, s));
                    }
                }
            });
        }
    }

    private static void CheckPhase(int n, int c, int s, int inputLength, int secondLength, int channelLength, string op)
    {
        int total = n * c * s;
        if (inputLength != total || secondLength != total)
            throw new ArgumentException($"BatchNorm.{op}: got {inputLength} and {secondLength} elements, expected {total} for [{n}, {c}, {s}].");
        if (channelLength < c)
            throw new ArgumentException($"BatchNorm.{op}: the per-channel spans hold {channelLength} elements, expected {c}.");
    }
}
