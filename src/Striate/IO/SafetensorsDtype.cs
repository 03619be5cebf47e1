namespace Striate.IO;

/// <summary>Element types of a safetensors file, spelled as in its header ("F32", "BF16", …).</summary>
public enum SafetensorsDtype
{
    /// <summary>IEEE 754 binary32.</summary>
    F32,
    /// <summary>IEEE 754 binary16 (<see cref="System.Half"/>).</summary>
    F16,
    /// <summary>bfloat16: the upper 16 bits of a binary32.</summary>
    BF16,
    /// <summary>IEEE 754 binary64 (read only).</summary>
    F64,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>Signed 32-bit integer (read only).</summary>
    I32,
    /// <summary>Signed 16-bit integer (read only).</summary>
    I16,
    /// <summary>Signed 8-bit integer (read only).</summary>
    I8,
    /// <summary>Unsigned 8-bit integer (read only).</summary>
    U8,
    /// <summary>One byte per element, 0 or 1 (read only).</summary>
    BOOL,
}

/// <summary>Sizes and header spellings of <see cref="SafetensorsDtype"/>.</summary>
public static class SafetensorsDtypes
{
    /// <summary>The header spellings this library reads, for error messages.</summary>
    public static string Supported => "F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL";

    /// <summary>Bytes per element.</summary>
    public static int SizeOf(SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.F64 or SafetensorsDtype.I64 => 8,
        SafetensorsDtype.F32 or SafetensorsDtype.I32 => 4,
        SafetensorsDtype.F16 or SafetensorsDtype.BF16 or SafetensorsDtype.I16 => 2,
        SafetensorsDtype.I8 or SafetensorsDtype.U8 or SafetensorsDtype.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    /// <summary>True for the floating-point dtypes.</summary>
    public static bool IsFloat(SafetensorsDtype dtype) =>
        dtype is SafetensorsDtype.F32 or SafetensorsDtype.F16 or SafetensorsDtype.BF16 or SafetensorsDtype.F64;

    /// <summary>The header spelling, e.g. "BF16".</summary>
    public static string ToHeaderString(SafetensorsDtype dtype) => dtype.ToString();

    /// <summary>Parses a header spelling (case-sensitive, as the format requires).</summary>
    public static bool TryParse(string? text, out SafetensorsDtype dtype)
    {
        switch (text)
        {
            case "F32": dtype = SafetensorsDtype.F32; return true;
            case "F16": dtype = SafetensorsDtype.F16; return true;
            case "BF16": dtype = SafetensorsDtype.BF16; return true;
            case "F64": dtype = SafetensorsDtype.F64; return true;
            case "I64": dtype = SafetensorsDtype.I64; return true;
            case "I32": dtype = SafetensorsDtype.I32; return true;
            case "I16": dtype = SafetensorsDtype.I16; return true;
            case "I8": dtype = SafetensorsDtype.I8; return true;
            case "U8": dtype = SafetensorsDtype.U8; return true;
            case "BOOL": dtype = SafetensorsDtype.BOOL; return true;
            default: dtype = default; return false;
        }
    }
}
