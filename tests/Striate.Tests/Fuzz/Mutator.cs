using System.Buffers.Binary;
using System.Text;

namespace Striate.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a valid file: bit flips, interesting bytes, interesting integers written over what may be a
/// length field (1, 2, 4 or 8 bytes, either byte order), small additions to such fields, truncation, chunk
/// duplication and deletion, random overwrites, and for files with a safetensors-style JSON header, edits of its JSON
/// tokens with the length prefix kept consistent. The same seed file and <see cref="Random"/> seed give the same input.
/// </summary>
internal static class Mutator
{
    private static readonly byte[] InterestingBytes =
        [0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0xFE, 0xFF, (byte)' ', (byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'-', (byte)'9', (byte)'e', (byte)'.', (byte)'(', (byte)'t'];

    private static readonly long[] InterestingIntegers =
    [
        0, 1, 2, 3, 4, 7, 8, 16, 32, 64, 127, 128, 255, 256, 1000, 1024, 4096, 20000, 65535, 65536, 1 << 20, 1 << 24,
        0x3FFFFFFF, 0x40000000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1L << 32, 1L << 40, long.MaxValue, long.MinValue, -1, -2, -128, -32768,
    ];

    private static readonly string[] JsonValues =
    [
        "0", "-1", "1", "3", "1e30", "-0", "0.5", "NaN", "null", "true", "[]", "{}", "[0,0]", "[1,2,3]", "[-1]", "[1e999]",
        "\"\"", "\"\\ud800\"", "\"\\udfff\"", "\"\\u0000\"", "\"F32\"", "\"F16\"", "\"BF16\"", "\"I64\"", "\"U8\"", "\"BOOL\"", "\"F64\"", "\"X9\"",
        "2147483648", "9223372036854775807", "9223372036854775808", "18446744073709551616", "4294967296", "[4294967296,1]",
        "\"striate-checkpoint-1\"", "\"lenet-relu\"", "\"d2l-vgg11\"", "\"1,28,28\"", "\"100000,1000,1000\"", "\"-1\"",
    ];

    /// <summary>One mutated copy of <paramref name="seed"/>: one to eight edits.</summary>
    public static byte[] Mutate(byte[] seed, Random random)
    {
        var data = new List<byte>(seed);
        int edits = random.Next(4) == 0 ? 2 + random.Next(7) : 1 + random.Next(2);
        for (int e = 0; e < edits; e++)
        {
            switch (random.Next(10))
            {
                case 0: BitFlip(data, random); break;
                case 1: InterestingByte(data, random); break;
                case 2: case 3: InterestingInteger(data, random); break;
                case 4: NudgeInteger(data, random); break;
                case 5: if (random.Next(3) == 0) Truncate(data, random); else BitFlip(data, random); break;
                case 6: DuplicateChunk(data, random); break;
                case 7: DeleteChunk(data, random); break;
                case 8: Overwrite(data, random); break;
                default: if (!JsonEdit(data, random)) InterestingInteger(data, random); break;
            }
        }
        return data.ToArray();
    }

    /// <summary>Headers sit at the start of every format here: half of the edits land in the first 256 bytes.</summary>
    private static int Position(List<byte> data, Random random) =>
        data.Count == 0 ? 0 : random.Next(2) == 0 ? random.Next(Math.Min(256, data.Count)) : random.Next(data.Count);

    private static void BitFlip(List<byte> data, Random random)
    {
        if (data.Count == 0) return;
        int at = Position(data, random);
        data[at] ^= (byte)(1 << random.Next(8));
    }

    private static void InterestingByte(List<byte> data, Random random)
    {
        if (data.Count == 0) return;
        data[Position(data, random)] = InterestingBytes[random.Next(InterestingBytes.Length)];
    }

    private static void InterestingInteger(List<byte> data, Random random)
    {
        int width = 1 << random.Next(4); // 1, 2, 4, 8 bytes
        if (data.Count < width) return;
        int at = Math.Min(Position(data, random), data.Count - width);
        if (random.Next(2) == 0) at &= ~(width - 1); // fields are usually aligned
        Write(data, at, width, InterestingIntegers[random.Next(InterestingIntegers.Length)], bigEndian: random.Next(2) == 0);
    }

    private static void NudgeInteger(List<byte> data, Random random)
    {
        int width = random.Next(2) == 0 ? 4 : 8;
        if (data.Count < width) return;
        int at = Math.Min(Position(data, random), data.Count - width) & ~3;
        bool bigEndian = random.Next(2) == 0;
        long value = Read(data, at, width, bigEndian) + (random.Next(2) == 0 ? 1 : -1) * (1L << random.Next(0, 12));
        Write(data, at, width, value, bigEndian);
    }

    private static void Truncate(List<byte> data, Random random)
    {
        if (data.Count == 0) return;
        int keep = random.Next(data.Count);
        data.RemoveRange(keep, data.Count - keep);
    }

    private static void DuplicateChunk(List<byte> data, Random random)
    {
        if (data.Count == 0 || data.Count > 1 << 22) return;
        int start = Position(data, random);
        int length = Math.Min(data.Count - start, 1 + random.Next(64));
        var chunk = data.GetRange(start, length);
        int copies = random.Next(8) == 0 ? 2 + random.Next(30) : 1;
        int at = random.Next(data.Count + 1);
        for (int c = 0; c < copies; c++) data.InsertRange(at, chunk);
    }

    private static void DeleteChunk(List<byte> data, Random random)
    {
        if (data.Count == 0) return;
        int start = Position(data, random);
        data.RemoveRange(start, Math.Min(data.Count - start, 1 + random.Next(32)));
    }

    private static void Overwrite(List<byte> data, Random random)
    {
        if (data.Count == 0) return;
        int start = Position(data, random);
        int length = Math.Min(data.Count - start, 1 + random.Next(16));
        for (int i = 0; i < length; i++) data[start + i] = (byte)random.Next(256);
    }

    /// <summary>
    /// For a safetensors-style file (8-byte little-endian length, then a JSON object): replaces one JSON token (a number,
    /// a string, a literal, or a bracket) with an interesting value, and in most cases fixes the length prefix so the
    /// edit reaches the JSON parser. Returns false when the data has no such header.
    /// </summary>
    private static bool JsonEdit(List<byte> data, Random random)
    {
        if (data.Count < 10 || data[8] != (byte)'{') return false;
        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(data.GetRange(0, 8).ToArray());
        if (declared < 2 || declared > (ulong)(data.Count - 8)) return false;
        int end = 8 + (int)declared;
        var tokens = Tokens(data, 8, end);
        if (tokens.Count == 0) return false;
        var (start, length) = tokens[random.Next(tokens.Count)];
        string replacement = random.Next(6) == 0 ? "" : JsonValues[random.Next(JsonValues.Length)];
        var bytes = Encoding.UTF8.GetBytes(replacement);
        data.RemoveRange(start, length);
        data.InsertRange(start, bytes);
        if (random.Next(5) > 0) Write(data, 0, 8, (long)declared + bytes.Length - length, bigEndian: false);
        return true;
    }

    /// <summary>Spans of JSON tokens in [from, to): strings (with quotes), numbers, literals and single brackets.</summary>
    private static List<(int Start, int Length)> Tokens(List<byte> data, int from, int to)
    {
        var tokens = new List<(int, int)>();
        for (int i = from; i < to;)
        {
            byte b = data[i];
            if (b == (byte)'"')
            {
                int j = i + 1;
                while (j < to && data[j] != (byte)'"') j += data[j] == (byte)'\\' ? 2 : 1;
                j = Math.Min(j + 1, to);
                tokens.Add((i, j - i));
                i = j;
            }
            else if (b is (byte)'-' or >= (byte)'0' and <= (byte)'9' or (byte)'t' or (byte)'f' or (byte)'n')
            {
                int j = i;
                while (j < to && data[j] is not ((byte)',' or (byte)']' or (byte)'}' or (byte)' ' or (byte)':')) j++;
                tokens.Add((i, j - i));
                i = j;
            }
            else
            {
                if (b is (byte)'[' or (byte)']' or (byte)'{' or (byte)'}') tokens.Add((i, 1));
                i++;
            }
        }
        return tokens;
    }

    private static long Read(List<byte> data, int at, int width, bool bigEndian)
    {
        long value = 0;
        for (int i = 0; i < width; i++)
        {
            int index = bigEndian ? at + i : at + width - 1 - i;
            value = (value << 8) | data[index];
        }
        return value;
    }

    private static void Write(List<byte> data, int at, int width, long value, bool bigEndian)
    {
        for (int i = 0; i < width; i++)
        {
            byte b = (byte)(value >> (8 * i));
            data[bigEndian ? at + width - 1 - i : at + i] = b;
        }
    }
}
