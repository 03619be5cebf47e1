using System.Buffers.Binary;
using Striate.IO.Pth;

namespace Striate.Tests.IO.Pth;

/// <summary>
/// Truncated, corrupt and lying inputs: each is one <see cref="PthFormatException"/> naming the file, the place and
/// what was expected — never another exception, and never an allocation the file's own size does not justify.
/// </summary>
public sealed class PthMalformedTests
{
    private static PthFormatException Rejects(byte[] bytes, string expected, string? key = null)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsAny<PthFormatException>(() => PthFile.Parse(bytes, "bad.pth", key));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"expected '{expected}' in: {e.Message}");
        Assert.StartsWith("bad.pth: ", e.Message);
        Assert.True(allocated < 4 << 20, $"rejecting {bytes.Length} bytes allocated {allocated} bytes");
        return e;
    }

    [Fact]
    public void AHandmadeArchiveLoads()
    {
        // The builder itself is right: the same geometry with a valid storage gives the values.
        var pth = PthFile.Parse(HandmadePth.OneTensor(4, 0, [2, 2], [1, 2]), "good.pth");
        Assert.Equal([1f, 3, 2, 4], pth["w"].Value.ToArray());
    }

    [Theory]
    [InlineData("views.pth")]
    [InlineData("views_legacy.pth")]
    [InlineData("views_deflated.pth")]
    [InlineData("views_zip64.pth")]
    public void EveryTruncationIsRejected(string file)
    {
        var bytes = PthFixtures.Bytes(file);
        for (int length = 0; length < bytes.Length; length++)
        {
            try
            {
                PthFile.Parse(bytes.AsMemory(0, length), "cut.pth");
                Assert.Fail($"{file} cut to {length} of {bytes.Length} bytes loaded");
            }
            catch (PthFormatException)
            {
            }
        }
    }

    [Fact]
    public void ACorruptStorageFailsItsCrc()
    {
        var bytes = PthFixtures.Bytes("views.pth");
        var (offset, entry) = DataOffset(bytes, "views/data/0");
        bytes[offset + 3] ^= 0x40;
        var e = Rejects(bytes, "zip entry 'views/data/0': its CRC-32 is 0x");
        Assert.Contains($"but the central directory says 0x{entry.Crc32:x8}; the entry is corrupt", e.Message);
    }

    [Fact]
    public void ACorruptPickleFailsItsCrc()
    {
        var bytes = PthFixtures.Bytes("views.pth");
        var (offset, _) = DataOffset(bytes, "views/data.pkl");
        bytes[offset + 40] ^= 1;
        Rejects(bytes, "zip entry 'views/data.pkl': its CRC-32 is");
    }

    [Fact]
    public void AnUnknownOpcodeIsNamedWithItsOffset()
    {
        var pickle = new PickleBuilder().Op('}').Op(0xff).Op('.').ToArray();
        var e = Rejects(HandmadePth.Zip(pickle), "archive/data.pkl at byte 3: unknown pickle opcode 0xff");
        Assert.Equal("archive/data.pkl at byte 3", e.Where);
    }

    [Fact]
    public void HugeLengthsAreRejectedBeforeAllocating()
    {
        Rejects(HandmadePth.Zip(new PickleBuilder().Op('X').U32(0xFFFFFFF0).Op('.').ToArray()),
            "BINUNICODE claims 4294967280 bytes but only 1 remain in the pickle");
        Rejects(HandmadePth.Zip(new PickleBuilder().Op(0x8e).U64(1UL << 62).Op('.').ToArray()),
            $"BINBYTES8 claims {1L << 62} bytes but only 1 remain");
        Rejects(HandmadePth.Zip(new PickleBuilder().Op(0x8d).U64(ulong.MaxValue).Op('.').ToArray()),
            "BINUNICODE8 claims 18446744073709551615 bytes, more than any file holds");
        Rejects(HandmadePth.Zip(new PickleBuilder().Op(0x8b).U32(0x7FFFFFFF).Op('.').ToArray()),
            "LONG4 claims 2147483647 bytes but only 1 remain");
        Rejects(HandmadePth.Zip(new PickleBuilder().Op(0x8b).U32(0x80000000).Op('.').ToArray()),
            "LONG4 has a negative length -2147483648");
        Rejects(HandmadePth.Zip(new PickleBuilder().Op('L').Text(new string('9', 5000) + "\n.").ToArray()),
            "LONG's text argument has no newline within 4096 bytes");
    }

    [Fact]
    public void AHugeShapeIsRejectedBeforeAllocating()
    {
        Rejects(HandmadePth.OneTensor(4, 0, [1L << 31, 1L << 31], [0, 0]), "has a dimension above 2147483647");
        Rejects(HandmadePth.OneTensor(4, 0, [1 << 30, 1 << 30], [0, 0]), "has more than 2147483591 elements");
    }

    [Fact]
    public void AHugeStorageIsRejectedBeforeAllocating()
    {
        Rejects(HandmadePth.OneTensor(1L << 61, 0, [4], [1]), "storage '0' is 2305843009213693952 elements of FloatStorage (overflow bytes), but entry 'archive/data/0' holds 16 bytes");
        Rejects(HandmadePth.OneTensor(5, 0, [4], [1]), "storage '0' is 5 elements of FloatStorage (20 bytes), but entry 'archive/data/0' holds 16 bytes");
    }

    [Theory]
    [InlineData(0L, new long[] { 5 }, new long[] { 1 }, "reaches element 4")]
    [InlineData(1L, new long[] { 2, 2 }, new long[] { 2, 1 }, "reaches element 4")]
    [InlineData(0L, new long[] { 2, 3 }, new long[] { 3, 1 }, "reaches element 5")]
    [InlineData(4L, new long[] { 1 }, new long[] { 1 }, "at storage offset 4 reaches element 4")]
    [InlineData(0L, new long[] { 2 }, new long[] { long.MaxValue }, "reaches element 9223372036854775807")]
    public void AShapeThatDoesNotFitItsStorageIsNamed(long offset, long[] size, long[] stride, string expected)
    {
        var e = Rejects(HandmadePth.OneTensor(4, offset, size, stride), expected);
        Assert.Contains("but its storage '0' (FloatStorage) holds 4 elements; the shape does not fit its storage", e.Message);
    }

    [Fact]
    public void AMissingStorageIsNamed() =>
        Rejects(HandmadePth.OneTensor(4, 0, [4], [1], key: "7"),
            "storage '7' (FloatStorage, 4 elements) is missing: the archive has no entry 'archive/data/7'");

    [Fact]
    public void ViewsThatRepeatAStorageFarBeyondItsSizeAreRefused()
    {
        // A stride-0 view of 4 floats claiming 2^24 elements: PyTorch can save it, but copying it out would let a
        // small file make the reader allocate 64 MB.
        Rejects(HandmadePth.OneTensor(4, 0, [1 << 24], [0]), "views repeat elements (stride 0 or overlapping) beyond what Striate copies out");
        Assert.Equal(1000, PthFile.Parse(HandmadePth.OneTensor(4, 0, [1000], [0]), "ok.pth")["w"].Value.ToArray().Length);
    }

    [Theory]
    [InlineData("}.", "the file holds a dict that is not a state dict")]
    [InlineData("K\u0005.", "the file holds the integer 5, not a state dict")]
    [InlineData("}X\u0001\u0000\u0000\u0000wK\u0001s.", "the file holds a dict that is not a state dict and has no state dict inside. Its keys: 'w' (the integer 1)")]
    [InlineData("}(.", "an opcode takes a value from the stack but finds its MARK")]
    [InlineData(".", "STOP with nothing on the stack")]
    [InlineData("}s.", "an opcode takes a value from an empty stack")]
    [InlineData("(t(u.", "SETITEM sets an item of a tuple of 0, not a dict")]
    [InlineData("}h\u0009.", "memo entry 9 is read before it is stored")]
    [InlineData("}", "the pickle ends without its STOP opcode; it is truncated")]
    [InlineData("N)R.", "REDUCE calls None, which is not a callable")]
    [InlineData("P1\n.", "PERSID is not supported")]
    [InlineData("\u0082\u0001.", "extension-registry opcode EXT")]
    [InlineData("Q.", "an opcode takes a value from an empty stack")]
    [InlineData("NQ.", "a persistent id is None, expected a tuple ('storage', storage_type, key, location, numel)")]
    public void ACorruptPickleIsNamed(string opcodes, string expected) =>
        Rejects(HandmadePth.Zip(new PickleBuilder().Text(opcodes).ToArray()), expected);

    [Fact]
    public void AProtocolAboveFiveIsRejected() =>
        Rejects(HandmadePth.Zip(new PickleBuilder().Op(0x80, 6).Op('}').Op('.').ToArray()), "pickle protocol 6 is not one Python writes");

    [Theory]
    [InlineData("central directory offset", "does not end before the end record")]
    [InlineData("entry count", "65534 entries cannot fit in a central directory of")]
    [InlineData("zip64 central directory offset", "does not end before the end record")]
    [InlineData("zip64 entry count", "1000000 entries cannot fit in a central directory of")]
    [InlineData("zip64 record offset", "zip64 end of central directory locator: it points at offset 9999999")]
    [InlineData("zip64 sentinel", "its fields say zip64 (0xFFFF…) but there is no zip64 end record before it")]
    [InlineData("no end record", "no zip end of central directory record (PK\\x05\\x06) in the last 64 KiB")]
    [InlineData("entry size", "but entry 'views/data/0' holds 2147483647 bytes")]
    [InlineData("local header offset", "zip entry 'views/data/0' (local header at offset 100): expected a local file header")]
    [InlineData("encrypted", "zip entry 'views/data/0': it is encrypted")]
    [InlineData("method", "zip entry 'views/data/0': compression method 14 is not supported")]
    [InlineData("duplicate name", "the entry 'views/data/0' appears twice")]
    public void ZipStructureLiesAreNamed(string lie, string expected)
    {
        // torch writes zip64 end records even for small files (their values override the end record's, as in Python's
        // zipfile); python's zipfile, which rewrote views_deflated.pth, writes a plain end record only.
        bool plain = lie is "central directory offset" or "entry count" or "zip64 sentinel";
        var bytes = PthFixtures.Bytes(plain ? "views_deflated.pth" : "views.pth");
        int end = bytes.Length - 22;
        Assert.Equal(0x06054b50u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(end)));
        int zip64 = plain ? -1 : (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(end - 20 + 8));
        int central = CentralHeader(bytes, "views/data/0");
        switch (lie)
        {
            case "central directory offset": BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(end + 16), 0x7FFFFFF0); break;
            case "entry count": BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(end + 10), 0xFFFE); break;
            case "zip64 central directory offset": BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(zip64 + 48), 1UL << 40); break;
            case "zip64 entry count": BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(zip64 + 32), 1_000_000); break;
            case "zip64 record offset": BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(end - 20 + 8), 9999999); break;
            case "zip64 sentinel": BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(end + 16), 0xFFFFFFFF); break;
            case "no end record": bytes[end] = (byte)'X'; break;
            case "entry size": // stored and uncompressed size 2^31 - 1: more than the storage, and past the central directory
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(central + 20), 0x7FFFFFFF);
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(central + 24), 0x7FFFFFFF);
                break;
            case "local header offset": BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(central + 42), 100); break;
            case "encrypted": bytes[central + 8] |= 1; break;
            case "method": bytes[central + 10] = 14; break;
            case "duplicate name": "views/data/0"u8.CopyTo(bytes.AsSpan(CentralHeader(bytes, "views/data/1") + 46)); break;
        }
        Rejects(bytes, expected);
    }

    [Fact]
    public void ZipSizesThatSayZip64AreReadFromTheZip64Records()
    {
        // python wrote views_zip64.pth with zip64 extra fields but true 32-bit values in the end record; set them to
        // the 0xFFFF… sentinels so that only the zip64 end record can say where the central directory is.
        var bytes = PthFixtures.Bytes("views_zip64.pth");
        int end = bytes.Length - 22;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(end + 8), 0xFFFF);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(end + 10), 0xFFFF);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(end + 12), 0xFFFFFFFF);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(end + 16), 0xFFFFFFFF);
        Assert.Equal(19, PthFile.Parse(bytes, "zip64.pth").Tensors.Count);
    }

    [Fact]
    public void ADeflateBombIsRejectedBeforeInflating()
    {
        var bytes = PthFixtures.Bytes("views_deflated.pth");
        int central = CentralHeader(bytes, "views/data.pkl");
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(central + 24), 0xF0000000); // uncompressed size
        Rejects(bytes, "it claims 4026531840 bytes from");
    }

    [Fact]
    public void LegacyStorageHeadersAreChecked()
    {
        var good = PthFixtures.Bytes("views_legacy.pth");
        // The storages follow the key list; the first one's 8-byte element count comes right after it.
        int first = FirstLegacyStorage(good);
        var bytes = (byte[])good.Clone();
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(first), 1L << 60);
        Rejects(bytes, "its size header says 1152921504606846976 elements, but the pickle says");
        Rejects(good.AsSpan(0, good.Length - 1).ToArray(), "the file is truncated");
    }

    [Fact]
    public void NotAPthFileSaysWhatItExpected()
    {
        Rejects([], "the file is empty; expected a zip archive (PK\\x03\\x04");
        Rejects("hello world, not a model"u8.ToArray(), "it starts with bytes 68656C6C6F20776F; expected a zip archive");
        var tar = new byte[1024];
        "ustar"u8.CopyTo(tar.AsSpan(257));
        Rejects(tar, "this is a tar archive: the format of PyTorch before 0.4");
        Rejects(EmptyZipWithoutPickle(), "this zip archive has no NAME/data.pkl entry, so torch.save did not write it (entries: model/weights.bin)");
    }

    private static byte[] EmptyZipWithoutPickle()
    {
        using var memory = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(memory, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
            zip.CreateEntry("model/weights.bin");
        return memory.ToArray();
    }

    [Fact]
    public void ATorchScriptArchiveIsNamed()
    {
        using var memory = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(memory, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            zip.CreateEntry("m/data.pkl");
            zip.CreateEntry("m/constants.pkl");
            zip.CreateEntry("m/code/__torch__.py");
        }
        Rejects(memory.ToArray(), "this is a TorchScript archive (torch.jit.save)");
    }

    private static (long Offset, ZipEntry Entry) DataOffset(byte[] bytes, string name)
    {
        var zip = ZipDirectory.Read(ByteSource.FromMemory(bytes, "x"));
        Assert.True(zip.TryGet(name, out var entry));
        return (zip.DataOffset(entry), entry);
    }

    private static int CentralHeader(byte[] bytes, string name)
    {
        var needle = System.Text.Encoding.ASCII.GetBytes(name);
        for (int i = 0; i + 46 + needle.Length <= bytes.Length; i++)
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i)) == 0x02014b50 && bytes.AsSpan(i + 46, needle.Length).SequenceEqual(needle)
                && BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(i + 28)) == needle.Length)
                return i;
        throw new InvalidOperationException($"no central header for {name}");
    }

    private static int FirstLegacyStorage(byte[] bytes)
    {
        // Five pickles, each ending with STOP; the storage key list is a list of strings ending "u." or "e.": find the
        // fifth STOP by reading the pickles with the reader itself.
        var source = ByteSource.FromMemory(bytes, "x");
        var input = new PickleInput(source, 0, bytes.Length);
        for (int i = 0; i < 5; i++)
            PickleReader.Load(input, "p", 0, (pid, reader) => new StorageRef("k", PthDtype.F32, long.MaxValue, "cpu"));
        return (int)input.Position;
    }
}
