namespace Striate.IO.Pth;

/// <summary>
/// Buffered sequential reads of a pickle inside a <see cref="ByteSource"/>, between a start offset and a limit (the
/// end of a zip entry, or the end of the file for the legacy format, where several pickles follow each other). A
/// length read from the pickle is checked against the bytes that remain before anything is allocated for it.
/// </summary>
internal sealed class PickleInput
{
    private readonly ByteSource _source;
    private readonly long _limit;
    private readonly byte[] _buffer = new byte[1 << 16];
    private long _bufferStart;
    private int _bufferLength;

    /// <summary>Absolute offset of the next byte.</summary>
    public long Position { get; private set; }

    public string SourceName => _source.Name;

    public PickleInput(ByteSource source, long start, long limit)
    {
        _source = source;
        Position = start;
        _bufferStart = start;
        _limit = limit;
    }

    /// <summary>Bytes left before the limit.</summary>
    public long Remaining => _limit - Position;

    /// <summary>Reads one byte, or returns -1 at the limit.</summary>
    public int ReadByte()
    {
        if (Position >= _limit) return -1;
        if (Position < _bufferStart || Position >= _bufferStart + _bufferLength) Fill();
        return _buffer[Position++ - _bufferStart];
    }

    /// <summary>Copies exactly <paramref name="destination"/>.Length bytes; false (nothing consumed) if fewer remain.</summary>
    public bool TryRead(Span<byte> destination)
    {
        if (destination.Length > Remaining) return false;
        while (destination.Length > 0)
        {
            if (Position < _bufferStart || Position >= _bufferStart + _bufferLength) Fill();
            int at = (int)(Position - _bufferStart);
            int n = Math.Min(destination.Length, _bufferLength - at);
            _buffer.AsSpan(at, n).CopyTo(destination);
            destination = destination[n..];
            Position += n;
        }
        return true;
    }

    /// <summary>A fresh array of <paramref name="count"/> bytes, or null if fewer remain (checked before allocating).</summary>
    public byte[]? TryReadArray(long count)
    {
        if (count < 0 || count > Remaining || count > Array.MaxLength) return null;
        var bytes = new byte[count];
        return TryRead(bytes) ? bytes : null;
    }

    /// <summary>
    /// The bytes up to the next '\n' (consumed, not returned), decoded as Latin-1; null if no newline comes within
    /// <paramref name="maxLength"/> bytes or before the limit.
    /// </summary>
    public string? TryReadLine(int maxLength)
    {
        var chars = new System.Text.StringBuilder();
        long start = Position;
        while (true)
        {
            int b = ReadByte();
            if (b < 0 || chars.Length > maxLength)
            {
                Position = start;
                return null;
            }
            if (b == '\n') return chars.ToString();
            chars.Append((char)b);
        }
    }

    private void Fill()
    {
        _bufferStart = Position;
        _bufferLength = (int)Math.Min(_buffer.Length, _limit - Position);
        _source.Read(Position, _buffer.AsSpan(0, _bufferLength), "pickle");
    }
}
