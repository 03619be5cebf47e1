namespace Striate.Data;

/// <summary>
/// Reads a length a header claims without trusting the claim: the buffer starts small and doubles as data really
/// arrives, so a 28-byte file that claims a gigabyte costs kilobytes, and a genuine file costs at most twice its size
/// in transient buffers.
/// </summary>
internal static class GrowingRead
{
    private const int FirstChunk = 1 << 16;

    /// <summary>Reads up to <paramref name="count"/> bytes. Returns an array of exactly <paramref name="count"/>
    /// bytes when the stream held them all (<paramref name="read"/> == count); otherwise <paramref name="read"/>
    /// says how many arrived and the array's contents are not to be used.</summary>
    public static byte[] ReadUpTo(Stream stream, int count, out int read)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var buffer = GC.AllocateUninitializedArray<byte>(Math.Min(count, FirstChunk));
        read = 0;
        while (read < count)
        {
            if (read == buffer.Length)
            {
                var larger = GC.AllocateUninitializedArray<byte>((int)Math.Min(count, 2L * buffer.Length));
                buffer.AsSpan(0, read).CopyTo(larger);
                buffer = larger;
            }
            int n = stream.Read(buffer, read, buffer.Length - read);
            if (n == 0) break;
            read += n;
        }
        return buffer;
    }
}
