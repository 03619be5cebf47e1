using System.Buffers.Binary;
using System.IO.Compression;
using Striate.Cli;
using Striate.Data;
using Striate.IO;
using Striate.IO.Pth;
using Striate.Models;
using Striate.Nn;
using Striate.Optim;
using Striate.Tests.IO.Pth;
using Striate.Training;

namespace Striate.Tests.Fuzz;

/// <summary>
/// A reader under fuzzing: valid seed files, how an input reaches the reader (<see cref="Read"/>, given a scratch
/// folder for readers that take a path), and which exceptions the reader documents for bad input (only those are
/// clean rejections). <see cref="Mutate"/> is <see cref="Mutator.Mutate"/> unless the format needs its checksums kept
/// valid for mutations to reach the parser behind them.
/// </summary>
internal sealed record FuzzTarget(string Name, string Extension, IReadOnlyList<byte[]> Seeds, Action<byte[], string> Read,
    Func<Exception, bool> IsClean)
{
    public Func<byte[], Random, byte[]> Mutate { get; init; } = Mutator.Mutate;

    public override string ToString() => Name;

    /// <summary>Every reader, by name.</summary>
    public static readonly IReadOnlyDictionary<string, FuzzTarget> All = Create().ToDictionary(t => t.Name);

    private static bool IsInvalidData(Exception e) => e is InvalidDataException;

    /// <summary>Writes the input to the scratch folder under a fixed name, for readers that take a path.</summary>
    private static string AsFile(byte[] input, string folder, string name)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, input);
        return path;
    }

    private static IEnumerable<FuzzTarget> Create()
    {
        yield return new FuzzTarget("safetensors", ".safetensors", SafetensorsSeeds(), (input, _) =>
        {
            var file = SafetensorsFile.Parse(input, "fuzz.safetensors");
            foreach (var name in file.Names) file.GetTensor(name);
        }, IsInvalidData);

        // The library path: load, then restore into the model, optimizer and scheduler it was taken from.
        yield return new FuzzTarget("checkpoint", ".safetensors", [SmallCheckpoint()], (input, folder) =>
        {
            var checkpoint = Checkpoint.Load(AsFile(input, folder, "fuzz.safetensors"));
            var net = SmallNet();
            var adam = new Adam(net.Parameters(), 0.01f);
            checkpoint.Restore(net, adam, new StepLR(adam, 1, 0.5));
        }, e => e is InvalidDataException or ArgumentException or PthFormatException);

        // The command line's path: the model named by the file, built from its metadata, restored strictly.
        yield return new FuzzTarget("checkpoint-cli", ".safetensors", [LeNetCheckpoint()], (input, folder) =>
            LoadedModel.Load(AsFile(input, folder, "fuzz.safetensors"), null),
            e => e is InvalidDataException or ArgumentException or PthFormatException);

        yield return new FuzzTarget("idx", ".idx", [Idx([3, 4, 4]), Idx([5]), Idx([2, 2, 3, 2])], (input, folder) =>
            IdxFile.Read(AsFile(input, folder, "fuzz.idx")), IsInvalidData);

        // Mostly the decompressed content is mutated and compressed again (the gzip CRC would reject the rest at once).
        yield return new FuzzTarget("idx-gz", ".gz", [Idx([3, 4, 4]), Idx([5])], (input, folder) =>
            IdxFile.Read(AsFile(input, folder, "fuzz.gz")), IsInvalidData)
        {
            Mutate = (seed, random) => random.Next(4) == 0 ? Mutator.Mutate(Gzip(seed), random) : Gzip(Mutator.Mutate(seed, random)),
        };

        // Chunk CRCs are repaired in most inputs so that the mutations reach IHDR, PLTE and the zlib data.
        yield return new FuzzTarget("png", ".png", TestDataFiles(".png"), (input, _) => PngCodec.Decode(input, "fuzz.png"),
            e => e is InvalidDataException or NotSupportedException)
        {
            Mutate = (seed, random) =>
            {
                var mutated = Mutator.Mutate(seed, random);
                return random.Next(5) > 0 ? RepairPngCrcs(mutated) : mutated;
            },
        };

        yield return new FuzzTarget("pnm", ".pnm", [.. TestDataFiles(".pgm"), .. TestDataFiles(".ppm")],
            (input, _) => PnmCodec.Decode(input, "fuzz.pnm"), IsInvalidData);

        yield return new FuzzTarget("cifar10", ".bin", [CifarRecords(2)], (input, folder) =>
            Cifar10File.Read(AsFile(input, folder, "fuzz.bin")), IsInvalidData);

        yield return new FuzzTarget("pth-zip", ".pth", [PthFixtures.Bytes("views.pth"), PthFixtures.Bytes("views_p4.pth"), PthFixtures.Bytes("views_deflated.pth")],
            (input, _) => PthFile.Parse(input, "fuzz.pth"), e => e is PthFormatException);

        yield return new FuzzTarget("pth-legacy", ".pth", [PthFixtures.Bytes("views_legacy.pth"), PthFixtures.Bytes("evil_module_legacy.pth")],
            (input, _) => PthFile.Parse(input, "fuzz.pth"), e => e is PthFormatException);

        // ONNX protobuf import: a small convolutional net as Striate exports it.
        yield return new FuzzTarget("onnx", ".onnx", [Striate.Onnx.OnnxExport.ToBytes(SmallNet().Eval(), (1, 6, 6))],
            (input, _) => Striate.Onnx.OnnxModel.Load(input, "fuzz.onnx"), e => e is InvalidDataException or NotSupportedException);

        // Photos through the one image-loading path (ImageSharp's JPEG, BMP and GIF behind ImageDecoders): the decoder
        // is picked by the mutated first bytes, the header's size checked against MaxPixels before decoding.
        Striate.Imaging.ImageSharpDecoder.Register();
        yield return new FuzzTarget("image", ".jpg", PhotoSeeds(), (input, _) => ImageDecoders.Decode(input, "fuzz.jpg"),
            e => e is InvalidDataException or NotSupportedException);

        // The pickle stream itself: mutated, then put in a well-formed archive beside the original storages.
        var (pickle, storages) = Unzip(PthFixtures.Bytes("views.pth"));
        yield return new FuzzTarget("pth-pickle", ".pkl", [pickle],
            (input, _) => PthFile.Parse(HandmadePth.Zip(input, storages), "fuzz.pth"), e => e is PthFormatException);
    }

    // ---- seeds ------------------------------------------------------------------------------------------------

    private static IReadOnlyList<byte[]> SafetensorsSeeds()
    {
        var g = new Generator(3);
        var a = new SafetensorsBuilder()
            .AddMetadata("format", "pt")
            .Add("conv.weight", Tensor.Randn([2, 1, 3, 3], g))
            .Add("conv.bias", Tensor.Randn([2], g))
            .AddFloat("half", Tensor.Randn([3, 2], g), SafetensorsDtype.F16)
            .AddFloat("brain", Tensor.Randn([4], g), SafetensorsDtype.BF16)
            .AddInt64("count", [7], []);
        var b = new SafetensorsBuilder().Add("empty", Tensor.Zeros(0, 3)).Add("scalar", Tensor.Scalar(1.5f));
        return [a.ToArray(), b.ToArray()];
    }

    private static Sequential SmallNet() => new(
        new Conv2d(1, 2, 3, generator: new Generator(1)), new BatchNorm2d(2), new Flatten(), new Linear(2 * 4 * 4, 3, generator: new Generator(2)));

    private static byte[] SmallCheckpoint()
    {
        var net = SmallNet();
        var adam = new Adam(net.Parameters(), 0.01f);
        foreach (var p in net.Parameters()) p.Grad = Tensor.Full(0.25f, p.Shape.ToArray());
        adam.Step();
        var scheduler = new StepLR(adam, 1, 0.5);
        var config = new RunConfig { Model = "small", Dataset = "mnist", Epochs = 2, Optimizer = "adam", Scheduler = "step" };
        // No generator state: restoring one would change Generator.Default under tests running in parallel.
        var checkpoint = new Checkpoint
        {
            ModelName = "small", Epoch = 1, ModelState = net.StateDict(), IntegerKeys = net.IntegerBufferNames().ToHashSet(),
            OptimizerState = adam.StateDict(), SchedulerState = scheduler.StateDict(), ConfigJson = config.ToJson(),
            HistoryJson = "[{\"epoch\":1,\"train_loss\":2.25,\"train_accuracy\":0.25,\"test_loss\":2.5,\"test_accuracy\":0.5,\"test_top5\":0.75,\"images_per_second\":10,\"seconds\":1,\"learning_rate\":0.01}]",
            ClassNames = ["a", "b", "c"], InputShape = (1, 6, 6),
        };
        return SavedBytes(checkpoint);
    }

    private static byte[] LeNetCheckpoint()
    {
        var model = ModelFactory.Build(ModelRegistry.Get("lenet-relu"), (1, 28, 28), 10, generator: new Generator(4));
        var config = new RunConfig { Model = "lenet-relu", Dataset = "mnist", NormalizeMean = [0.1307f], NormalizeStd = [0.3081f] };
        var checkpoint = new Checkpoint
        {
            ModelName = "lenet-relu", Epoch = 1, ModelState = model.StateDict(), ConfigJson = config.ToJson(),
            ClassNames = [.. Enumerable.Range(0, 10).Select(i => i.ToString())], InputShape = (1, 28, 28),
        };
        return SavedBytes(checkpoint);
    }

    private static byte[] SavedBytes(Checkpoint checkpoint)
    {
        using var tmp = new Striate.Tests.Data.TempFolder();
        string path = tmp.File("seed.safetensors");
        checkpoint.Save(path);
        return File.ReadAllBytes(path);
    }

    private static byte[] Idx(int[] dims)
    {
        int count = dims.Aggregate(1, (a, b) => a * b);
        var bytes = new byte[4 + 4 * dims.Length + count];
        bytes[2] = 0x08;
        bytes[3] = (byte)dims.Length;
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        for (int i = 0; i < count; i++) bytes[4 + 4 * dims.Length + i] = (byte)(i * 37);
        return bytes;
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var memory = new MemoryStream();
        using (var gz = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(bytes);
        return memory.ToArray();
    }

    private static byte[] CifarRecords(int count)
    {
        var bytes = new byte[count * Cifar10File.RecordSize];
        for (int r = 0; r < count; r++)
        {
            bytes[r * Cifar10File.RecordSize] = (byte)(r * 3 % 10);
            for (int i = 1; i < Cifar10File.RecordSize; i++) bytes[r * Cifar10File.RecordSize + i] = (byte)(i * 13 + r);
        }
        return bytes;
    }

    /// <summary>Small photos of each kind the ImageSharp decoders take: baseline, progressive, gray, CMYK, restart markers, EXIF, BMP, GIF.</summary>
    private static IReadOnlyList<byte[]> PhotoSeeds() =>
        [.. new[] { "baseline_420_q50.jpg", "progressive_444.jpg", "gray.jpg", "cmyk_adobe.jpg", "restart_rows_420.jpg", "exif_orientation_6.jpg",
            "palette8.bmp", "palette.gif" }
            .Select(name => File.ReadAllBytes(Path.Combine(Striate.Tests.Data.DataTestPaths.TestData, "photos", name)))];

    private static IReadOnlyList<byte[]> TestDataFiles(string extension) =>
        [.. Directory.GetFiles(Striate.Tests.Data.DataTestPaths.TestData, "*" + extension).Order().Select(File.ReadAllBytes)];

    /// <summary>Recomputes every chunk's CRC where the chunk lengths still walk the file.</summary>
    private static byte[] RepairPngCrcs(byte[] png)
    {
        int pos = 8;
        while (pos + 12 <= png.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos));
            if (length > (uint)(png.Length - pos - 12)) break;
            BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(pos + 8 + (int)length), Crc32.Compute(png.AsSpan(pos + 4, 4 + (int)length)));
            pos += 12 + (int)length;
        }
        return png;
    }

    /// <summary>The data.pkl of a torch zip and its storages by key.</summary>
    private static (byte[] Pickle, (string Key, byte[] Bytes)[] Storages) Unzip(byte[] pth)
    {
        using var zip = new ZipArchive(new MemoryStream(pth), ZipArchiveMode.Read);
        byte[] Read(ZipArchiveEntry e)
        {
            using var s = e.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            return m.ToArray();
        }
        var pickle = Read(zip.Entries.Single(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)));
        var storages = zip.Entries.Where(e => e.FullName.Contains("/data/", StringComparison.Ordinal))
            .Select(e => (e.Name, Read(e))).ToArray();
        return (pickle, storages);
    }
}
