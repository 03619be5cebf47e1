using System.Runtime.InteropServices;
using Striate.Distributed;

namespace Striate.Cli;

/// <summary>
/// The MPI side of <c>striate train --distributed</c>: joining the job that <c>mpirun</c> started, quieting the
/// processes other than rank 0, sharing rank 0's checkpoint, and ending the whole job when one process fails.
/// </summary>
internal static class DistributedLaunch
{
    /// <summary>The job this process belongs to, once <see cref="Join"/> has run.</summary>
    public static MpiProcessGroup? World { get; private set; }

    /// <summary>Said when mpirun stops this process because another one ended, e.g. which checkpoint resumes the run.</summary>
    public static string StopNote { get; set; } = "";

    private static PosixSignalRegistration? _sigterm;

    /// <summary>
    /// Joins the MPI job (ranks and world size come from mpirun). Refuses, saying what to do, when this process was not
    /// started by an MPI launcher, or when no MPI library is installed.
    /// </summary>
    public static MpiProcessGroup Join(string command)
    {
        if (!MpiProcessGroup.LaunchedByMpi)
            throw new ArgumentException($"--distributed: this process was not started by an MPI launcher; start one process per rank with it, e.g. mpirun -np 2 striate {command} … --distributed (or leave out --distributed to train in this process alone).");
        var world = World = MpiProcessGroup.Initialize();
        CliErrors.Where = $" (rank {world.Rank} of {world.WorldSize} on {world.Host})";
        // mpirun stops the others with SIGTERM when one process dies: say so, and what to do next, before ending.
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ =>
        {
            Console.Error.WriteLine($"striate {command}{CliErrors.Where}: stopped by mpirun (SIGTERM) because another process of the job ended; its own message or mpirun's says why.{StopNote}");
            Console.Error.Flush();
        });
        // Rank 0 speaks for the job; the others would print the same lines again. Their errors still reach stderr.
        if (world.Rank != 0) Console.SetOut(TextWriter.Null);
        return world;
    }

    /// <summary>
    /// Refuses to train alone under an mpirun of several processes: each would train on all the data and overwrite the
    /// others' files.
    /// </summary>
    public static void RefuseUndistributedJob(string command)
    {
        var size = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") ?? Environment.GetEnvironmentVariable("PMI_SIZE");
        if (int.TryParse(size, out int processes) && processes > 1)
            throw new ArgumentException($"this is one of {processes} processes started by mpirun, but without --distributed each would train alone on all the data and write the same files; add --distributed (striate {command} … --distributed).");
    }

    /// <summary>
    /// After the command's body: a process that failed ends every process of the job (MPI_Abort) — the others would
    /// otherwise wait in their next collective until the watchdog's timeout; a process that succeeded leaves MPI.
    /// </summary>
    public static int Finish(int exitCode)
    {
        if (World is not { } world) return exitCode;
        if (exitCode != 0 && world.WorldSize > 1) world.Abort(exitCode);
        world.Dispose();
        return exitCode;
    }

    /// <summary>
    /// Reads <paramref name="path"/> on rank 0 and gives every process a copy (in a temporary file, deleted with the
    /// returned handle): the other processes may run on machines that do not share rank 0's disk.
    /// </summary>
    public static SharedFile ShareFromRank0(IProcessGroup group, string path)
    {
        if (group.Rank == 0) return new SharedFile(path, null, Broadcast(group, File.ReadAllBytes(path)));
        var bytes = Broadcast(group, null);
        string copy = Path.Combine(Path.GetTempPath(), $"striate-rank{group.Rank}-{Environment.ProcessId}-{Path.GetFileName(path)}");
        File.WriteAllBytes(copy, bytes);
        return new SharedFile(copy, copy, bytes);
    }

    private static byte[] Broadcast(IProcessGroup group, byte[]? data)
    {
        var length = BitConverter.GetBytes((long)(data?.Length ?? 0));
        group.Broadcast(length, 0);
        data ??= new byte[BitConverter.ToInt64(length)];
        const int Chunk = 1 << 30; // MPI counts are 32-bit
        for (long offset = 0; offset < data.Length; offset += Chunk)
            group.Broadcast(data.AsSpan((int)offset, (int)Math.Min(Chunk, data.Length - offset)), 0);
        return data;
    }

    /// <summary>A file every process can read at <see cref="Path"/>; the copy, if one was made, is deleted on dispose.</summary>
    public sealed class SharedFile(string path, string? copy, byte[] bytes) : IDisposable
    {
        public string Path { get; } = path;
        public long Length => bytes.LongLength;

        public void Dispose()
        {
            if (copy != null) File.Delete(copy);
        }
    }
}
