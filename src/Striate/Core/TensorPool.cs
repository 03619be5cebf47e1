namespace Striate;

/// <summary>
/// Recycles tensor storage so that a training step, once warmed up, allocates (almost) nothing on the
/// managed heap. Arrays are kept in buckets of exactly one length: a training loop asks for the same
/// shapes every step, so exact buckets hit every time and waste nothing.
/// </summary>
/// <remarks>
/// Storage rented while a <see cref="TensorScope"/> is open on the current thread is returned when the scope
/// ends; outside a scope, storage is ordinary garbage-collected memory.
/// </remarks>
public static class TensorPool
{
    private const int MaxArraysPerLength = 64;
    private static readonly Dictionary<int, Stack<float[]>> Buckets = new();
    private static readonly Lock Gate = new();

    /// <summary>Rents an array of exactly <paramref name="length"/> floats; zeroed when <paramref name="clear"/>.</summary>
    internal static float[] Rent(int length, bool clear)
    {
        if (length == 0) return [];
        float[]? array = null;
        var scope = TensorScope.Current;
        if (scope != null)
        {
            lock (Gate)
            {
                if (Buckets.TryGetValue(length, out var stack) && stack.Count > 0) array = stack.Pop();
            }
            if (array != null && clear) Array.Clear(array);
            // A fresh array must be zeroed when asked: AllocateUninitializedArray hands out stale memory for large
            // lengths, which once left NaN in a zero-initialized bias gradient.
            array ??= clear ? new float[length] : GC.AllocateUninitializedArray<float>(length);
            scope.Track(array);
            return array;
        }
        return clear ? new float[length] : GC.AllocateUninitializedArray<float>(length);
    }

    internal static void Return(float[] array)
    {
        if (array.Length == 0) return;
        lock (Gate)
        {
            if (!Buckets.TryGetValue(array.Length, out var stack)) Buckets[array.Length] = stack = new Stack<float[]>();
            if (stack.Count < MaxArraysPerLength) stack.Push(array);
        }
    }

    /// <summary>Drops every cached array (for tests and for freeing memory between unrelated workloads).</summary>
    public static void Clear()
    {
        lock (Gate) Buckets.Clear();
    }
}

/// <summary>
/// A region of work (typically one training step) whose temporary tensors go back to <see cref="TensorPool"/>
/// when it is disposed. Tensors that must outlive the scope are passed to <see cref="Keep"/>; parameters,
/// gradients of leaves and optimizer state never belong to a scope.
/// </summary>
/// <remarks>Scopes nest; each tracks what was rented while it was the innermost scope on its thread.</remarks>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;
    private readonly TensorScope? _parent;
    private readonly List<float[]> _rented = new();
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

    internal void Track(float[] array) => _rented.Add(array);

    /// <summary>Takes <paramref name="tensor"/>'s storage out of this scope (and its parents), so it survives.</summary>
    public static Tensor Keep(Tensor tensor)
    {
        for (var scope = _current; scope != null; scope = scope._parent)
        {
            int index = scope._rented.LastIndexOf(tensor.Storage);
            if (index >= 0) { scope._rented.RemoveAt(index); break; }
        }
        return tensor;
    }

    /// <summary>Returns every array rented in this scope to the pool.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current == this) _current = _parent;
        foreach (var array in _rented) TensorPool.Return(array);
        _rented.Clear();
    }
}
