using System.Runtime.Intrinsics;

namespace Striate.Kernels;

/// <summary>
/// Element-wise arithmetic, transcendental functions and reductions on float spans, on the BCL's own vectors
/// (Vector512/256/128 and their Exp/Log): what the core used to take from the System.Numerics.Tensors package,
/// so that the Striate assembly depends on nothing but .NET itself.
/// </summary>
/// <remarks>
/// Shapes: element i of every input maps to element i of the destination, which must be at least as long as
/// the inputs. The destination may be one of the inputs (in place); a partial overlap is rejected because a
/// forward loop over shifted memory would read values it has already written.
/// Every operation runs the widest accelerated vectors first, then narrower ones, then scalar code for the last
/// elements; the tests run each width (<c>maxBits</c> 512, 256, 128, 0) against the scalar definition.
/// Multiply-add is fused (one rounding) in every width, so all widths agree with the scalar tail.
/// </remarks>
internal static partial class SpanMath
{
    /// <summary>The widest vector width in bits that this process accelerates (0: scalar only).</summary>
    internal static readonly int WidestBits =
        Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 0;

    // ---- element-wise, two spans ----------------------------------------------------------------------

    public static void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination) => Binary<AddOp>(x, y, destination, WidestBits);
    public static void Subtract(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination) => Binary<SubtractOp>(x, y, destination, WidestBits);
    public static void Multiply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination) => Binary<MultiplyOp>(x, y, destination, WidestBits);
    public static void Divide(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination) => Binary<DivideOp>(x, y, destination, WidestBits);
    /// <summary>IEEE 754-2019 maximum: NaN propagates, max(−0, +0) = +0 (as torch.maximum).</summary>
    public static void Max(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination) => Binary<MaxOp>(x, y, destination, WidestBits);
    /// <summary>IEEE 754-2019 minimum: NaN propagates, min(−0, +0) = −0 (as torch.minimum).</summary>
    public static void Min(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination) => Binary<MinOp>(x, y, destination, WidestBits);

    // ---- element-wise, a span and a scalar -------------------------------------------------------------

    public static void Add(ReadOnlySpan<float> x, float y, Span<float> destination) => BinaryScalar<AddOp>(x, y, destination, WidestBits);
    public static void Subtract(ReadOnlySpan<float> x, float y, Span<float> destination) => BinaryScalar<SubtractOp>(x, y, destination, WidestBits);
    public static void Multiply(ReadOnlySpan<float> x, float y, Span<float> destination) => BinaryScalar<MultiplyOp>(x, y, destination, WidestBits);
    public static void Divide(ReadOnlySpan<float> x, float y, Span<float> destination) => BinaryScalar<DivideOp>(x, y, destination, WidestBits);
    /// <summary>max(x, y) per element with IEEE 754-2019 semantics; <c>Max(x, 0f, y)</c> is ReLU.</summary>
    public static void Max(ReadOnlySpan<float> x, float y, Span<float> destination) => BinaryScalar<MaxOp>(x, y, destination, WidestBits);
    /// <summary>destination = x − y with a scalar x.</summary>
    public static void Subtract(float x, ReadOnlySpan<float> y, Span<float> destination) => ScalarBinary<SubtractOp>(x, y, destination, WidestBits);
    /// <summary>destination = x / y with a scalar x.</summary>
    public static void Divide(float x, ReadOnlySpan<float> y, Span<float> destination) => ScalarBinary<DivideOp>(x, y, destination, WidestBits);

    /// <summary>destination = x · y + addend, fused.</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> addend, Span<float> destination)
        => FusedMultiplyAdd(x, y, addend, destination, WidestBits);
    /// <summary>destination = x · y + addend with a scalar y, fused (axpy when addend is the destination).</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> x, float y, ReadOnlySpan<float> addend, Span<float> destination)
        => FusedMultiplyAdd(x, y, addend, destination, WidestBits);

    // ---- element-wise, one span --------------------------------------------------------------------------

    public static void Negate(ReadOnlySpan<float> x, Span<float> destination) => Unary<NegateOp>(x, destination, WidestBits);
    public static void Reciprocal(ReadOnlySpan<float> x, Span<float> destination) => Unary<ReciprocalOp>(x, destination, WidestBits);
    /// <summary>eˣ, from the BCL's vector Exp (within about one ulp of <see cref="MathF.Exp"/>).</summary>
    public static void Exp(ReadOnlySpan<float> x, Span<float> destination) => Unary<ExpOp>(x, destination, WidestBits);
    /// <summary>ln x (NaN for x &lt; 0, −∞ at 0).</summary>
    public static void Log(ReadOnlySpan<float> x, Span<float> destination) => Unary<LogOp>(x, destination, WidestBits);
    /// <summary>1 / (1 + e⁻ˣ), computed in double so that it neither overflows nor loses the tails.</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> destination) => Unary<SigmoidOp>(x, destination, WidestBits);
    /// <summary>tanh x, computed in double from e^(−2|x|); x itself below 2⁻¹² where tanh x rounds to x.</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> destination) => Unary<TanhOp>(x, destination, WidestBits);
    /// <summary>xʸ for x ≥ 0 as e^(y·ln x) in double; a negative base goes through <see cref="MathF.Pow"/>.</summary>
    public static void Pow(ReadOnlySpan<float> x, float y, Span<float> destination) => PowScalarExponent(x, y, destination, WidestBits);

    // ---- reductions ----------------------------------------------------------------------------------------

    /// <summary>Σ x in float, over several vector accumulators (0 for an empty span).</summary>
    public static float Sum(ReadOnlySpan<float> x) => Sum(x, WidestBits);
    /// <summary>Σ x·y in float, fused multiply-adds over several vector accumulators.</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => Dot(x, y, WidestBits);
    /// <summary>The largest element (NaN if any element is NaN); an empty span is an error.</summary>
    public static float Max(ReadOnlySpan<float> x) => Max(x, WidestBits);
}
