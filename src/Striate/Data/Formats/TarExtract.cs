using System.Formats.Tar;
using System.IO.Compression;

namespace Striate.Data;

/// <summary>
/// Extracts chosen regular files from a .tar or .tar.gz (gzip detected by magic) using System.Formats.Tar.
/// Entry names are checked: absolute paths and ".." components are refused, so an archive cannot write
/// outside the destination. Each file is written to a temporary name and renamed into place.
/// </summary>
public static class TarExtract
{
    /// <summary>
    /// Extracts every regular-file entry for which <paramref name="select"/> (given the entry name with '/'
    /// separators) is true into <paramref name="destination"/>, keeping the entry's relative path.
    /// Returns the paths written. Throws <see cref="InvalidDataException"/> naming the archive when it is corrupt.
    /// </summary>
    public static IReadOnlyList<string> Extract(string archivePath, string destination, Func<string, bool> select)
    {
        var written = new List<string>();
        string root = Path.GetFullPath(destination);
        using var file = File.OpenRead(archivePath);
        int b0 = file.ReadByte(), b1 = file.ReadByte();
        file.Position = 0;
        Stream stream = b0 == 0x1f && b1 == 0x8b ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            using var reader = new TarReader(stream);
            TarEntry? entry;
            while ((entry = reader.GetNextEntry()) is not null)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                string name = entry.Name.Replace('\\', '/');
                if (name.StartsWith("./", StringComparison.Ordinal)) name = name[2..];
                if (!select(name)) continue;
                if (Path.IsPathRooted(name) || name.Split('/').Any(part => part == ".."))
                    throw new InvalidDataException($"Archive '{archivePath}': entry '{entry.Name}' would be written outside the destination; refusing.");
                string target = Path.GetFullPath(Path.Combine(root, name));
                if (!target.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    throw new InvalidDataException($"Archive '{archivePath}': entry '{entry.Name}' would be written outside the destination; refusing.");
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                string temp = target + ".partial-" + Guid.NewGuid().ToString("N")[..8];
                try
                {
                    using (var output = File.Create(temp))
                        entry.DataStream?.CopyTo(output);
                    File.Move(temp, target, overwrite: true);
                }
                finally
                {
                    if (File.Exists(temp)) File.Delete(temp);
                }
                written.Add(target);
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException && !e.Message.StartsWith("Archive '", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Archive '{archivePath}': corrupt or truncated ({e.Message}).", e);
        }
        finally
        {
            if (stream != file) stream.Dispose();
        }
        return written;
    }
}
