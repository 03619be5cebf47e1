using System.Globalization;
using Striate.IO;

namespace Striate.Training;

/// <summary>
/// One training run per output folder. Two runs on the same folder used to overwrite each other's checkpoint and
/// metrics (the last writer silently won, and a later resume continued whichever checkpoint was there). The lock is an
/// exclusive OS lock on <c>.striate-run.lock</c> in the folder, released by the OS when the process dies, so a killed
/// run never leaves the folder locked; <c>.striate-run.owner</c> says who holds it, for the second run's message.
/// </summary>
public sealed class RunFolderLock : IDisposable
{
    public const string LockFileName = ".striate-run.lock";
    public const string OwnerFileName = ".striate-run.owner";

    private readonly FileStream _lock;
    private readonly string _ownerPath;

    /// <summary>The folder this lock holds.</summary>
    public string Folder { get; }

    /// <summary>Temporary files of killed runs deleted when the lock was taken.</summary>
    public IReadOnlyList<string> DeletedTemporaries { get; }

    private RunFolderLock(string folder, FileStream lockStream, IReadOnlyList<string> deleted)
    {
        Folder = folder;
        _lock = lockStream;
        _ownerPath = Path.Combine(folder, OwnerFileName);
        DeletedTemporaries = deleted;
    }

    /// <summary>
    /// Takes the folder (creating it if needed) for this process, then deletes the temporary files that killed runs
    /// left there. Throws <see cref="RunFolderInUseException"/> naming the holder when another run has it.
    /// <paramref name="description"/> (e.g. the command line) is shown to a run that finds the folder taken.
    /// </summary>
    public static RunFolderLock Acquire(string folder, string description)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string full = Path.GetFullPath(folder);
        Directory.CreateDirectory(full);
        FileStream stream;
        try
        {
            // FileShare.None is an exclusive, non-blocking OS lock (flock on Linux, a share mode on Windows).
            stream = new FileStream(Path.Combine(full, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new RunFolderInUseException(full, ReadOwner(full), e);
        }
        try
        {
            string owner = string.Create(CultureInfo.InvariantCulture,
                $"process {Environment.ProcessId} on {Environment.MachineName}, since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC ({description})");
            AtomicFile.WriteAllText(Path.Combine(full, OwnerFileName), owner);
            var deleted = AtomicFile.DeleteStaleTemporaries(full);
            return new RunFolderLock(full, stream, deleted);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static string? ReadOwner(string folder)
    {
        try
        {
            string text = File.ReadAllText(Path.Combine(folder, OwnerFileName)).Trim();
            return text.Length == 0 ? null : text.Length <= 300 ? text : text[..300];
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    public void Dispose()
    {
        // The owner file goes first: once the lock is released, it belongs to the next run.
        try { File.Delete(_ownerPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        _lock.Dispose();
    }
}

/// <summary>Another run holds the folder; the message says who (process, machine, start time, command).</summary>
public sealed class RunFolderInUseException(string folder, string? owner, Exception inner)
    : IOException($"the run folder '{folder}' is in use by another run ({owner ?? "its owner is not recorded"}); wait for it to finish or choose another --out.", inner)
{
    public string Folder { get; } = folder;
    public string? Owner { get; } = owner;
}
