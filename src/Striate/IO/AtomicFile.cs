namespace Striate.IO;

/// <summary>
/// Writes a file so that readers see either the old or the new content, never a half-written one: the data goes to a
/// temporary file in the same folder, is flushed to disk, then renamed over the target. Every write gets its own
/// temporary name (<c>.NAME.GUID.tmp</c>), so two writers of the same file never share one (four runs on one folder
/// used to crash on a shared <c>metrics.json.tmp</c>); the last rename wins.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes whatever <paramref name="write"/> puts into the stream to <paramref name="path"/>, atomically.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string fullPath = Path.GetFullPath(path);
        string temp = TemporaryPathFor(fullPath);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark), atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });

    /// <summary>Writes <paramref name="bytes"/>, atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    /// <summary>A fresh temporary name beside <paramref name="fullPath"/>, of the form <see cref="DeleteStaleTemporaries"/> recognizes.</summary>
    public static string TemporaryPathFor(string fullPath) =>
        Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");

    /// <summary>
    /// Deletes the temporary files that writes killed mid-way left in <paramref name="folder"/> (names of the form
    /// <c>.NAME.GUID.tmp</c>, and the <c>NAME.tmp</c> earlier versions used). Call it only while no one else writes
    /// there (e.g. holding the <see cref="Training.RunFolderLock"/>). Returns the names deleted.
    /// </summary>
    public static IReadOnlyList<string> DeleteStaleTemporaries(string folder)
    {
        var deleted = new List<string>();
        if (!Directory.Exists(folder)) return deleted;
        foreach (var file in Directory.EnumerateFiles(folder, "*.tmp"))
        {
            string name = Path.GetFileName(file);
            if (!IsOurs(name)) continue;
            try
            {
                File.Delete(file);
                deleted.Add(name);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return deleted;
    }

    private static bool IsOurs(string name)
    {
        // .NAME.<32 hex>.tmp
        if (name.StartsWith('.') && name.Length > 38)
        {
            var guid = name.AsSpan(name.Length - 36, 32);
            if (name[^37] == '.' && Guid.TryParseExact(guid, "N", out _)) return true;
        }
        // NAME.tmp for the files a run writes (metrics.json.tmp of earlier versions)
        return name is "metrics.json.tmp" or "model.safetensors.tmp" or "curves.svg.tmp" or "confusion.svg.tmp";
    }
}
