namespace Striate;

/// <summary>
/// Recycles tensor storage so that a training step, once warmed up, allocates (almost) nothing on the
/// managed heap. Arrays are kept in buckets of exactly one length: a training loop asks for the same
/// shapes every step, so exact buckets hit every time and waste nothing.
/// </summary>
/// <remarks>
/// Storage rented while a <see cref="TensorScope"/> is open on the current thread is returned when the scope
/// ends; outside a scope, storage is ordinary garbage-collected memory. Each thread keeps its own buckets (no lock:
/// threads running their own steps never wait for each other); storage returned on another thread than the one that
/// rented it simply joins that thread's buckets. Returned storage gets a new generation, so a tensor still pointing at
/// it (one that outlived its scope without <see cref="TensorScope.Keep"/>) throws on its next use instead of reading
/// or writing whatever tensor holds the array now.
/// </remarks>
public static class TensorPool
{
    private const int MaxArraysPerLength = 64;

    [ThreadStatic] private static Dictionary<int, Stack<TensorStorage>>? t_buckets;
    [ThreadStatic] private static int t_clearEpoch;
    [ThreadStatic] private static long t_freshArrays;

    /// <summary>How many arrays this thread's scopes had to allocate because the pool had none of the length (tests watch it).</summary>
    internal static long FreshArrays => t_freshArrays;
    private static int clearEpoch;

    /// <summary>
    /// When set (environment variable STRIATE_DEBUG_TENSORS=1), each pooled tensor remembers the stack that allocated it,
    /// and the error for a use after its scope ended shows it. Costs a stack trace per allocation: for debugging only.
    /// </summary>
    public static bool DebugAllocations { get; set; } = Environment.GetEnvironmentVariable("STRIATE_DEBUG_TENSORS") == "1";

    /// <summary>Rents storage of exactly <paramref name="length"/> floats; zeroed when <paramref name="clear"/>.</summary>
    internal static TensorStorage Rent(int length, bool clear)
    {
        var scope = TensorScope.Current;
        if (length == 0 || scope == null) return new TensorStorage(clear ? new float[length] : GC.AllocateUninitializedArray<float>(length));
        TensorStorage? storage = null;
        var buckets = Buckets();
        if (buckets.TryGetValue(length, out var stack) && stack.Count > 0)
        {
            storage = stack.Pop();
            if (clear) Array.Clear(storage.Data);
        }
        // A fresh array must be zeroed when asked: AllocateUninitializedArray hands out stale memory for large
        // lengths, which once left NaN in a zero-initialized bias gradient.
        if (storage == null)
        {
            storage = new TensorStorage(clear ? new float[length] : GC.AllocateUninitializedArray<float>(length), pooled: true);
            t_freshArrays++;
        }
        scope.Track(storage);
        return storage;
    }

    internal static void Return(TensorStorage storage)
    {
        storage.Generation++; // every tensor still on it is now stale
        storage.Owner = null;
        storage.PendingRefs = 0;
        var buckets = Buckets();
        int length = storage.Data.Length;
        if (!buckets.TryGetValue(length, out var stack)) buckets[length] = stack = new Stack<TensorStorage>();
        if (stack.Count < MaxArraysPerLength) stack.Push(storage);
    }

    // This thread's buckets, emptied first if Clear ran since this thread last looked.
    private static Dictionary<int, Stack<TensorStorage>> Buckets()
    {
        int epoch = Volatile.Read(ref clearEpoch);
        if (t_buckets == null || t_clearEpoch != epoch)
        {
            t_buckets = new Dictionary<int, Stack<TensorStorage>>();
            t_clearEpoch = epoch;
        }
        return t_buckets;
    }

    /// <summary>Drops every cached array, on every thread (each thread lets go of its buckets at its next rent or return).</summary>
    public static void Clear()
    {
        Interlocked.Increment(ref clearEpoch);
        t_buckets = null;
    }
}

/// <summary>
/// A region of work (typically one training step) whose temporary tensors go back to <see cref="TensorPool"/>
/// when it is disposed. Tensors that must outlive the scope are passed to <see cref="Keep"/>; parameters,
/// gradients of leaves and optimizer state never belong to a scope. Using a tensor after its scope ended (without
/// Keep) throws, naming its shape (and, with STRIATE_DEBUG_TENSORS=1, where it was allocated).
/// </summary>
/// <remarks>Scopes nest; each tracks what was rented while it was the innermost scope on its thread.</remarks>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;
    private readonly TensorScope? _parent;
    // What this scope returns when it ends; an entry is null once kept or returned early (TensorStorage.Slot indexes it).
    private readonly List<TensorStorage?> _rented = new();
    private bool _disposed;

    private TensorScope() { _parent = _current; }

    internal static TensorScope? Current => _current;

    /// <summary>Opens a scope on the current thread.</summary>
    public static TensorScope Begin()
    {
        var scope = new TensorScope();
        _current = scope;
        return scope;
    }

    /// <summary>Runs <paramref name="action"/> with no scope active, so what it allocates is permanent.</summary>
    public static T Outside<T>(Func<T> action)
    {
        var saved = _current;
        _current = null;
        try { return action(); }
        finally { _current = saved; }
    }

    internal void Track(TensorStorage storage)
    {
        storage.Owner = this;
        storage.Slot = _rented.Count;
        _rented.Add(storage);
    }

    /// <summary>How many arrays were rented in this scope so far (a mark for <see cref="Rented"/>).</summary>
    internal int RentedCount => _rented.Count;

    /// <summary>The array rented <paramref name="index"/>-th in this scope, or null when it was kept or returned since.</summary>
    internal TensorStorage? Rented(int index) => _rented[index];

    /// <summary>
    /// Returns <paramref name="storage"/> to the pool now instead of when this scope ends: the caller knows that no
    /// tensor on it will be used again (every tensor that is stays valid only until then, and throws after).
    /// </summary>
    internal void ReturnEarly(TensorStorage storage)
    {
        if (storage.Owner != this) return;
        _rented[storage.Slot] = null;
        TensorPool.Return(storage);
    }

    /// <summary>Takes <paramref name="tensor"/>'s storage out of this scope (and its parents), so it survives.</summary>
    public static Tensor Keep(Tensor tensor)
    {
        var storage = tensor.StorageObject; // checks that the tensor is still valid
        for (var scope = _current; scope != null; scope = scope._parent)
        {
            if (storage.Owner != scope) continue;
            scope._rented[storage.Slot] = null;
            storage.Owner = null;
            break;
        }
        return tensor;
    }

    /// <summary>Returns every array rented in this scope to the pool.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current == this) _current = _parent;
        foreach (var storage in _rented)
            if (storage != null && storage.Owner == this) TensorPool.Return(storage);
        _rented.Clear();
    }
}
