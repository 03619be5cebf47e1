namespace Striate.Distributed;

/// <summary>How <see cref="IProcessGroup.AllReduce(Span{float}, ReduceOp)"/> combines the processes' values, element by element.</summary>
public enum ReduceOp
{
    /// <summary>The sum over processes.</summary>
    Sum,
    /// <summary>The sum divided by the number of processes.</summary>
    Average,
    /// <summary>The largest value.</summary>
    Max,
    /// <summary>The smallest value.</summary>
    Min,
}

/// <summary>
/// The processes of a data-parallel job and the collective operations they run together, as torch.distributed's
/// process group. Every process calls the same collectives in the same order with the same sizes; a call returns once
/// this process's part is done. Backends: <c>MpiProcessGroup</c> (the Striate.Mpi assembly, one process per rank
/// under <c>mpirun</c>) and <see cref="ThreadProcessGroup"/> (ranks as threads of one process, for tests).
/// </summary>
/// <remarks>
/// One group may be used by one thread at a time. A thread that runs collectives concurrently with another (the
/// gradient reduction of <see cref="DistributedDataParallel"/>) uses its own <see cref="Duplicate"/>, whose
/// collectives never match this group's.
/// </remarks>
public interface IProcessGroup : IDisposable
{
    /// <summary>This process's index, in [0, <see cref="WorldSize"/>).</summary>
    int Rank { get; }

    /// <summary>The number of processes.</summary>
    int WorldSize { get; }

    /// <summary>The backend and where it runs, for logs (e.g. "Open MPI v4.1.4, 2 processes").</summary>
    string Description { get; }

    /// <summary>Combines <paramref name="data"/> over all processes, in place; every process gets the same result.</summary>
    void AllReduce(Span<float> data, ReduceOp op = ReduceOp.Sum);

    /// <inheritdoc cref="AllReduce(Span{float}, ReduceOp)"/>
    void AllReduce(Span<double> data, ReduceOp op = ReduceOp.Sum);

    /// <summary>Copies <paramref name="data"/> of process <paramref name="root"/> into every other process's <paramref name="data"/>.</summary>
    void Broadcast(Span<float> data, int root = 0);

    /// <inheritdoc cref="Broadcast(Span{float}, int)"/>
    void Broadcast(Span<byte> data, int root = 0);

    /// <summary>
    /// Every process's <paramref name="input"/>, concatenated in rank order, into every process's
    /// <paramref name="output"/> (WorldSize × input.Length elements).
    /// </summary>
    void AllGather(ReadOnlySpan<float> input, Span<float> output);

    /// <summary>Returns once every process has called it.</summary>
    void Barrier();

    /// <summary>
    /// A new group of the same processes whose collectives are independent of this one's (MPI_Comm_dup), so that
    /// another thread can run collectives at the same time. Collective: every process must call it.
    /// </summary>
    IProcessGroup Duplicate();
}
