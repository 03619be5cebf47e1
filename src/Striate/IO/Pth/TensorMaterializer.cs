using System.Runtime.InteropServices;
using Striate.Kernels;

namespace Striate.IO.Pth;

/// <summary>
/// Turns the picked tensors (views of storages: offset, size, stride) into contiguous <see cref="PthTensor"/>s. Each
/// storage is read once, however many tensors share it, and released after its last tensor is built; strided views
/// are gathered row by row, then converted from their dtype to float32 (and exact integers).
/// </summary>
internal static class TensorMaterializer
{
    /// <summary>
    /// Views that repeat elements (stride 0, overlapping strides) may make the tensors larger than their storages;
    /// beyond this many elements more than the storages hold, a file is refused rather than allowed to make the
    /// reader allocate far more than it contains.
    /// </summary>
    public const long ExpansionAllowance = 1 << 20;

    /// <summary>How many times each storage may be viewed over in all (tied weights are viewed twice).</summary>
    public const long RepeatFactor = 16;

    public static List<PthTensor> Build(PthContainer container, List<(string Name, TensorRef Tensor)> tensors, string source)
    {
        CheckBudget(container, tensors, source);
        var results = new PthTensor?[tensors.Count];
        var byStorage = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var order = new List<string>();
        for (int i = 0; i < tensors.Count; i++)
        {
            string root = tensors[i].Tensor.Storage.RootKey;
            if (!byStorage.TryGetValue(root, out var list)) { byStorage[root] = list = new List<int>(); order.Add(root); }
            list.Add(i);
        }
        foreach (var root in order)
        {
            var indices = byStorage[root];
            // An empty tensor needs none of its storage's bytes.
            byte[] bytes = indices.All(i => tensors[i].Tensor.Numel == 0) ? [] : container.ReadStorage(root);
            foreach (int i in indices) results[i] = BuildOne(tensors[i].Name, tensors[i].Tensor, bytes);
        }
        return results.Select(r => r!).ToList();
    }

    private static void CheckBudget(PthContainer container, List<(string Name, TensorRef Tensor)> tensors, string source)
    {
        long wanted = 0, held = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, t) in tensors)
        {
            wanted += t.Numel;
            if (seen.Add(t.Storage.RootKey)) held += container.RootNumel(t.Storage.RootKey);
        }
        long allowed = held > (long.MaxValue - ExpansionAllowance) / RepeatFactor ? long.MaxValue : held * RepeatFactor + ExpansionAllowance;
        if (wanted > allowed)
            throw new PthFormatException(source, null,
                $"its tensors have {wanted} elements in all but view storages of only {held}: views repeat elements (stride 0 or overlapping) " +
                $"beyond what Striate copies out ({RepeatFactor} times the storages plus {ExpansionAllowance} elements). Save t.contiguous() or t.clone() instead of expanded views");
    }

    private static PthTensor BuildOne(string name, TensorRef t, byte[] storage)
    {
        var dtype = t.Storage.Dtype;
        int size = PthDtypes.SizeOf(dtype);
        var shape = t.Size.Select(d => (int)d).ToArray();
        int numel = (int)t.Numel;
        long first = t.Storage.ViewOffset + t.Offset;

        ReadOnlySpan<byte> contiguous;
        if (numel == 0) contiguous = [];
        else if (IsContiguous(t.Size, t.Stride)) contiguous = storage.AsSpan(checked((int)(first * size)), numel * size);
        else
        {
            var gathered = new byte[(long)numel * size];
            Gather(storage, size, first, t.Size, t.Stride, gathered);
            contiguous = gathered;
        }

        var value = Tensor.AllocatePersistent(shape);
        long[]? integers = PthDtypes.IsFloatingPoint(dtype) ? null : new long[numel];
        Convert(dtype, contiguous, value.Span, integers);
        value.IsInteger = integers != null; // so every Striate writer stores it as I64 again
        return new PthTensor(name, dtype, value, integers);
    }

    /// <summary>Row-major strides, ignoring dimensions of size 1 (whose stride PyTorch does not normalize).</summary>
    private static bool IsContiguous(long[] size, long[] stride)
    {
        long expected = 1;
        for (int d = size.Length - 1; d >= 0; d--)
        {
            if (size[d] == 1) continue;
            if (stride[d] != expected) return false;
            expected *= size[d];
        }
        return true;
    }

    /// <summary>
    /// Copies a strided view into <paramref name="destination"/> row-major. The innermost dimension is copied as one run
    /// when its stride is 1; the others advance an index counter (no recursion, any rank).
    /// </summary>
    internal static void Gather(ReadOnlySpan<byte> storage, int elementSize, long first, long[] size, long[] stride, Span<byte> destination)
    {
        int rank = size.Length;
        int inner = rank == 0 ? 1 : (int)size[rank - 1];
        long innerStride = rank == 0 ? 1 : stride[rank - 1];
        int rows = inner == 0 ? 0 : destination.Length / elementSize / inner;
        Span<long> index = stackalloc long[Math.Max(rank - 1, 1)];
        index.Clear();
        long rowStart = first;
        int written = 0;
        for (int row = 0; row < rows; row++)
        {
            if (innerStride == 1)
            {
                storage.Slice((int)(rowStart * elementSize), inner * elementSize).CopyTo(destination.Slice(written, inner * elementSize));
                written += inner * elementSize;
            }
            else
            {
                long at = rowStart;
                for (int j = 0; j < inner; j++, at += innerStride, written += elementSize)
                    storage.Slice((int)(at * elementSize), elementSize).CopyTo(destination.Slice(written, elementSize));
            }
            // Advance the outer index (dimensions 0..rank-2) like an odometer.
            for (int d = rank - 2; d >= 0; d--)
            {
                rowStart += stride[d];
                if (++index[d] < size[d]) break;
                rowStart -= stride[d] * size[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>Contiguous little-endian elements of <paramref name="dtype"/> to float32 and, for integers, exact int64.</summary>
    internal static void Convert(PthDtype dtype, ReadOnlySpan<byte> bytes, Span<float> values, long[]? integers)
    {
        int n = values.Length;
        switch (dtype)
        {
            case PthDtype.F32: bytes.CopyTo(MemoryMarshal.AsBytes(values)); return;
            case PthDtype.F16: HalfConversion.HalfToSingle(MemoryMarshal.Cast<byte, ushort>(bytes), values); return;
            case PthDtype.BF16: HalfConversion.BFloat16ToSingle(MemoryMarshal.Cast<byte, ushort>(bytes), values); return;
            case PthDtype.F64:
                var f64 = MemoryMarshal.Cast<byte, double>(bytes);
                for (int i = 0; i < n; i++) values[i] = (float)f64[i];
                return;
        }
        var ints = integers!;
        switch (dtype)
        {
            case PthDtype.I64: MemoryMarshal.Cast<byte, long>(bytes).CopyTo(ints); break;
            case PthDtype.I32: { var s = MemoryMarshal.Cast<byte, int>(bytes); for (int i = 0; i < n; i++) ints[i] = s[i]; break; }
            case PthDtype.I16: { var s = MemoryMarshal.Cast<byte, short>(bytes); for (int i = 0; i < n; i++) ints[i] = s[i]; break; }
            case PthDtype.I8: for (int i = 0; i < n; i++) ints[i] = (sbyte)bytes[i]; break;
            case PthDtype.U8: for (int i = 0; i < n; i++) ints[i] = bytes[i]; break;
            case PthDtype.Bool: for (int i = 0; i < n; i++) ints[i] = bytes[i] != 0 ? 1 : 0; break;
        }
        for (int i = 0; i < n; i++) values[i] = ints[i];
    }
}
