namespace Striate.IO.Pth;

/// <summary>Element types of the tensors a <c>.pth</c> file can hold that Striate reads (PyTorch's storage classes).</summary>
public enum PthDtype
{
    /// <summary><c>torch.float32</c> (<c>FloatStorage</c>).</summary>
    F32,
    /// <summary><c>torch.float64</c> (<c>DoubleStorage</c>); read as float32, rounded to nearest.</summary>
    F64,
    /// <summary><c>torch.float16</c> (<c>HalfStorage</c>).</summary>
    F16,
    /// <summary><c>torch.bfloat16</c> (<c>BFloat16Storage</c>).</summary>
    BF16,
    /// <summary><c>torch.int64</c> (<c>LongStorage</c>), e.g. batch norm's <c>num_batches_tracked</c>.</summary>
    I64,
    /// <summary><c>torch.int32</c> (<c>IntStorage</c>).</summary>
    I32,
    /// <summary><c>torch.int16</c> (<c>ShortStorage</c>).</summary>
    I16,
    /// <summary><c>torch.int8</c> (<c>CharStorage</c>).</summary>
    I8,
    /// <summary><c>torch.uint8</c> (<c>ByteStorage</c>).</summary>
    U8,
    /// <summary><c>torch.bool</c> (<c>BoolStorage</c>), one byte per element.</summary>
    Bool,
}

/// <summary>Sizes and PyTorch storage-class names of <see cref="PthDtype"/>.</summary>
public static class PthDtypes
{
    private static readonly (string Storage, PthDtype Dtype)[] StorageClasses =
    [
        ("FloatStorage", PthDtype.F32), ("DoubleStorage", PthDtype.F64), ("HalfStorage", PthDtype.F16),
        ("BFloat16Storage", PthDtype.BF16), ("LongStorage", PthDtype.I64), ("IntStorage", PthDtype.I32),
        ("ShortStorage", PthDtype.I16), ("CharStorage", PthDtype.I8), ("ByteStorage", PthDtype.U8),
        ("BoolStorage", PthDtype.Bool),
    ];

    /// <summary>The storage classes the reader accepts, for error messages.</summary>
    public static string SupportedStorageClasses => string.Join(", ", StorageClasses.Select(s => "torch." + s.Storage));

    /// <summary>Bytes per element.</summary>
    public static int SizeOf(PthDtype dtype) => dtype switch
    {
        PthDtype.F64 or PthDtype.I64 => 8,
        PthDtype.F32 or PthDtype.I32 => 4,
        PthDtype.F16 or PthDtype.BF16 or PthDtype.I16 => 2,
        _ => 1,
    };

    /// <summary>True for the floating-point dtypes (read as float32); false for integers and bool.</summary>
    public static bool IsFloatingPoint(PthDtype dtype) => dtype is PthDtype.F32 or PthDtype.F64 or PthDtype.F16 or PthDtype.BF16;

    /// <summary>
    /// The dtype of a storage class as a pickle names it: <c>torch.FloatStorage</c>, …, and the same classes under
    /// <c>torch.cuda</c>, which files saved from a GPU before PyTorch 1.6 name (the bytes on disk are the same).
    /// </summary>
    internal static bool TryFromStorageClass(string module, string name, out PthDtype dtype)
    {
        dtype = default;
        if (module is not ("torch" or "torch.cuda")) return false;
        foreach (var (storage, d) in StorageClasses)
            if (storage == name) { dtype = d; return true; }
        return false;
    }

    /// <summary>The storage class name, e.g. "FloatStorage".</summary>
    internal static string StorageClassName(PthDtype dtype) => StorageClasses.First(s => s.Dtype == dtype).Storage;
}
