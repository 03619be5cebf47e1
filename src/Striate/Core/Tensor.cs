using System.Runtime.CompilerServices;
using System.Text;
using Striate.Autograd;

namespace Striate;

/// <summary>
/// A float32 tensor: contiguous row-major storage (NCHW for images) with a shape, and the autograd state
/// that lets <see cref="Backward"/> compute gradients of everything that led to it.
/// </summary>
/// <remarks>
/// Shapes: any rank from 0 (a scalar) up. Views made by <see cref="Reshape"/>, <see cref="View"/> and
/// <see cref="Flatten"/> share storage with their source.
/// </remarks>
public sealed partial class Tensor
{
    private readonly int[] _shape;
    private readonly TensorStorage _storage;
    private readonly int _generation;        // the storage's generation when this tensor was made (pooled storage)
    private readonly string? _allocatedAt;   // the allocating stack, under TensorPool.DebugAllocations

    /// <summary>The backing array; elements <c>[Offset, Offset + Numel)</c> belong to this tensor.</summary>
    internal float[] Storage => StorageObject.Data;

    /// <summary>The shared storage, after checking that it still belongs to this tensor.</summary>
    internal TensorStorage StorageObject
    {
        get
        {
            if (_storage.Generation != _generation) ThrowReleased();
            return _storage;
        }
    }

    /// <summary>Where this tensor starts in <see cref="Storage"/>.</summary>
    internal int Offset { get; }

    internal Tensor(float[] storage, int offset, int[] shape) : this(new TensorStorage(storage), offset, shape, 0) { }

    private Tensor(TensorStorage storage, int offset, int[] shape, int generation, string? allocatedAt = null)
    {
        _storage = storage;
        _generation = generation;
        _allocatedAt = allocatedAt;
        Offset = offset;
        _shape = shape;
        Numel = Tensor.CountElements(shape, "Tensor");
        if ((long)offset + Numel > storage.Data.Length)
            throw new ArgumentException($"Tensor: shape {FormatShape(shape)} needs {Numel} elements from offset {offset}, but storage has {storage.Data.Length}.");
    }

    /// <summary>Another tensor on the same storage (and version counter) with <paramref name="shape"/>: a view.</summary>
    internal Tensor Alias(int[] shape) => new(StorageObject, Offset, shape, _generation, _allocatedAt);

    /// <summary>
    /// The error for a tensor whose pooled storage went back to <see cref="TensorPool"/> when its scope ended: the array
    /// may hold another tensor's values by now, so reading or writing it would silently be wrong.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowReleased() => throw new InvalidOperationException(_storage.ReusedGradient
        ? $"Tensor {FormatShape(_shape)} is a gradient that ZeroGrad() set to none (PyTorch's zero_grad default); a later backward reused its " +
          "array for the new gradient, so it no longer holds the values it had. Clone a gradient to keep it past ZeroGrad, or call ZeroGrad(setToNone: false)."
        : $"Tensor {FormatShape(_shape)} was used after the TensorScope that allocated it ended: its storage went back to the pool and may hold " +
        "another tensor's values now. Pass it to TensorScope.Keep before the scope ends (or Clone it outside the scope). " +
        (_allocatedAt != null ? $"It was allocated at:{Environment.NewLine}{_allocatedAt}" : "Set STRIATE_DEBUG_TENSORS=1 to see where it was allocated."));

    /// <summary>
    /// How many in-place writes this tensor's storage has seen (PyTorch's <c>tensor._version</c>), shared with its views.
    /// Writable <see cref="Span"/> access, the indexer's setter, <see cref="Fill"/>, <see cref="CopyFrom"/> and
    /// optimizer steps bump it; reading through <see cref="ReadOnlySpan"/> does not.
    /// </summary>
    public long Version => _storage.Version;

    /// <summary>Records an in-place write made without <see cref="Span"/> (a loader filling its batch array directly).</summary>
    internal void BumpVersion() => _storage.Version++;

    /// <summary>
    /// The key under which kernels may keep a transformed copy of this tensor as a weight (<see cref="Kernels.TransformedWeights"/>):
    /// this tensor and its storage version; none for arrays the caller wrapped (<see cref="Wrap"/>), which can change unseen.
    /// </summary>
    internal Kernels.WeightKey? WeightCacheKey => _storage.External ? null : new Kernels.WeightKey(this, StorageObject.Version);

    /// <summary>The sizes of each dimension.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The shape as a fresh array.</summary>
    public int[] ShapeArray => (int[])_shape.Clone();

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements (product of the shape; 1 for a scalar).</summary>
    public int Numel { get; }

    /// <summary>
    /// True when the tensor stands for int64 values held as float32: PyTorch's integer buffers (<c>num_batches_tracked</c>)
    /// and I64 tensors read from files. Every writer (<see cref="IO.SafetensorsWriter"/>, checkpoints) stores it as I64.
    /// </summary>
    public bool IsInteger { get; internal set; }

    /// <summary>Size of dimension <paramref name="dim"/>; negative counts from the end as in PyTorch.</summary>
    public int Size(int dim) => _shape[NormalizeDim(dim, Rank, "Size")];

    /// <summary>
    /// The elements, writable: taking it counts as an in-place write (bumps <see cref="Version"/>), so a backward that
    /// saved this tensor fails instead of computing a wrong gradient. Read through <see cref="ReadOnlySpan"/>.
    /// </summary>
    public Span<float> Span
    {
        get
        {
            var storage = StorageObject;
            storage.Version++;
            return storage.Data.AsSpan(Offset, Numel);
        }
    }

    /// <summary>The elements, read-only.</summary>
    public ReadOnlySpan<float> ReadOnlySpan => new(StorageObject.Data, Offset, Numel);

    /// <summary>The elements copied into a new array.</summary>
    public float[] ToArray() => ReadOnlySpan.ToArray();

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Tensor.Item: tensor has shape {FormatShape(_shape)} ({Numel} elements); expected exactly one element.");
        return Storage[Offset];
    }

    /// <summary>Element access by full index (for tests and small jobs; not for inner loops).</summary>
    [IndexerName("At")]
    public float this[params int[] index]
    {
        get => Storage[Offset + FlatIndex(index)];
        set
        {
            Storage[Offset + FlatIndex(index)] = value;
            _storage.Version++;
        }
    }

    private int FlatIndex(int[] index)
    {
        if (index.Length != Rank)
            throw new ArgumentException($"Tensor indexer: got {index.Length} indices for a tensor of rank {Rank} (shape {FormatShape(_shape)}).");
        int flat = 0;
        for (int d = 0; d < Rank; d++)
        {
            int i = index[d];
            if (i < 0) i += _shape[d];
            if ((uint)i >= (uint)_shape[d])
                throw new IndexOutOfRangeException($"Tensor indexer: index {index[d]} is out of range for dimension {d} of size {_shape[d]} (shape {FormatShape(_shape)}).");
            flat = flat * _shape[d] + i;
        }
        return flat;
    }

    // ---- creation -------------------------------------------------------------------------------

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => Allocate(shape, clear: true);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Allocate(shape, clear: false);
        t.Span.Fill(value);
        return t;
    }

    /// <summary>A tensor with the same shape as <paramref name="other"/>, filled with zeros.</summary>
    public static Tensor ZerosLike(Tensor other) => Allocate(other._shape, clear: true);

    /// <summary>Values start, start+step, … below end, as torch.arange. Shapes: [ceil((end-start)/step)].</summary>
    public static Tensor Arange(float start, float end, float step = 1f)
    {
        if (step == 0 || float.IsNaN(step)) throw new ArgumentException($"Tensor.Arange: step must be non-zero, got {step}.", nameof(step));
        double countD = Math.Ceiling((end - (double)start) / step);
        if (countD < 0 || countD > int.MaxValue) throw new ArgumentException($"Tensor.Arange: range [{start}, {end}) with step {step} gives {countD} elements.");
        int count = (int)countD;
        var t = Allocate([count], clear: false);
        var s = t.Span;
        for (int i = 0; i < count; i++) s[i] = (float)(start + (double)i * step);
        return t;
    }

    /// <summary>A tensor holding a copy of <paramref name="data"/>, viewed with <paramref name="shape"/> (default: 1-D; use <see cref="Scalar"/> for rank 0).</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, params int[] shape)
    {
        if (shape.Length == 0) shape = [data.Length];
        int n = CountElements(shape, "Tensor.FromArray");
        if (n != data.Length)
            throw new ArgumentException($"Tensor.FromArray: shape {FormatShape(shape)} needs {n} elements, but data has {data.Length}.", nameof(data));
        var t = Allocate(shape, clear: false);
        data.CopyTo(t.Span);
        return t;
    }

    /// <summary>A scalar (rank-0) tensor.</summary>
    public static Tensor Scalar(float value)
    {
        var t = Allocate([], clear: false);
        t.Span[0] = value;
        return t;
    }

    /// <summary>A tensor that wraps <paramref name="storage"/> without copying.</summary>
    /// <remarks>Writes into the array itself bypass <see cref="Version"/>; write through <see cref="Span"/> instead.</remarks>
    public static Tensor Wrap(float[] storage, params int[] shape) => new(new TensorStorage(storage, external: true), 0, (int[])shape.Clone(), 0);

    /// <summary>Uniform samples in [low, high) from <paramref name="generator"/> (default: <see cref="Generator.Default"/>).</summary>
    public static Tensor Rand(int[] shape, Generator? generator = null, float low = 0f, float high = 1f)
    {
        var g = generator ?? Generator.Default;
        var t = Allocate(shape, clear: false);
        var s = t.Span;
        float width = high - low;
        for (int i = 0; i < s.Length; i++) s[i] = low + width * g.NextFloat();
        return t;
    }

    /// <summary>Normal samples with mean 0 and standard deviation 1 (scaled by <paramref name="std"/>, shifted by <paramref name="mean"/>).</summary>
    public static Tensor Randn(int[] shape, Generator? generator = null, float mean = 0f, float std = 1f)
    {
        var g = generator ?? Generator.Default;
        var t = Allocate(shape, clear: false);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = mean + std * (float)g.NextGaussian();
        return t;
    }

    /// <summary>Allocates storage from the pool (returned when the current <see cref="TensorScope"/> ends).</summary>
    internal static Tensor Allocate(ReadOnlySpan<int> shape, bool clear)
    {
        var dims = shape.ToArray();
        int n = CountElements(dims, "Tensor");
        var storage = TensorPool.Rent(n, clear);
        return new Tensor(storage, 0, dims, storage.Generation, storage.Pooled && TensorPool.DebugAllocations ? Environment.StackTrace : null);
    }

    /// <summary>Allocates storage that no scope will reclaim (parameters, leaf gradients, optimizer state).</summary>
    internal static Tensor AllocatePersistent(ReadOnlySpan<int> shape)
    {
        var dims = shape.ToArray();
        return new Tensor(new float[CountElements(dims, "Tensor")], 0, dims);
    }

    // ---- views and copies -----------------------------------------------------------------------

    /// <summary>
    /// The same elements seen with another shape (no copy). One dimension may be -1 and is inferred.
    /// Gradients flow through the view.
    /// </summary>
    public Tensor Reshape(params int[] shape) => Functional.F.Reshape(this, shape);

    /// <summary>Same as <see cref="Reshape"/>: storage is always contiguous, so every reshape is a view.</summary>
    public Tensor View(params int[] shape) => Reshape(shape);

    /// <summary>Flattens dimensions <paramref name="startDim"/>..<paramref name="endDim"/> into one, as torch.flatten.</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1) => Functional.F.Flatten(this, startDim, endDim);

    /// <summary>A tensor sharing storage but cut off from the graph (no gradient flows through it).</summary>
    public Tensor Detach()
    {
        var detached = Alias(_shape);
        Graph.GraphTracer.Current?.Record(new Graph.IdentityOp(), detached, this);
        return detached;
    }

    /// <summary>A copy with its own storage, detached from the graph.</summary>
    public Tensor Clone()
    {
        var t = Allocate(_shape, clear: false);
        ReadOnlySpan.CopyTo(t.Span);
        Graph.GraphTracer.Current?.Record(new Graph.IdentityOp(), t, this);
        return t;
    }

    /// <summary>Copies <paramref name="source"/>'s elements into this tensor (same element count required).</summary>
    public void CopyFrom(Tensor source)
    {
        if (source.Numel != Numel || !source.Shape.SequenceEqual(Shape))
            throw new ArgumentException($"Tensor.CopyFrom: source has shape {FormatShape(source._shape)}, expected {FormatShape(_shape)}.", nameof(source));
        source.ReadOnlySpan.CopyTo(Span);
    }

    /// <summary>Fills every element with <paramref name="value"/> in place.</summary>
    public void Fill(float value) => Span.Fill(value);

    // ---- helpers --------------------------------------------------------------------------------

    internal static int CountElements(ReadOnlySpan<int> shape, string op)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"{op}: shape {FormatShape(shape)} has a negative dimension.");
            n *= d;
            if (n > Array.MaxLength) throw new ArgumentException($"{op}: shape {FormatShape(shape)} has more than {Array.MaxLength} elements.");
        }
        return (int)n;
    }

    internal static int NormalizeDim(int dim, int rank, string op)
    {
        int d = dim < 0 ? dim + rank : dim;
        if ((uint)d >= (uint)rank) throw new ArgumentOutOfRangeException(nameof(dim), $"{op}: dimension {dim} is out of range for a tensor of rank {rank}.");
        return d;
    }

    /// <summary>Formats a shape as PyTorch prints it: <c>[2, 3, 28, 28]</c>.</summary>
    public static string FormatShape(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++) { if (i > 0) sb.Append(", "); sb.Append(shape[i]); }
        return sb.Append(']').ToString();
    }

    /// <summary>Shape and (for small tensors) values.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder($"Tensor{FormatShape(_shape)}");
        if (Numel <= 16)
        {
            sb.Append(" {");
            var s = ReadOnlySpan;
            for (int i = 0; i < s.Length; i++) { if (i > 0) sb.Append(", "); sb.Append(s[i].ToString("G6", System.Globalization.CultureInfo.InvariantCulture)); }
            sb.Append('}');
        }
        if (RequiresGrad) sb.Append(" requires_grad");
        return sb.ToString();
    }
}
