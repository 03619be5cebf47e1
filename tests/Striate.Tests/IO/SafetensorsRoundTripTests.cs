using System.Buffers.Binary;
using System.Text;
using Striate.IO;
using Striate.Tests.TestSupport;

namespace Striate.Tests.IO;

public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("striate-io-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Tensor RandomTensor(Generator g, params int[] shape)
    {
        var t = Tensor.AllocatePersistent(shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (g.NextFloat() * 2 - 1) * MathF.Pow(2, g.NextInt(12) - 6);
        return t;
    }

    [Fact]
    public void F32TensorsComeBackBitExactWithNamesInWriteOrder()
    {
        var g = new Generator(1);
        var tensors = new[]
        {
            new KeyValuePair<string, Tensor>("z.weight", RandomTensor(g, 4, 3, 3, 3)),
            new KeyValuePair<string, Tensor>("a.bias", RandomTensor(g, 4)),
            new KeyValuePair<string, Tensor>("m.scalar", Tensor.Scalar(3.25f)),
            new KeyValuePair<string, Tensor>("empty", Tensor.AllocatePersistent([2, 0, 5])),
        };
        string path = Path.Combine(_folder, "f32.safetensors");
        SafetensorsWriter.Save(path, tensors);

        var file = SafetensorsFile.Load(path);
        Assert.Equal(["z.weight", "a.bias", "m.scalar", "empty"], file.Names);
        foreach (var (name, expected) in tensors)
        {
            Assert.Equal(SafetensorsDtype.F32, file.GetDtype(name));
            Assert.Equal(expected.ShapeArray, file.GetShape(name));
            var actual = file.GetTensor(name);
            Assert.Equal(expected.ShapeArray, actual.ShapeArray);
            Assert.Equal(expected.ToArray(), actual.ToArray());
        }
        Assert.Empty(file.Metadata);
    }

    [Theory]
    [InlineData(SafetensorsDtype.F16)]
    [InlineData(SafetensorsDtype.BF16)]
    public void SixteenBitTensorsRoundToTheNearestRepresentableValue(SafetensorsDtype dtype)
    {
        var g = new Generator(2);
        var original = RandomTensor(g, 3, 5, 7);
        string path = Path.Combine(_folder, $"{dtype}.safetensors");
        SafetensorsWriter.Save(path, [new("w", original)], dtype: dtype);

        var file = SafetensorsFile.Load(path);
        Assert.Equal(dtype, file.GetDtype("w"));
        var back = file.GetTensor("w");
        Assert.Equal([3, 5, 7], back.ShapeArray);
        // Relative precision: 2^-11 for binary16 (11 significant bits), 2^-8 for bfloat16.
        double rtol = dtype == SafetensorsDtype.F16 ? 1.0 / 2048 : 1.0 / 256;
        Close.Assert(original.ReadOnlySpan, back.ReadOnlySpan, rtol, 1e-7, $"{dtype} round trip");
        if (dtype == SafetensorsDtype.F16)
            for (int i = 0; i < original.Numel; i++)
                Assert.Equal((float)(Half)original.ReadOnlySpan[i], back.ReadOnlySpan[i]);
    }

    [Fact]
    public void Int64TensorsKeepValuesBeyondFloatPrecision()
    {
        long[] data = [0, -1, 7, long.MaxValue, long.MinValue, (1L << 53) + 1];
        string path = Path.Combine(_folder, "i64.safetensors");
        new SafetensorsBuilder()
            .AddInt64("counts", data, [2, 3])
            .AddFloat("x", Tensor.FromArray([1.5f, -2f], 2), SafetensorsDtype.BF16)
            .Save(path);

        var file = SafetensorsFile.Load(path);
        Assert.Equal(SafetensorsDtype.I64, file.GetDtype("counts"));
        Assert.Equal([2, 3], file.GetShape("counts"));
        Assert.Equal(data, file.GetInt64("counts"));
        Assert.Equal([0f, -1f, 7f, (float)long.MaxValue, (float)long.MinValue, (float)((1L << 53) + 1)], file.GetTensor("counts").ToArray());
        Assert.Equal([1.5f, -2f], file.GetTensor("x").ToArray());
    }

    [Fact]
    public void ReadOnlyDtypesConvertToFloatAndInt64()
    {
        // F64 [2], I32 [2], I16 [1], I8 [2], U8 [1], BOOL [2], laid out back to back (no alignment needed).
        var data = new List<byte>();
        data.AddRange(BitConverter.GetBytes(0.1)); data.AddRange(BitConverter.GetBytes(-3.0));
        data.AddRange(BitConverter.GetBytes(-70000)); data.AddRange(BitConverter.GetBytes(5));
        data.AddRange(BitConverter.GetBytes((short)-300));
        data.AddRange([0xFF, 0x7F]);
        data.Add(200);
        data.AddRange([1, 0]);
        string header = "{\"f64\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}," +
                        "\"i32\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[16,24]}," +
                        "\"i16\":{\"dtype\":\"I16\",\"shape\":[],\"data_offsets\":[24,26]}," +
                        "\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[26,28]}," +
                        "\"u8\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[28,29]}," +
                        "\"flags\":{\"dtype\":\"BOOL\",\"shape\":[2,1],\"data_offsets\":[29,31]}}";
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Count];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);

        var file = SafetensorsFile.Parse(bytes, "mixed");
        Assert.Equal([0.1f, -3f], file.GetTensor("f64").ToArray());
        Assert.Equal([-70000L, 5L], file.GetInt64("i32"));
        Assert.Equal([-70000f, 5f], file.GetTensor("i32").ToArray());
        Assert.Empty(file.GetShape("i16"));
        Assert.Equal([-300L], file.GetInt64("i16"));
        Assert.Equal([-1L, 127L], file.GetInt64("i8"));
        Assert.Equal([200f], file.GetTensor("u8").ToArray());
        Assert.Equal([2, 1], file.GetShape("flags"));
        Assert.Equal([1f, 0f], file.GetTensor("flags").ToArray());
        Assert.Equal(SafetensorsDtype.BOOL, file.GetDtype("flags"));
        Assert.Contains("0.1", Assert.Throws<InvalidOperationException>(() => file.GetInt64("f64")).Message);
    }

    [Fact]
    public void GetInt64AcceptsWholeFloatsAndRejectsFractions()
    {
        var bytes = new SafetensorsBuilder()
            .AddFloat("whole", Tensor.FromArray([3f, -4f, 0f], 3))
            .AddFloat("fraction", Tensor.FromArray([1f, 2.5f], 2))
            .ToArray();
        var file = SafetensorsFile.Parse(bytes, "ints");
        Assert.Equal([3L, -4L, 0L], file.GetInt64("whole"));
        var ex = Assert.Throws<InvalidOperationException>(() => file.GetInt64("fraction"));
        Assert.Contains("'fraction'", ex.Message);
        Assert.Contains("2.5", ex.Message);
    }

    [Fact]
    public void MetadataRoundTripsIncludingQuotesAndNonAscii()
    {
        var metadata = new Dictionary<string, string>
        {
            ["op"] = "conv2d",
            ["note"] = "He said \"hi\"\n\tback\\slash",
            ["ünïcödé"] = "日本語 ✓",
            ["empty"] = "",
        };
        string path = Path.Combine(_folder, "meta.safetensors");
        SafetensorsWriter.Save(path, [new("t", Tensor.FromArray([1f], 1))], metadata);

        var file = SafetensorsFile.Load(path);
        Assert.Equal(metadata.OrderBy(p => p.Key), file.Metadata.OrderBy(p => p.Key));
        Assert.Equal(["t"], file.Names);
    }

    [Fact]
    public void HeaderIsSpacePaddedSoDataStartsEightByteAligned()
    {
        for (int nameLength = 1; nameLength <= 9; nameLength++)
        {
            var bytes = new SafetensorsBuilder().AddFloat(new string('n', nameLength), Tensor.FromArray([1f, 2f], 2)).ToArray();
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0UL, headerLength % 8);
            Assert.Equal(8 + (long)headerLength + 8, bytes.Length);
            string header = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
            Assert.StartsWith("{", header);
            Assert.EndsWith("}", header.TrimEnd(' '));
        }
    }

    [Fact]
    public void LookingUpAMissingTensorNamesItAndListsWhatExists()
    {
        var file = SafetensorsFile.Parse(new SafetensorsBuilder().AddFloat("present", Tensor.FromArray([1f], 1)).ToArray(), "mem");
        Assert.False(file.Contains("absent"));
        Assert.True(file.Contains("present"));
        var ex = Assert.Throws<KeyNotFoundException>(() => file.GetTensor("absent"));
        Assert.Contains("'absent'", ex.Message);
        Assert.Contains("present", ex.Message);
    }

    [Fact]
    public void BuilderRejectsDuplicateAndReservedNames()
    {
        var b = new SafetensorsBuilder().AddFloat("w", Tensor.FromArray([1f], 1));
        Assert.Contains("already", Assert.Throws<ArgumentException>(() => b.AddFloat("w", Tensor.FromArray([1f], 1))).Message);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => b.AddInt64("__metadata__", [1], [1])).Message);
        Assert.Contains("I64", Assert.Throws<ArgumentException>(() => b.AddFloat("x", Tensor.FromArray([1f], 1), SafetensorsDtype.I64)).Message);
        Assert.Contains("elements", Assert.Throws<ArgumentException>(() => b.AddInt64("y", [1, 2, 3], [2, 2])).Message);
    }

    // ---- atomic save ----------------------------------------------------------------------------

    private static IEnumerable<KeyValuePair<string, Tensor>> ThrowsAfterOne()
    {
        yield return new("first", Tensor.FromArray([1f, 2f], 2));
        throw new InvalidOperationException("enumerator failed on purpose");
    }

    private byte[] WriteOriginal(string path)
    {
        SafetensorsWriter.Save(path, [new("old", Tensor.FromArray([9f, 8f, 7f], 3))], new Dictionary<string, string> { ["v"] = "1" });
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void FailingTensorEnumerationLeavesTheExistingFileUntouched()
    {
        string path = Path.Combine(_folder, "model.safetensors");
        var before = WriteOriginal(path);

        var ex = Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Save(path, ThrowsAfterOne()));
        Assert.Equal("enumerator failed on purpose", ex.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_folder));
    }

    [Fact]
    public void FailureAfterTheTemporaryFileIsHalfWrittenLeavesTheExistingFileAndNoTemporary()
    {
        string path = Path.Combine(_folder, "model.safetensors");
        var before = WriteOriginal(path);
        var builder = new SafetensorsBuilder().AddFloat("new", Tensor.FromArray([1f, 2f, 3f, 4f], 4));

        bool tempExistedMidway = false;
        var ex = Assert.Throws<IOException>(() => builder.SaveCore(path, afterHeader: () =>
        {
            tempExistedMidway = Directory.GetFiles(_folder).Length == 2;
            throw new IOException("disk full (simulated)");
        }));
        Assert.Contains("simulated", ex.Message);
        Assert.True(tempExistedMidway, "the header should have gone to a temporary file beside the target");
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_folder));
    }

    [Fact]
    public void SuccessfulSaveReplacesTheExistingFile()
    {
        string path = Path.Combine(_folder, "model.safetensors");
        WriteOriginal(path);
        SafetensorsWriter.Save(path, [new("new", Tensor.FromArray([5f], 1))]);
        var file = SafetensorsFile.Load(path);
        Assert.Equal(["new"], file.Names);
        Assert.Equal([5f], file.GetTensor("new").ToArray());
        Assert.Equal([path], Directory.GetFiles(_folder));
    }

    [Fact]
    public void NumBatchesTrackedIsI64InEveryWriterAndStaysI64WhenReadAndWrittenAgain()
    {
        var model = new Striate.Nn.Sequential(new Striate.Nn.BatchNorm2d(3));
        using (TensorScope.Begin()) model.Call(Tensor.Randn([2, 3, 4, 4], new Generator(3)));
        string plain = Path.Combine(_folder, "state.safetensors");
        string checkpoint = Path.Combine(_folder, "checkpoint.safetensors");
        string again = Path.Combine(_folder, "again.safetensors");

        SafetensorsWriter.Save(plain, model.StateDict());
        Striate.Training.Checkpoint.Capture("bn", 1, model, null, null, "{}", "[]", [], null).Save(checkpoint);
        var read = SafetensorsFile.Load(plain);
        SafetensorsWriter.Save(again, read.Names.Select(n => new KeyValuePair<string, Tensor>(n, read.GetTensor(n))));

        foreach (var (path, key) in new[] { (plain, "0.num_batches_tracked"), (checkpoint, "model.0.num_batches_tracked"), (again, "0.num_batches_tracked") })
        {
            var file = SafetensorsFile.Load(path);
            Assert.Equal(SafetensorsDtype.I64, file.GetDtype(key));
            Assert.Equal([1L], file.GetInt64(key));
            Assert.Equal(SafetensorsDtype.F32, file.GetDtype(key.Replace("num_batches_tracked", "running_mean")));
        }
    }
}
