using System.Buffers.Binary;
using System.Text;
using Striate.IO;

namespace Striate.Tests.IO;

/// <summary>Each corrupt file fails in parsing with an InvalidDataException naming the file and the problem.</summary>
public sealed class SafetensorsMalformedTests
{
    private const string Source = "crafted.safetensors";

    /// <summary>A length prefix, the header text, then <paramref name="bufferBytes"/> zero bytes of data.</summary>
    private static byte[] Craft(string header, int bufferBytes = 0, ulong? claimedLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        return Craft(json, bufferBytes, claimedLength);
    }

    private static byte[] Craft(byte[] json, int bufferBytes = 0, ulong? claimedLength = null)
    {
        var bytes = new byte[8 + json.Length + bufferBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return bytes;
    }

    private static void Rejects(byte[] bytes, params string[] fragments)
    {
        var ex = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Parse(bytes, Source));
        Assert.Contains(Source, ex.Message);
        foreach (var f in fragments) Assert.Contains(f, ex.Message);
    }

    private static string Entry(string dtype = "\"F32\"", string shape = "[2,3]", string offsets = "[0,24]") =>
        $"{{\"dtype\":{dtype},\"shape\":{shape},\"data_offsets\":{offsets}}}";

    [Fact]
    public void WellFormedCraftedFileParses()
    {
        // Guards the crafting helpers: the malformed cases below differ from this one in one field only.
        var file = SafetensorsFile.Parse(Craft($"{{\"t\":{Entry()}}}", 24), Source);
        Assert.Equal([2, 3], file.GetShape("t"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void FileShorterThanTheLengthPrefix(int length) =>
        Rejects(new byte[length], $"{length} bytes", "shorter than the 8-byte");

    [Fact]
    public void HeaderLengthBeyondTheFile() =>
        Rejects(Craft("{}", claimedLength: 1000), "header length 1000", "exceeds the 2 bytes");

    [Theory]
    [InlineData(200_000_000UL)]
    [InlineData(ulong.MaxValue)]
    public void HeaderLengthAbsurdlyLarge(ulong claimed) =>
        Rejects(Craft("{}", claimedLength: claimed), $"header length {claimed}", "limit");

    [Theory]
    [InlineData("{\"t\": ")]
    [InlineData("")]
    [InlineData("{} trailing")]
    [InlineData("{'t': 1}")]
    public void HeaderNotValidJson(string header) => Rejects(Craft(header), "not valid JSON");

    [Fact]
    public void HeaderNotValidUtf8() =>
        Rejects(Craft([(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}']), "not valid");

    [Theory]
    [InlineData("[1,2]", "array")]
    [InlineData("\"text\"", "string")]
    [InlineData("42", "number")]
    public void HeaderNotAnObject(string header, string kind) => Rejects(Craft(header), "must be a JSON object", kind);

    [Fact]
    public void EntryNotAnObject() => Rejects(Craft("{\"t\":[1,2]}"), "tensor 't'", "must be an object");

    [Theory]
    [InlineData("dtype", "{\"shape\":[2,3],\"data_offsets\":[0,24]}")]
    [InlineData("shape", "{\"dtype\":\"F32\",\"data_offsets\":[0,24]}")]
    [InlineData("data_offsets", "{\"dtype\":\"F32\",\"shape\":[2,3]}")]
    public void EntryMissingAField(string field, string entry) =>
        Rejects(Craft($"{{\"t\":{entry}}}", 24), "tensor 't'", $"no \"{field}\"");

    [Theory]
    [InlineData("\"F8_E4M3\"", "F8_E4M3")]
    [InlineData("\"f32\"", "f32")]
    [InlineData("\"C64\"", "C64")]
    public void UnknownDtypeIsNamedWithTheSupportedList(string dtype, string shown) =>
        Rejects(Craft($"{{\"t\":{Entry(dtype: dtype)}}}", 24), "tensor 't'", $"unknown \"dtype\" \"{shown}\"", "F32, F16, BF16", "I64");

    [Fact]
    public void DtypeNotAString() => Rejects(Craft($"{{\"t\":{Entry(dtype: "4")}}}", 24), "\"dtype\" must be a string");

    [Fact]
    public void NegativeDimension() =>
        Rejects(Craft($"{{\"t\":{Entry(shape: "[2,-3]")}}}", 24), "tensor 't'", "dimension 1 is negative (-3)");

    [Theory]
    [InlineData("[2.5,3]")]
    [InlineData("[\"2\",3]")]
    [InlineData("[null]")]
    public void NonIntegerDimension(string shape) =>
        Rejects(Craft($"{{\"t\":{Entry(shape: shape)}}}", 24), "tensor 't'", "not an integer");

    [Fact]
    public void ShapeNotAnArray() => Rejects(Craft($"{{\"t\":{Entry(shape: "6")}}}", 24), "\"shape\" must be an array");

    [Fact]
    public void ShapeProductOverflows() =>
        Rejects(Craft($"{{\"t\":{Entry(shape: "[2147483647,2147483647,2147483647]")}}}", 24), "tensor 't'", "64-bit");

    [Fact]
    public void DimensionBeyondInt32() =>
        Rejects(Craft($"{{\"t\":{Entry(shape: "[4294967296]")}}}", 24), "tensor 't'", "dimension 0 is 4294967296");

    [Fact]
    public void DataOffsetsEndBeforeBegin() =>
        Rejects(Craft($"{{\"t\":{Entry(offsets: "[24,0]")}}}", 24), "tensor 't'", "end 0 is before begin 24");

    [Fact]
    public void DataOffsetsPastTheBuffer() =>
        Rejects(Craft($"{{\"t\":{Entry(offsets: "[0,24]")}}}", 20), "tensor 't'", "[0, 24]", "past the end", "20 bytes");

    [Fact]
    public void HugeClaimedTensorInATinyFileFailsWithoutAllocating() =>
        Rejects(Craft($"{{\"t\":{Entry(shape: "[1000000000,1000]", offsets: "[0,4000000000000]")}}}", 16), "past the end");

    [Theory]
    [InlineData("[-8,16]", "begin is negative")]
    [InlineData("[0]", "[begin, end]")]
    [InlineData("[0,24,48]", "[begin, end]")]
    [InlineData("[0,\"24\"]", "not an integer")]
    [InlineData("\"0-24\"", "[begin, end]")]
    public void DataOffsetsMalformed(string offsets, string fragment) =>
        Rejects(Craft($"{{\"t\":{Entry(offsets: offsets)}}}", 48), "tensor 't'", fragment);

    [Theory]
    [InlineData("[0,20]")]
    [InlineData("[0,28]")]
    public void ByteLengthDisagreesWithShapeTimesDtypeSize(string offsets) =>
        Rejects(Craft($"{{\"t\":{Entry(offsets: offsets)}}}", 28), "tensor 't'", "6 × 4 = 24 bytes");

    [Fact]
    public void OverlappingTensors() =>
        Rejects(Craft($"{{\"a\":{Entry(offsets: "[0,24]")},\"b\":{Entry(offsets: "[16,40]")}}}", 40), "'a'", "'b'", "overlap");

    [Fact]
    public void DuplicateTensorName() =>
        Rejects(Craft($"{{\"a\":{Entry()},\"a\":{Entry(offsets: "[24,48]")}}}", 48), "'a'", "twice");

    [Theory]
    [InlineData("{\"op\":3}", "'op' must be a string")]
    [InlineData("[\"op\"]", "must be an object")]
    public void MetadataNotAStringMap(string metadata, string fragment) =>
        Rejects(Craft($"{{\"__metadata__\":{metadata},\"t\":{Entry()}}}", 24), "__metadata__", fragment);

    [Fact]
    public void LoadFromDiskReportsThePath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"striate-truncated-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, Craft($"{{\"t\":{Entry()}}}", 10));
            var ex = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Load(path));
            Assert.Contains(path, ex.Message);
            Assert.Contains("past the end", ex.Message);

            File.WriteAllBytes(path, [1, 2, 3]);
            ex = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Load(path));
            Assert.Contains("3 bytes", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
