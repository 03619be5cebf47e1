using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Striate.Tests.IO.Pth;

/// <summary>
/// Pickles written opcode by opcode, wrapped in a torch-style zip by .NET's own ZipArchive (an independent writer):
/// the malformed inputs that PyTorch would never write but an attacker or a corrupt disk could.
/// </summary>
internal sealed class PickleBuilder
{
    private readonly List<byte> _bytes = [0x80, 0x02];

    public PickleBuilder Op(params byte[] bytes) { _bytes.AddRange(bytes); return this; }

    public PickleBuilder Op(char opcode) => Op((byte)opcode);

    public PickleBuilder Global(string module, string name) => Op('c').Text(module + "\n" + name + "\n");

    /// <summary>Raw bytes, one per character (Latin-1), so opcodes above 0x7F can be written as text.</summary>
    public PickleBuilder Text(string text) { _bytes.AddRange(Encoding.Latin1.GetBytes(text)); return this; }

    public PickleBuilder Str(string s)
    {
        var utf8 = Encoding.UTF8.GetBytes(s);
        Op('X').U32((uint)utf8.Length);
        _bytes.AddRange(utf8);
        return this;
    }

    public PickleBuilder Int(int n) { Op('J'); var b = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, n); _bytes.AddRange(b); return this; }

    /// <summary>LONG1 of 8 bytes: any 64-bit value.</summary>
    public PickleBuilder Long(long n) { Op(0x8a, 8); var b = new byte[8]; BinaryPrimitives.WriteInt64LittleEndian(b, n); _bytes.AddRange(b); return this; }

    public PickleBuilder U32(uint n) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, n); _bytes.AddRange(b); return this; }

    public PickleBuilder U64(ulong n) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, n); _bytes.AddRange(b); return this; }

    public PickleBuilder Tuple(params long[] values)
    {
        Op('(');
        foreach (long v in values) Long(v);
        return Op('t');
    }

    /// <summary>
    /// <c>_rebuild_tensor_v2(('storage', torch.STORAGE, key, 'cpu', numel), offset, size, stride, False, OrderedDict())</c>.
    /// </summary>
    public PickleBuilder Tensor(string key, long numel, long offset, long[] size, long[] stride, string storage = "FloatStorage")
    {
        Global("torch._utils", "_rebuild_tensor_v2").Op('(');
        Op('(').Str("storage").Global("torch", storage).Str(key).Str("cpu").Long(numel).Op('t').Op('Q');
        Long(offset).Tuple(size).Tuple(stride).Op(0x89).Global("collections", "OrderedDict").Op(')').Op('R');
        return Op('t').Op('R');
    }

    /// <summary>A dict with one entry, <paramref name="name"/> → whatever <paramref name="value"/> pushes, then STOP.</summary>
    public static byte[] StateDict(string name, Action<PickleBuilder> value)
    {
        var p = new PickleBuilder().Op('}').Str(name);
        value(p);
        return p.Op('s').Op('.').ToArray();
    }

    public byte[] ToArray() => _bytes.ToArray();
}

internal static class HandmadePth
{
    /// <summary>A torch-style zip: <c>archive/data.pkl</c>, <c>archive/data/KEY</c> for each storage, <c>archive/version</c>.</summary>
    public static byte[] Zip(byte[] pickle, params (string Key, byte[] Bytes)[] storages)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, "archive/data.pkl", pickle);
            foreach (var (key, bytes) in storages) Add(zip, "archive/data/" + key, bytes);
            Add(zip, "archive/version", "3\n"u8.ToArray());
        }
        return memory.ToArray();
    }

    private static void Add(ZipArchive zip, string name, byte[] bytes)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        stream.Write(bytes);
    }

    /// <summary>Four float32 values 1, 2, 3, 4 as a storage's bytes.</summary>
    public static byte[] FourFloats() => [.. new float[] { 1, 2, 3, 4 }.SelectMany(BitConverter.GetBytes)];

    /// <summary>A valid one-tensor archive: "w" = storage "0" of four floats viewed with the given geometry.</summary>
    public static byte[] OneTensor(long numel, long offset, long[] size, long[] stride, string key = "0", string storageKey = "0") =>
        Zip(PickleBuilder.StateDict("w", p => p.Tensor(key, numel, offset, size, stride)), (storageKey, FourFloats()));
}

/// <summary>
/// The legacy stream written by hand: magic number, protocol 1001, system info, the object, the key list, then each
/// storage as an int64 element count and its data — for what PyTorch 1.13 no longer writes (storage views).
/// </summary>
internal static class HandmadeLegacy
{
    public static byte[] Stream(byte[] objectPickle, string[] keys, params float[][] storages)
    {
        var bytes = new List<byte>();
        bytes.AddRange([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, (byte)'.']);
        bytes.AddRange([0x80, 0x02, (byte)'M', 0xe9, 0x03, (byte)'.']);
        bytes.AddRange(new PickleBuilder().Op('}').Str("little_endian").Op(0x88).Op('s').Op('.').ToArray());
        bytes.AddRange(objectPickle);
        var list = new PickleBuilder().Op(']').Op('(');
        foreach (var k in keys) list.Str(k);
        bytes.AddRange(list.Op('e').Op('.').ToArray());
        foreach (var storage in storages)
        {
            bytes.AddRange(BitConverter.GetBytes((long)storage.Length));
            foreach (float v in storage) bytes.AddRange(BitConverter.GetBytes(v));
        }
        return bytes.ToArray();
    }
}
