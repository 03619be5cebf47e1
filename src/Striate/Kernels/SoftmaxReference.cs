namespace Striate.Kernels;

/// <summary>Plain twins of <see cref="Softmax"/>: one element at a time, in double.</summary>
public static class SoftmaxReference
{
    public static void Forward(int outer, int dim, int inner, ReadOnlySpan<float> x, Span<float> y) => Run(outer, dim, inner, x, y, false);
    public static void LogForward(int outer, int dim, int inner, ReadOnlySpan<float> x, Span<float> y) => Run(outer, dim, inner, x, y, true);

    private static void Run(int outer, int dim, int inner, ReadOnlySpan<float> x, Span<float> y, bool log)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int c = 0; c < dim; c++) max = Math.Max(max, x[(o * dim + c) * inner + i]);
                for (int c = 0; c < dim; c++) sum += Math.Exp(x[(o * dim + c) * inner + i] - max);
                for (int c = 0; c < dim; c++)
                {
                    int at = (o * dim + c) * inner + i;
                    y[at] = (float)(log ? x[at] - max - Math.Log(sum) : Math.Exp(x[at] - max) / sum);
                }
            }
    }

    public static void Backward(int outer, int dim, int inner, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double dot = 0;
                for (int c = 0; c < dim; c++) { int at = (o * dim + c) * inner + i; dot += (double)dy[at] * y[at]; }
                for (int c = 0; c < dim; c++) { int at = (o * dim + c) * inner + i; dx[at] = (float)(y[at] * (dy[at] - dot)); }
            }
    }

    public static void LogBackward(int outer, int dim, int inner, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double sum = 0;
                for (int c = 0; c < dim; c++) sum += dy[(o * dim + c) * inner + i];
                for (int c = 0; c < dim; c++) { int at = (o * dim + c) * inner + i; dx[at] = (float)(dy[at] - Math.Exp(y[at]) * sum); }
            }
    }
}
