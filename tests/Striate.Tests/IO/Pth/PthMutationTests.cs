using System.Buffers.Binary;
using Striate.Data;
using Striate.IO.Pth;

namespace Striate.Tests.IO.Pth;

/// <summary>
/// A small seeded mutation run over the fixtures: bit flips, interesting bytes and truncations anywhere, and (with
/// the CRC repaired, so that the pickle reader itself is reached) inside the zip archives' data.pkl. Every input
/// must load or be rejected with <see cref="PthFormatException"/>, without a large allocation. The seed of a
/// failing input is in the message, so it can be replayed.
/// </summary>
public sealed class PthMutationTests
{
    /// <summary>400 per file in the suite; <c>STRIATE_PTH_MUTATIONS=20000</c> for a deeper run.</summary>
    private static readonly int InputsPerFile =
        int.TryParse(Environment.GetEnvironmentVariable("STRIATE_PTH_MUTATIONS"), out int n) && n > 0 ? n : 400;
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'(', (byte)')', (byte)'t', (byte)'R', (byte)'Q', (byte)'}', (byte)'.', 0x8A, 0x95];

    [Theory]
    [InlineData("views.pth")]
    [InlineData("views_legacy.pth")]
    [InlineData("views_p1.pth")]
    [InlineData("views_p4.pth")]
    [InlineData("views_deflated.pth")]
    [InlineData("nested.pth")]
    [InlineData("evil_module_legacy.pth")]
    public void MutatedFilesLoadOrAreRejectedCleanly(string file)
    {
        var original = PthFixtures.Bytes(file);
        (int Start, int Length, int CrcAt)? pickle = null;
        if (original[0] == (byte)'P')
        {
            var zip = ZipDirectory.Read(ByteSource.FromMemory(original, file));
            var entry = zip.Entries.Single(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal));
            if (entry.Method == 0)
                pickle = ((int)zip.DataOffset(entry), (int)entry.Size, CentralCrcOffset(original, entry.Name));
        }
        long largest = 0;
        int loaded = 0;
        for (int seed = 0; seed < InputsPerFile; seed++)
        {
            var random = new Random(seed * 7919 + file.Length);
            var bytes = (byte[])original.Clone();
            int length = bytes.Length;
            bool inPickle = pickle != null && random.Next(3) > 0;
            var (start, span) = inPickle ? (pickle!.Value.Start, pickle.Value.Length) : (0, bytes.Length);
            int edits = 1 + random.Next(4);
            for (int k = 0; k < edits; k++)
            {
                int at = start + random.Next(span);
                switch (random.Next(3))
                {
                    case 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                    case 1: bytes[at] = Interesting[random.Next(Interesting.Length)]; break;
                    default: if (!inPickle) length = random.Next(bytes.Length); break;
                }
            }
            if (inPickle)
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(pickle!.Value.CrcAt), Crc32.Compute(bytes.AsSpan(start, span)));

            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                PthFile.Parse(bytes.AsMemory(0, length), file, key: file == "nested.pth" ? "model" : null);
                loaded++;
            }
            catch (PthFormatException)
            {
            }
            catch (Exception e)
            {
                Assert.Fail($"{file}, seed {seed} ({(inPickle ? "pickle" : "anywhere")}, {length} bytes): {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
            largest = Math.Max(largest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(largest < 16 << 20, $"{file}: a mutated input of {original.Length} bytes allocated {largest} bytes");
        Assert.True(loaded < InputsPerFile, $"{file}: every mutation loaded, so the mutations did not reach the reader");
    }

    private static int CentralCrcOffset(byte[] bytes, string name)
    {
        var needle = System.Text.Encoding.ASCII.GetBytes(name);
        for (int i = 0; i + 46 + needle.Length <= bytes.Length; i++)
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i)) == 0x02014b50 && bytes.AsSpan(i + 46, needle.Length).SequenceEqual(needle))
                return i + 16;
        throw new InvalidOperationException($"no central header for {name}");
    }
}
