using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Striate.IO.Pth;

// Opcode arguments: fixed-size integers, length-prefixed strings and bytes (each length checked against what is left
// of the pickle before anything is allocated), and the newline-terminated text arguments of protocols 0 and 1
// (bounded in length, so that a hostile "number" of a million digits cannot make parsing quadratic).
internal sealed partial class PickleReader
{
    private const int MaxTextLine = 4096;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private int ReadU8()
    {
        int b = _in.ReadByte();
        return b >= 0 ? b : throw Truncated(1);
    }

    private int ReadU16()
    {
        Span<byte> b = stackalloc byte[2];
        return _in.TryRead(b) ? BinaryPrimitives.ReadUInt16LittleEndian(b) : throw Truncated(2);
    }

    private int ReadI32()
    {
        Span<byte> b = stackalloc byte[4];
        return _in.TryRead(b) ? BinaryPrimitives.ReadInt32LittleEndian(b) : throw Truncated(4);
    }

    private long ReadU32()
    {
        Span<byte> b = stackalloc byte[4];
        return _in.TryRead(b) ? BinaryPrimitives.ReadUInt32LittleEndian(b) : throw Truncated(4);
    }

    private ulong ReadU64()
    {
        Span<byte> b = stackalloc byte[8];
        return _in.TryRead(b) ? BinaryPrimitives.ReadUInt64LittleEndian(b) : throw Truncated(8);
    }

    private double ReadBinFloat()
    {
        Span<byte> b = stackalloc byte[8];
        return _in.TryRead(b) ? BinaryPrimitives.ReadDoubleBigEndian(b) : throw Truncated(8);
    }

    private PthFormatException Truncated(long needed) =>
        Error($"the opcode's argument needs {needed} bytes but only {_in.Remaining} remain; the pickle is truncated");

    /// <summary>A length field: non-negative and no larger than what is left of the pickle.</summary>
    private long ReadLength(long length, string opcode)
    {
        if (length < 0) throw Error($"{opcode} has a negative length {length}; the pickle is corrupt");
        if (length > _in.Remaining)
            throw Error($"{opcode} claims {length} bytes but only {_in.Remaining} remain in the pickle; it is truncated or corrupt");
        return length;
    }

    private long ReadLength(ulong length, string opcode) =>
        length > long.MaxValue ? throw Error($"{opcode} claims {length} bytes, more than any file holds; the pickle is corrupt")
            : ReadLength((long)length, opcode);

    private byte[] ReadBytes(long length, string opcode) =>
        _in.TryReadArray(ReadLength(length, opcode)) ?? throw Truncated(length);

    private string ReadUtf8(long length, string opcode)
    {
        var bytes = ReadBytes(length, opcode);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Error($"{opcode} holds {length} bytes that are not valid UTF-8; the pickle is corrupt");
        }
    }

    private static string Latin1(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>LONG1/LONG4: little-endian two's complement; a long when it fits.</summary>
    private object ReadLong(long length)
    {
        var bytes = ReadBytes(length, "LONG");
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }

    private string ReadTextLine(string opcode) =>
        _in.TryReadLine(MaxTextLine) ?? throw Error($"{opcode}'s text argument has no newline within {MaxTextLine} bytes; the pickle is truncated or corrupt");

    /// <summary>INT (protocol 0/1): a decimal, or "01"/"00" for True/False.</summary>
    private object ReadTextInt()
    {
        string text = ReadTextLine("INT");
        if (text == "01") return true;
        if (text == "00") return false;
        return ParseInteger(text, "INT");
    }

    /// <summary>LONG (protocol 0/1): a decimal with an optional trailing 'L'.</summary>
    private object ReadTextLong()
    {
        string text = ReadTextLine("LONG");
        return ParseInteger(text.EndsWith('L') ? text[..^1] : text, "LONG");
    }

    private object ParseInteger(string text, string opcode)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v)) return v;
        if (BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big)) return big;
        throw Error($"{opcode} argument '{Shorten(text)}' is not an integer; the pickle is corrupt");
    }

    private double ReadTextFloat()
    {
        string text = ReadTextLine("FLOAT");
        switch (text)
        {
            case "inf": return double.PositiveInfinity;
            case "-inf": return double.NegativeInfinity;
            case "nan": return double.NaN;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
            : throw Error($"FLOAT argument '{Shorten(text)}' is not a number; the pickle is corrupt");
    }

    private long ReadTextIndex(string opcode)
    {
        string text = ReadTextLine(opcode);
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v
            : throw Error($"{opcode} argument '{Shorten(text)}' is not a memo index; the pickle is corrupt");
    }

    private string ReadGlobalLine(string part)
    {
        string text = _in.TryReadLine(1024) ?? throw Error($"GLOBAL's {part} has no newline within 1024 bytes; the pickle is truncated or corrupt");
        return text;
    }

    private string GlobalPart(object? value, string part) => value switch
    {
        string s => s,
        _ => throw Error($"STACK_GLOBAL's {part} is {Describe(value)}, expected a string; the pickle is corrupt"),
    };

    /// <summary>UNICODE (protocol 0): Latin-1 text with \uXXXX and \UXXXXXXXX escapes (Python's raw-unicode-escape).</summary>
    private string ReadRawUnicodeEscape()
    {
        string text = ReadTextLine("UNICODE");
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            int digits = text[i] == '\\' && i + 1 < text.Length ? text[i + 1] switch { 'u' => 4, 'U' => 8, _ => 0 } : 0;
            if (digits == 0) { sb.Append(text[i]); continue; }
            if (i + 2 + digits > text.Length
                || !uint.TryParse(text.AsSpan(i + 2, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint code)
                || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
                throw Error("UNICODE holds a malformed \\u escape; the pickle is corrupt");
            sb.Append(char.ConvertFromUtf32((int)code));
            i += 1 + digits;
        }
        return sb.ToString();
    }

    /// <summary>STRING (protocol 0): a Python 2 str literal in quotes, with backslash escapes; decoded as Latin-1.</summary>
    private string ReadQuotedString()
    {
        string text = ReadTextLine("STRING");
        if (text.Length < 2 || text[0] != text[^1] || text[0] is not ('\'' or '"'))
            throw Error("STRING's argument is not a quoted string; the pickle is corrupt");
        var body = text.AsSpan(1, text.Length - 2);
        var sb = new StringBuilder(body.Length);
        for (int i = 0; i < body.Length; i++)
        {
            if (body[i] != '\\' || i + 1 == body.Length) { sb.Append(body[i]); continue; }
            char c = body[++i];
            switch (c)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case 'x' when i + 2 < body.Length && int.TryParse(body.Slice(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int hex):
                    sb.Append((char)hex); i += 2; break;
                case >= '0' and <= '7':
                    int value = 0, n = 0;
                    while (n < 3 && i < body.Length && body[i] is >= '0' and <= '7') { value = value * 8 + (body[i] - '0'); i++; n++; }
                    i--;
                    sb.Append((char)(value & 0xFF));
                    break;
                case '\\' or '\'' or '"': sb.Append(c); break;
                default: sb.Append('\\').Append(c); break; // Python keeps unknown escapes as written
            }
        }
        return sb.ToString();
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
