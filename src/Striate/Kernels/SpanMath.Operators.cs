using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>One element-wise function in every width: the generic loops in <see cref="SpanMath"/> inline it.</summary>
/// <remarks>Instance methods so that an operator can carry a parameter (the exponent of a power).</remarks>
internal interface IUnaryOperator
{
    float Apply(float x);
    Vector128<float> Apply(Vector128<float> x);
    Vector256<float> Apply(Vector256<float> x);
    Vector512<float> Apply(Vector512<float> x);
}

/// <summary>One element-wise function of two operands in every width.</summary>
internal interface IBinaryOperator
{
    static abstract float Apply(float x, float y);
    static abstract Vector128<float> Apply(Vector128<float> x, Vector128<float> y);
    static abstract Vector256<float> Apply(Vector256<float> x, Vector256<float> y);
    static abstract Vector512<float> Apply(Vector512<float> x, Vector512<float> y);
}

internal static partial class SpanMath
{
    internal readonly struct AddOp : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Apply(float x, float y) => x + y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Apply(Vector128<float> x, Vector128<float> y) => x + y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Apply(Vector256<float> x, Vector256<float> y) => x + y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Apply(Vector512<float> x, Vector512<float> y) => x + y;
    }

    internal readonly struct SubtractOp : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Apply(float x, float y) => x - y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Apply(Vector128<float> x, Vector128<float> y) => x - y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Apply(Vector256<float> x, Vector256<float> y) => x - y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Apply(Vector512<float> x, Vector512<float> y) => x - y;
    }

    internal readonly struct MultiplyOp : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Apply(float x, float y) => x * y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Apply(Vector128<float> x, Vector128<float> y) => x * y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Apply(Vector256<float> x, Vector256<float> y) => x * y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Apply(Vector512<float> x, Vector512<float> y) => x * y;
    }

    internal readonly struct DivideOp : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Apply(float x, float y) => x / y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Apply(Vector128<float> x, Vector128<float> y) => x / y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Apply(Vector256<float> x, Vector256<float> y) => x / y;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Apply(Vector512<float> x, Vector512<float> y) => x / y;
    }

    // Vector*.Max/Min and MathF.Max/Min all implement IEEE 754-2019 maximum/minimum since .NET 9, so every width agrees
    // on NaN and signed zeros (the hardware maxps alone would return the second operand for NaN).
    internal readonly struct MaxOp : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Apply(float x, float y) => MathF.Max(x, y);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Apply(Vector128<float> x, Vector128<float> y) => Vector128.Max(x, y);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Apply(Vector256<float> x, Vector256<float> y) => Vector256.Max(x, y);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Apply(Vector512<float> x, Vector512<float> y) => Vector512.Max(x, y);
    }

    internal readonly struct MinOp : IBinaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Apply(float x, float y) => MathF.Min(x, y);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Apply(Vector128<float> x, Vector128<float> y) => Vector128.Min(x, y);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Apply(Vector256<float> x, Vector256<float> y) => Vector256.Min(x, y);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Apply(Vector512<float> x, Vector512<float> y) => Vector512.Min(x, y);
    }

    internal readonly struct NegateOp : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float x) => -x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector128<float> Apply(Vector128<float> x) => -x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> x) => -x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> x) => -x;
    }

    internal readonly struct ReciprocalOp : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float x) => 1f / x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector128<float> Apply(Vector128<float> x) => Vector128<float>.One / x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> x) => Vector256<float>.One / x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> x) => Vector512<float>.One / x;
    }

    internal readonly struct ExpOp : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float x) => MathF.Exp(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector128<float> Apply(Vector128<float> x) => Vector128.Exp(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> x) => Vector256.Exp(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> x) => Vector512.Exp(x);
    }

    internal readonly struct LogOp : IUnaryOperator
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public float Apply(float x) => MathF.Log(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector128<float> Apply(Vector128<float> x) => Vector128.Log(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector256<float> Apply(Vector256<float> x) => Vector256.Log(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public Vector512<float> Apply(Vector512<float> x) => Vector512.Log(x);
    }

    // The double-precision operators widen each float vector into two double vectors and narrow the result back:
    // the float result is then within half an ulp of the true value almost always, whatever the width.

    /// <summary>1 / (1 + e⁻ˣ) in double: e⁻ˣ overflows float for x &lt; −88 while the answer is still a normal float.</summary>
    internal readonly struct SigmoidOp : IUnaryOperator
    {
        public float Apply(float x) => (float)(1.0 / (1.0 + Math.Exp(-(double)x)));
        public Vector128<float> Apply(Vector128<float> x) { var (lo, hi) = Vector128.Widen(x); return Vector128.Narrow(F(lo), F(hi)); }
        public Vector256<float> Apply(Vector256<float> x) { var (lo, hi) = Vector256.Widen(x); return Vector256.Narrow(F(lo), F(hi)); }
        public Vector512<float> Apply(Vector512<float> x) { var (lo, hi) = Vector512.Widen(x); return Vector512.Narrow(F(lo), F(hi)); }
        private static Vector128<double> F(Vector128<double> x) => Vector128<double>.One / (Vector128<double>.One + Vector128.Exp(-x));
        private static Vector256<double> F(Vector256<double> x) => Vector256<double>.One / (Vector256<double>.One + Vector256.Exp(-x));
        private static Vector512<double> F(Vector512<double> x) => Vector512<double>.One / (Vector512<double>.One + Vector512.Exp(-x));
    }

    /// <summary>
    /// tanh x = sign(x)·(1 − t)/(1 + t) with t = e^(−2|x|), in double; below 2⁻¹² tanh x rounds to x in float, and
    /// returning x there also avoids the cancellation in 1 − t.
    /// </summary>
    internal readonly struct TanhOp : IUnaryOperator
    {
        private const double Tiny = 1.0 / 4096;

        public float Apply(float x)
        {
            double a = Math.Abs((double)x);
            if (a < Tiny) return x;
            double t = Math.Exp(-2 * a);
            return (float)Math.CopySign((1 - t) / (1 + t), x);
        }

        public Vector128<float> Apply(Vector128<float> x) { var (lo, hi) = Vector128.Widen(x); return Vector128.Narrow(F(lo), F(hi)); }
        public Vector256<float> Apply(Vector256<float> x) { var (lo, hi) = Vector256.Widen(x); return Vector256.Narrow(F(lo), F(hi)); }
        public Vector512<float> Apply(Vector512<float> x) { var (lo, hi) = Vector512.Widen(x); return Vector512.Narrow(F(lo), F(hi)); }

        private static Vector128<double> F(Vector128<double> x)
        {
            var a = Vector128.Abs(x);
            var t = Vector128.Exp(a * -2.0);
            var r = Vector128.CopySign((Vector128<double>.One - t) / (Vector128<double>.One + t), x);
            return Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128.Create(Tiny)), x, r);
        }

        private static Vector256<double> F(Vector256<double> x)
        {
            var a = Vector256.Abs(x);
            var t = Vector256.Exp(a * -2.0);
            var r = Vector256.CopySign((Vector256<double>.One - t) / (Vector256<double>.One + t), x);
            return Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(Tiny)), x, r);
        }

        private static Vector512<double> F(Vector512<double> x)
        {
            var a = Vector512.Abs(x);
            var t = Vector512.Exp(a * -2.0);
            var r = Vector512.CopySign((Vector512<double>.One - t) / (Vector512<double>.One + t), x);
            return Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(Tiny)), x, r);
        }
    }

    /// <summary>
    /// xʸ = e^(y·ln x) in double for x ≥ 0 (0ʸ gives 0 or +∞ by the sign of y, as pow does); vectors holding a
    /// negative base, where the answer depends on whether y is an integer, go lane by lane through MathF.Pow.
    /// The caller handles y = 0 (1 everywhere, NaN included), where y·ln 0 would be NaN.
    /// </summary>
    internal readonly struct PowOp(float exponent) : IUnaryOperator
    {
        private readonly double _y = exponent;

        public float Apply(float x) => x < 0 ? MathF.Pow(x, (float)_y) : (float)Math.Exp(_y * Math.Log(x));

        public Vector128<float> Apply(Vector128<float> x)
        {
            if (Vector128.LessThanAny(x, Vector128<float>.Zero)) return LaneByLane(x);
            var (lo, hi) = Vector128.Widen(x);
            return Vector128.Narrow(Vector128.Exp(Vector128.Log(lo) * _y), Vector128.Exp(Vector128.Log(hi) * _y));
        }

        public Vector256<float> Apply(Vector256<float> x)
        {
            if (Vector256.LessThanAny(x, Vector256<float>.Zero)) return Vector256.Create(LaneByLane(x.GetLower()), LaneByLane(x.GetUpper()));
            var (lo, hi) = Vector256.Widen(x);
            return Vector256.Narrow(Vector256.Exp(Vector256.Log(lo) * _y), Vector256.Exp(Vector256.Log(hi) * _y));
        }

        public Vector512<float> Apply(Vector512<float> x)
        {
            if (Vector512.LessThanAny(x, Vector512<float>.Zero)) return Vector512.Create(Apply(x.GetLower()), Apply(x.GetUpper()));
            var (lo, hi) = Vector512.Widen(x);
            return Vector512.Narrow(Vector512.Exp(Vector512.Log(lo) * _y), Vector512.Exp(Vector512.Log(hi) * _y));
        }

        private Vector128<float> LaneByLane(Vector128<float> x)
            => Vector128.Create(Apply(x.GetElement(0)), Apply(x.GetElement(1)), Apply(x.GetElement(2)), Apply(x.GetElement(3)));
    }
}
