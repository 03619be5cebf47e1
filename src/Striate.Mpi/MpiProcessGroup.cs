using Striate.Kernels;

namespace Striate.Distributed;

/// <summary>
/// A process group over MPI — one process per rank, started by <c>mpirun</c> (or srun, or any MPI launcher) — for
/// data-parallel training across cores and machines. Works with Open MPI and with MPICH-interface libraries (Intel MPI,
/// MVAPICH, Cray MPICH), loaded at run time; see <see cref="Initialize"/>.
/// </summary>
/// <remarks>
/// MPI is initialized with MPI_THREAD_MULTIPLE, because <see cref="DistributedDataParallel"/> reduces gradients on a
/// background thread (over a <see cref="Duplicate"/>) while the training thread runs its own collectives. Errors come
/// back as <see cref="MpiException"/>s (MPI_ERRORS_RETURN) instead of ending the process. A watchdog aborts the whole
/// job when a collective has not completed within <see cref="Timeout"/> — the sign that another process died or hung —
/// instead of waiting forever.
/// </remarks>
public sealed unsafe class MpiProcessGroup : IProcessGroup
{
    private static readonly object Gate = new();
    private static MpiProcessGroup? _world;

    private readonly MpiLibrary _mpi;
    private readonly CollectiveWatchdog _watchdog;
    private readonly bool _isWorld;
    private nint _comm;
    private bool _disposed;

    private MpiProcessGroup(MpiLibrary mpi, nint comm, bool isWorld, CollectiveWatchdog? watchdog, string version, string host)
    {
        (_mpi, _comm, _isWorld, Version, Host) = (mpi, comm, isWorld, version, host);
        int rank, size;
        mpi.Check(mpi.CommRank(comm, &rank), "MPI_Comm_rank");
        mpi.Check(mpi.CommSize(comm, &size), "MPI_Comm_size");
        (Rank, WorldSize) = (rank, size);
        _watchdog = watchdog ?? new CollectiveWatchdog(DefaultTimeout(), () => $"rank {Rank} of {WorldSize} on {Host} (pid {Environment.ProcessId})", AbortJob);
    }

    /// <summary>
    /// Initializes MPI (once per process) and returns the group of all its processes (MPI_COMM_WORLD). Collectives
    /// that do not complete within <paramref name="timeout"/> (default: $STRIATE_COLLECTIVE_TIMEOUT seconds, else 10
    /// minutes) abort the job. Throws <see cref="MpiNotFoundException"/>, saying what to install, when no MPI library
    /// can be loaded.
    /// </summary>
    public static MpiProcessGroup Initialize(TimeSpan? timeout = null)
    {
        lock (Gate)
        {
            if (_world != null)
                throw new InvalidOperationException("MpiProcessGroup.Initialize: MPI is already initialized in this process; use the group it returned (MPI cannot be initialized twice).");
            var mpi = MpiLibrary.Load();
            int initialized = 0, provided = 0;
            mpi.Check(mpi.Initialized(&initialized), "MPI_Initialized");
            if (initialized == 0)
                mpi.Check(mpi.InitThread(null, null, MpiLibrary.ThreadMultiple, &provided), "MPI_Init_thread");
            else
                provided = MpiLibrary.ThreadMultiple; // initialized by the host program: trust it asked for what it needs
            if (provided < MpiLibrary.ThreadMultiple)
                throw new MpiException($"{mpi.Version()} ({mpi.Path}) provides thread level {provided}, but Striate needs MPI_THREAD_MULTIPLE (3) to reduce gradients on a background thread; use an MPI built with thread support (Open MPI ≥ 3, MPICH ≥ 3.2 have it).");
            mpi.Check(mpi.CommSetErrhandler(mpi.CommWorld, mpi.ErrorsReturn), "MPI_Comm_set_errhandler");
            var limit = timeout ?? DefaultTimeout();
            if (limit <= TimeSpan.Zero) throw new ArgumentException($"MpiProcessGroup.Initialize: timeout must be positive, got {limit}.", nameof(timeout));
            MpiProcessGroup? world = null;
            var watchdog = new CollectiveWatchdog(limit, () => world == null ? "MPI" : $"rank {world.Rank} of {world.WorldSize} on {world.Host} (pid {Environment.ProcessId})", () => world?.AbortJob());
            world = new MpiProcessGroup(mpi, mpi.CommWorld, isWorld: true, watchdog, mpi.Version(), mpi.ProcessorName());
            return _world = world;
        }
    }

    /// <summary>
    /// True when this process was started by an MPI launcher (mpirun/mpiexec of Open MPI or MPICH, srun with PMI), judged
    /// by the environment variables launchers set; MPI is not loaded to find out.
    /// </summary>
    public static bool LaunchedByMpi =>
        new[] { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_SIZE" }
            .Any(v => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v)));

    private static TimeSpan DefaultTimeout()
    {
        var text = Environment.GetEnvironmentVariable("STRIATE_COLLECTIVE_TIMEOUT");
        if (string.IsNullOrEmpty(text)) return TimeSpan.FromMinutes(10);
        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || !(seconds > 0))
            throw new ArgumentException($"STRIATE_COLLECTIVE_TIMEOUT must be a positive number of seconds, got '{text}'.");
        return TimeSpan.FromSeconds(seconds);
    }

    public int Rank { get; }
    public int WorldSize { get; }

    /// <summary>The MPI library's version line, e.g. "Open MPI v4.1.4".</summary>
    public string Version { get; }

    /// <summary>This process's host (MPI_Get_processor_name).</summary>
    public string Host { get; }

    /// <summary>Which binary interface the loaded library follows.</summary>
    public MpiFlavor Flavor => _mpi.Flavor;

    /// <summary>How long a collective may take before the job is aborted.</summary>
    public TimeSpan Timeout => _watchdog.Timeout;

    public string Description => $"{Version}, {WorldSize} processes";

    public void AllReduce(Span<float> data, ReduceOp op = ReduceOp.Sum)
    {
        CheckOpen();
        fixed (float* p = data)
            using (_watchdog.Begin("MPI_Allreduce", data.Length * 4L))
                _mpi.Check(_mpi.Allreduce((void*)_mpi.InPlace, p, data.Length, _mpi.Float, Op(op), _comm), "MPI_Allreduce");
        if (op == ReduceOp.Average) Elementwise.Scale(data, 1f / WorldSize, data);
    }

    public void AllReduce(Span<double> data, ReduceOp op = ReduceOp.Sum)
    {
        CheckOpen();
        fixed (double* p = data)
            using (_watchdog.Begin("MPI_Allreduce", data.Length * 8L))
                _mpi.Check(_mpi.Allreduce((void*)_mpi.InPlace, p, data.Length, _mpi.Double, Op(op), _comm), "MPI_Allreduce");
        if (op == ReduceOp.Average)
        {
            double scale = 1.0 / WorldSize;
            for (int i = 0; i < data.Length; i++) data[i] *= scale;
        }
    }

    public void Broadcast(Span<float> data, int root = 0)
    {
        CheckOpen();
        CheckRoot(root);
        fixed (float* p = data)
            using (_watchdog.Begin("MPI_Bcast", data.Length * 4L))
                _mpi.Check(_mpi.Bcast(p, data.Length, _mpi.Float, root, _comm), "MPI_Bcast");
    }

    public void Broadcast(Span<byte> data, int root = 0)
    {
        CheckOpen();
        CheckRoot(root);
        fixed (byte* p = data)
            using (_watchdog.Begin("MPI_Bcast", data.Length))
                _mpi.Check(_mpi.Bcast(p, data.Length, _mpi.Byte, root, _comm), "MPI_Bcast");
    }

    public void AllGather(ReadOnlySpan<float> input, Span<float> output)
    {
        CheckOpen();
        if ((long)input.Length * WorldSize != output.Length)
            throw new ArgumentException($"AllGather: the output holds {output.Length} elements, expected {WorldSize} processes × {input.Length} = {(long)input.Length * WorldSize}.");
        fixed (float* pIn = input) fixed (float* pOut = output)
            using (_watchdog.Begin("MPI_Allgather", output.Length * 4L))
                _mpi.Check(_mpi.Allgather(pIn, input.Length, _mpi.Float, pOut, input.Length, _mpi.Float, _comm), "MPI_Allgather");
    }

    public void Barrier()
    {
        CheckOpen();
        using (_watchdog.Begin("MPI_Barrier", 0))
            _mpi.Check(_mpi.Barrier(_comm), "MPI_Barrier");
    }

    public IProcessGroup Duplicate()
    {
        CheckOpen();
        nint copy = 0; // MPICH writes a 32-bit handle into the low half; the high half stays 0 (little-endian)
        using (_watchdog.Begin("MPI_Comm_dup", 0))
            _mpi.Check(_mpi.CommDup(_comm, &copy), "MPI_Comm_dup");
        return new MpiProcessGroup(_mpi, copy, isWorld: false, _watchdog, Version, Host);
    }

    /// <summary>
    /// Ends every process of the job with <paramref name="errorCode"/> (MPI_Abort): what a process that cannot go on must
    /// do, so that the others do not wait for it forever.
    /// </summary>
    public void Abort(int errorCode = 1)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        _mpi.Abort(_mpi.CommWorld, errorCode);
        Environment.Exit(errorCode); // MPI_Abort does not return; if it ever does, still stop
    }

    private void AbortJob() => Abort(1);

    private nint Op(ReduceOp op) => op switch
    {
        ReduceOp.Max => _mpi.OpMax,
        ReduceOp.Min => _mpi.OpMin,
        _ => _mpi.OpSum,
    };

    private void CheckRoot(int root)
    {
        if (root < 0 || root >= WorldSize)
            throw new ArgumentOutOfRangeException(nameof(root), root, $"Broadcast: root must be a rank in [0, {WorldSize - 1}], got {root}.");
    }

    private void CheckOpen()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
    }

    /// <summary>Frees a duplicate's communicator; disposing the world group finalizes MPI (after which it cannot be used again in this process).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_isWorld)
        {
            _watchdog.Dispose();
            int finalized = 0;
            _mpi.Finalized(&finalized);
            if (finalized == 0) _mpi.Finalize();
        }
        else
        {
            var comm = _comm;
            _mpi.CommFree(&comm);
            _comm = 0;
        }
    }
}
