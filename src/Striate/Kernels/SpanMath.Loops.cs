using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Striate.Kernels;

// The loops behind SpanMath's element-wise operations. Each runs the widest vectors that maxBits allows and the
// hardware accelerates, then one step of each narrower width, then scalar code: a 49-element plane (7×7) takes three
// 16-float vectors and one scalar element on AVX-512. maxBits lets the tests run every width on one machine.
internal static partial class SpanMath
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Binary<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination, int maxBits)
        where TOp : struct, IBinaryOperator
    {
        if (x.Length != y.Length) throw new ArgumentException($"SpanMath: the inputs have {x.Length} and {y.Length} elements; they must match.");
        CheckDestination(x, destination);
        CheckDestination(y, destination);
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pd = ref MemoryMarshal.GetReference(destination);
        if (maxBits >= 512 && Vector512.IsHardwareAccelerated)
            for (; i <= n - 16; i += 16) TOp.Apply(Vector512.LoadUnsafe(ref px, (nuint)i), Vector512.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 256 && Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8) TOp.Apply(Vector256.LoadUnsafe(ref px, (nuint)i), Vector256.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 128 && Vector128.IsHardwareAccelerated)
            for (; i <= n - 4; i += 4) TOp.Apply(Vector128.LoadUnsafe(ref px, (nuint)i), Vector128.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref pd, i) = TOp.Apply(Unsafe.Add(ref px, i), Unsafe.Add(ref py, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void BinaryScalar<TOp>(ReadOnlySpan<float> x, float y, Span<float> destination, int maxBits)
        where TOp : struct, IBinaryOperator
    {
        CheckDestination(x, destination);
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pd = ref MemoryMarshal.GetReference(destination);
        if (maxBits >= 512 && Vector512.IsHardwareAccelerated)
            for (var vy = Vector512.Create(y); i <= n - 16; i += 16) TOp.Apply(Vector512.LoadUnsafe(ref px, (nuint)i), vy).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 256 && Vector256.IsHardwareAccelerated)
            for (var vy = Vector256.Create(y); i <= n - 8; i += 8) TOp.Apply(Vector256.LoadUnsafe(ref px, (nuint)i), vy).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 128 && Vector128.IsHardwareAccelerated)
            for (var vy = Vector128.Create(y); i <= n - 4; i += 4) TOp.Apply(Vector128.LoadUnsafe(ref px, (nuint)i), vy).StoreUnsafe(ref pd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref pd, i) = TOp.Apply(Unsafe.Add(ref px, i), y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ScalarBinary<TOp>(float x, ReadOnlySpan<float> y, Span<float> destination, int maxBits)
        where TOp : struct, IBinaryOperator
    {
        CheckDestination(y, destination);
        int n = y.Length, i = 0;
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pd = ref MemoryMarshal.GetReference(destination);
        if (maxBits >= 512 && Vector512.IsHardwareAccelerated)
            for (var vx = Vector512.Create(x); i <= n - 16; i += 16) TOp.Apply(vx, Vector512.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 256 && Vector256.IsHardwareAccelerated)
            for (var vx = Vector256.Create(x); i <= n - 8; i += 8) TOp.Apply(vx, Vector256.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 128 && Vector128.IsHardwareAccelerated)
            for (var vx = Vector128.Create(x); i <= n - 4; i += 4) TOp.Apply(vx, Vector128.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref pd, i) = TOp.Apply(x, Unsafe.Add(ref py, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Unary<TOp>(ReadOnlySpan<float> x, Span<float> destination, int maxBits, TOp op = default)
        where TOp : struct, IUnaryOperator
    {
        CheckDestination(x, destination);
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pd = ref MemoryMarshal.GetReference(destination);
        if (maxBits >= 512 && Vector512.IsHardwareAccelerated)
            for (; i <= n - 16; i += 16) op.Apply(Vector512.LoadUnsafe(ref px, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 256 && Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8) op.Apply(Vector256.LoadUnsafe(ref px, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 128 && Vector128.IsHardwareAccelerated)
            for (; i <= n - 4; i += 4) op.Apply(Vector128.LoadUnsafe(ref px, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref pd, i) = op.Apply(Unsafe.Add(ref px, i));
    }

    internal static void PowScalarExponent(ReadOnlySpan<float> x, float y, Span<float> destination, int maxBits)
    {
        if (y == 0)
        {
            CheckDestination(x, destination);
            destination[..x.Length].Fill(1f); // pow(x, 0) = 1 for every x, NaN included
            return;
        }
        Unary(x, destination, maxBits, new PowOp(y));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void FusedMultiplyAdd(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> addend, Span<float> destination, int maxBits)
    {
        if (x.Length != y.Length || x.Length != addend.Length)
            throw new ArgumentException($"SpanMath.MultiplyAdd: the inputs have {x.Length}, {y.Length} and {addend.Length} elements; they must match.");
        CheckDestination(x, destination);
        CheckDestination(y, destination);
        CheckDestination(addend, destination);
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pa = ref MemoryMarshal.GetReference(addend);
        ref float pd = ref MemoryMarshal.GetReference(destination);
        if (maxBits >= 512 && Vector512.IsHardwareAccelerated)
            for (; i <= n - 16; i += 16)
                Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, (nuint)i), Vector512.LoadUnsafe(ref py, (nuint)i), Vector512.LoadUnsafe(ref pa, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 256 && Vector256.IsHardwareAccelerated)
            for (; i <= n - 8; i += 8)
                Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref px, (nuint)i), Vector256.LoadUnsafe(ref py, (nuint)i), Vector256.LoadUnsafe(ref pa, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 128 && Vector128.IsHardwareAccelerated)
            for (; i <= n - 4; i += 4)
                Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref px, (nuint)i), Vector128.LoadUnsafe(ref py, (nuint)i), Vector128.LoadUnsafe(ref pa, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref pd, i) = MathF.FusedMultiplyAdd(Unsafe.Add(ref px, i), Unsafe.Add(ref py, i), Unsafe.Add(ref pa, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void FusedMultiplyAdd(ReadOnlySpan<float> x, float y, ReadOnlySpan<float> addend, Span<float> destination, int maxBits)
    {
        if (x.Length != addend.Length)
            throw new ArgumentException($"SpanMath.MultiplyAdd: the inputs have {x.Length} and {addend.Length} elements; they must match.");
        CheckDestination(x, destination);
        CheckDestination(addend, destination);
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pa = ref MemoryMarshal.GetReference(addend);
        ref float pd = ref MemoryMarshal.GetReference(destination);
        if (maxBits >= 512 && Vector512.IsHardwareAccelerated)
            for (var vy = Vector512.Create(y); i <= n - 16; i += 16)
                Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, (nuint)i), vy, Vector512.LoadUnsafe(ref pa, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 256 && Vector256.IsHardwareAccelerated)
            for (var vy = Vector256.Create(y); i <= n - 8; i += 8)
                Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref px, (nuint)i), vy, Vector256.LoadUnsafe(ref pa, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        if (maxBits >= 128 && Vector128.IsHardwareAccelerated)
            for (var vy = Vector128.Create(y); i <= n - 4; i += 4)
                Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref px, (nuint)i), vy, Vector128.LoadUnsafe(ref pa, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref pd, i) = MathF.FusedMultiplyAdd(Unsafe.Add(ref px, i), y, Unsafe.Add(ref pa, i));
    }

    /// <summary>The destination holds every input element and, if it shares memory with an input, starts where it does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckDestination(ReadOnlySpan<float> input, ReadOnlySpan<float> destination)
    {
        if (destination.Length < input.Length)
            throw new ArgumentException($"SpanMath: the destination has {destination.Length} elements, the input {input.Length}; it must be at least as long.");
        if (input.Overlaps(destination, out int offset) && offset != 0)
            throw new ArgumentException($"SpanMath: the destination overlaps an input shifted by {offset} elements; it must be the same span or separate memory.");
    }
}
