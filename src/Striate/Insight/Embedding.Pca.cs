namespace Striate.Insight;

public static partial class Embedding
{
    /// <summary>
    /// Projects the centred rows of <paramref name="features"/> [N, D] on their top two principal components → [N, 2].
    /// Subspace (block power) iteration on the covariance XᵀX/(N−1), applied as Xᵀ(XV) so D may be large, with a
    /// Rayleigh–Ritz step (Jacobi on the small projected matrix) to order the components; deterministic: fixed start
    /// vectors, and each component's sign chosen so its largest-magnitude entry is positive.
    /// </summary>
    public static float[] Pca2(float[] features, int n, int dim)
    {
        CheckMatrix(features, n, dim, "Embedding.Pca2");
        var x = new double[features.Length];
        for (int j = 0; j < dim; j++)
        {
            double m = 0;
            for (int i = 0; i < n; i++) m += features[i * dim + j];
            m /= Math.Max(n, 1);
            for (int i = 0; i < n; i++) x[i * dim + j] = features[i * dim + j] - m;
        }
        var components = TopComponents(x, n, dim, Math.Min(2, dim));
        var result = new float[n * 2];
        for (int c = 0; c < components.Length; c++)
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int j = 0; j < dim; j++) s += x[i * dim + j] * components[c][j];
                result[i * 2 + c] = (float)s;
            }
        return result;
    }

    /// <summary>The top <paramref name="wanted"/> eigenvectors of XᵀX (unit length, decreasing eigenvalue).</summary>
    private static double[][] TopComponents(double[] x, int n, int dim, int wanted)
    {
        int k = Math.Min(dim, wanted + 2); // two guard vectors speed convergence of the wanted pair
        var v = new double[k][];
        for (int c = 0; c < k; c++)
        {
            v[c] = new double[dim];
            for (int j = 0; j < dim; j++) v[c][j] = Math.Cos(0.7 + 1.3 * (c + 1) * (j + 1)) + (j % (c + 2) == 0 ? 0.5 : 0);
        }
        Orthonormalize(v);
        var xv = new double[n];
        for (int iteration = 0; iteration < 500; iteration++)
        {
            var next = new double[k][];
            for (int c = 0; c < k; c++) next[c] = ApplyCovariance(x, n, dim, v[c], xv);
            Orthonormalize(next);
            double change = 0;
            for (int c = 0; c < wanted; c++)
            {
                double dot = 0;
                for (int j = 0; j < dim; j++) dot += next[c][j] * v[c][j];
                change = Math.Max(change, 1 - Math.Abs(dot));
            }
            v = next;
            if (change < 1e-12 && iteration > 5) break;
        }
        // Rayleigh–Ritz: diagonalize VᵀCV (k×k) and rotate V so its columns are ordered eigenvectors.
        var cv = new double[k][];
        for (int c = 0; c < k; c++) cv[c] = ApplyCovariance(x, n, dim, v[c], xv);
        var b = new double[k, k];
        for (int r = 0; r < k; r++)
            for (int c = 0; c < k; c++)
            {
                double s = 0;
                for (int j = 0; j < dim; j++) s += v[r][j] * cv[c][j];
                b[r, c] = s;
            }
        var (values, vectors) = JacobiEigen(b);
        var order = Enumerable.Range(0, k).OrderByDescending(i => values[i]).ToArray();
        var result = new double[wanted][];
        for (int w = 0; w < wanted; w++)
        {
            var u = new double[dim];
            for (int r = 0; r < k; r++)
            {
                double coefficient = vectors[r, order[w]];
                for (int j = 0; j < dim; j++) u[j] += coefficient * v[r][j];
            }
            int largest = 0;
            for (int j = 1; j < dim; j++) if (Math.Abs(u[j]) > Math.Abs(u[largest])) largest = j;
            if (u[largest] < 0) for (int j = 0; j < dim; j++) u[j] = -u[j];
            result[w] = u;
        }
        return result;
    }

    /// <summary>Xᵀ(X v): the (unscaled) covariance times v without forming the D×D matrix.</summary>
    private static double[] ApplyCovariance(double[] x, int n, int dim, double[] v, double[] xv)
    {
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = 0; j < dim; j++) s += x[i * dim + j] * v[j];
            xv[i] = s;
        }
        var result = new double[dim];
        for (int i = 0; i < n; i++)
        {
            double s = xv[i];
            if (s == 0) continue;
            for (int j = 0; j < dim; j++) result[j] += s * x[i * dim + j];
        }
        return result;
    }

    /// <summary>Modified Gram–Schmidt; a vector that collapses (rank deficiency) is replaced by a unit axis not yet spanned.</summary>
    private static void Orthonormalize(double[][] v)
    {
        int dim = v[0].Length;
        for (int c = 0; c < v.Length; c++)
        {
            for (int attempt = 0; ; attempt++)
            {
                for (int p = 0; p < c; p++)
                {
                    double dot = 0;
                    for (int j = 0; j < dim; j++) dot += v[c][j] * v[p][j];
                    for (int j = 0; j < dim; j++) v[c][j] -= dot * v[p][j];
                }
                double norm = 0;
                for (int j = 0; j < dim; j++) norm += v[c][j] * v[c][j];
                norm = Math.Sqrt(norm);
                if (norm > 1e-150 || attempt >= dim) { for (int j = 0; j < dim; j++) v[c][j] = norm > 0 ? v[c][j] / norm : 0; break; }
                Array.Clear(v[c]);
                v[c][(c + attempt) % dim] = 1;
            }
        }
    }

    /// <summary>Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations: (eigenvalues, eigenvectors as columns).</summary>
    private static (double[] Values, double[,] Vectors) JacobiEigen(double[,] input)
    {
        int k = input.GetLength(0);
        var a = (double[,])input.Clone();
        var vectors = new double[k, k];
        for (int i = 0; i < k; i++) vectors[i, i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < k; p++) for (int q = p + 1; q < k; q++) off += a[p, q] * a[p, q];
            if (off < 1e-30) break;
            for (int p = 0; p < k; p++)
                for (int q = p + 1; q < k; q++)
                {
                    if (a[p, q] == 0) continue;
                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int r = 0; r < k; r++)
                    {
                        double arp = a[r, p], arq = a[r, q];
                        a[r, p] = c * arp - s * arq;
                        a[r, q] = s * arp + c * arq;
                    }
                    for (int r = 0; r < k; r++)
                    {
                        double apr = a[p, r], aqr = a[q, r];
                        a[p, r] = c * apr - s * aqr;
                        a[q, r] = s * apr + c * aqr;
                    }
                    for (int r = 0; r < k; r++)
                    {
                        double vrp = vectors[r, p], vrq = vectors[r, q];
                        vectors[r, p] = c * vrp - s * vrq;
                        vectors[r, q] = s * vrp + c * vrq;
                    }
                }
        }
        var values = new double[k];
        for (int i = 0; i < k; i++) values[i] = a[i, i];
        return (values, vectors);
    }
}
