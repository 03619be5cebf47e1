using Microsoft.Win32.SafeHandles;

namespace Striate.IO.Pth;

/// <summary>
/// Random access to the bytes of a file on disk or in memory. Every read is checked against <see cref="Length"/>
/// first, so a size or offset taken from the file can never read (or make anyone allocate) past its end.
/// </summary>
internal abstract class ByteSource : IDisposable
{
    /// <summary>The file's name in error messages.</summary>
    public string Name { get; }

    /// <summary>Total length in bytes.</summary>
    public abstract long Length { get; }

    protected ByteSource(string name) => Name = name;

    public static ByteSource OpenFile(string path) => new FileSource(path);

    public static ByteSource FromMemory(ReadOnlyMemory<byte> bytes, string name) => new MemorySource(bytes, name);

    /// <summary>True when [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="count"/>) lies inside the source.</summary>
    public bool Contains(long offset, long count) => offset >= 0 && count >= 0 && offset <= Length && count <= Length - offset;

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; <paramref name="what"/> names the read in the error.</summary>
    public void Read(long offset, Span<byte> destination, string what)
    {
        if (!Contains(offset, destination.Length))
            throw new PthFormatException(Name, what,
                $"needs bytes {offset}..{offset + destination.Length} but the file is {Length} bytes long; it is truncated or corrupt");
        ReadCore(offset, destination);
    }

    /// <summary>A fresh array holding <paramref name="count"/> bytes from <paramref name="offset"/> (checked before allocating).</summary>
    public byte[] ReadArray(long offset, long count, string what)
    {
        if (!Contains(offset, count))
            throw new PthFormatException(Name, what,
                $"needs {count} bytes at offset {offset} but the file is {Length} bytes long; it is truncated or corrupt");
        if (count > Array.MaxLength)
            throw new PthFormatException(Name, what, $"is {count} bytes; pieces above {Array.MaxLength} bytes are not supported");
        var bytes = new byte[count];
        ReadCore(offset, bytes);
        return bytes;
    }

    protected abstract void ReadCore(long offset, Span<byte> destination);

    public virtual void Dispose() { }

    private sealed class FileSource : ByteSource
    {
        private readonly SafeFileHandle _handle;
        private readonly long _length;

        public FileSource(string path) : base(path)
        {
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
            _length = RandomAccess.GetLength(_handle);
        }

        public override long Length => _length;

        protected override void ReadCore(long offset, Span<byte> destination)
        {
            while (destination.Length > 0)
            {
                int n = RandomAccess.Read(_handle, destination, offset);
                if (n == 0)
                    throw new PthFormatException(Name, null, $"the file ended at offset {offset} while reading; it changed while it was being read");
                destination = destination[n..];
                offset += n;
            }
        }

        public override void Dispose() => _handle.Dispose();
    }

    private sealed class MemorySource(ReadOnlyMemory<byte> bytes, string name) : ByteSource(name)
    {
        public override long Length => bytes.Length;

        protected override void ReadCore(long offset, Span<byte> destination) =>
            bytes.Span.Slice((int)offset, destination.Length).CopyTo(destination);
    }
}
