namespace Striate;

/// <summary>
/// The storage a tensor shares with its views (reshapes, detached copies): the array, its version counter, as
/// PyTorch's storage and <c>tensor._version</c>, and for pooled arrays a generation. Every in-place write (writable
/// <see cref="Tensor.Span"/> access, the indexer's setter, <see cref="Tensor.Fill"/>, <see cref="Tensor.CopyFrom"/>,
/// optimizer steps) bumps <see cref="Version"/>; autograd compares it with the version it saved, and kernels' weight
/// caches (<see cref="Kernels.TransformedWeights"/>) use it to know when a transformed copy is stale.
/// </summary>
internal sealed class TensorStorage(float[] data, bool external = false, bool pooled = false)
{
    /// <summary>The elements (a view uses a window of it).</summary>
    internal readonly float[] Data = data;

    /// <summary>Bumped by every in-place write through a tensor on this storage.</summary>
    internal long Version;

    /// <summary>
    /// Bumped each time the array goes back to <see cref="TensorPool"/>: a tensor made at another generation is stale.
    /// </summary>
    internal int Generation;

    /// <summary>
    /// The array was a leaf's gradient that ZeroGrad set to none and a later backward reused (<see cref="Tensor.TakeParkedGrad"/>):
    /// a tensor of an older generation is a gradient someone kept past ZeroGrad, not a tensor of an ended scope.
    /// </summary>
    internal bool ReusedGradient;

    /// <summary>The array came from the caller (<see cref="Tensor.Wrap"/>): it may change behind our back, so no cache keys on it.</summary>
    internal readonly bool External = external;

    /// <summary>The array is recycled by <see cref="TensorPool"/> when its scope ends.</summary>
    internal readonly bool Pooled = pooled;

    /// <summary>The scope that returns this array to the pool when it ends (null: none, or already returned).</summary>
    internal TensorScope? Owner;

    /// <summary>This array's entry in <see cref="Owner"/>'s list, so that Keep and an early release are O(1).</summary>
    internal int Slot;

    /// <summary>
    /// How many tensors of a running backward pass hold this array as their pending gradient: the engine gives a
    /// gradient made during the pass back to the pool once nothing pending refers to it (<see cref="Autograd.Engine"/>).
    /// </summary>
    internal int PendingRefs;
}
