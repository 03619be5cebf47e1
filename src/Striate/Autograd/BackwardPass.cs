namespace Striate.Autograd;

/// <summary>
/// The backward pass running on this thread. Code called during backward (a gradient hook) can queue work that must
/// wait until every gradient of the pass has been computed, as PyTorch's engine <c>queue_callback</c>: data-parallel
/// training waits there for the last gradient reductions, so that <c>loss.Backward()</c> returns with reduced
/// gradients.
/// </summary>
public static class BackwardPass
{
    // The callbacks of the innermost backward pass running on this thread; null when none is running.
    [ThreadStatic] private static List<Action>? _callbacks;
    // A cleared list kept for the next pass, so that a training step allocates nothing here.
    [ThreadStatic] private static List<Action>? _spare;

    // Numbers the passes of this thread; Enter gives each pass a fresh one.
    [ThreadStatic] private static long _lastId, _currentId;

    /// <summary>True while <see cref="Tensor.Backward"/> runs on this thread (inside its hooks).</summary>
    public static bool IsRunning => _callbacks != null;

    /// <summary>
    /// A number identifying the backward pass running on this thread (0 when none): hooks that keep state per pass
    /// compare it to tell a new pass from the one they have seen, even when that one failed before its callbacks ran.
    /// </summary>
    public static long Id => _currentId;

    /// <summary>
    /// Runs <paramref name="callback"/> once the backward pass now running on this thread has computed every gradient
    /// (after all post-accumulate hooks), in the order queued. Callbacks of a pass that fails are dropped.
    /// </summary>
    public static void QueueCallback(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (_callbacks == null)
            throw new InvalidOperationException("BackwardPass.QueueCallback: no backward pass is running on this thread; queue callbacks from a gradient hook.");
        _callbacks.Add(callback);
    }

    /// <summary>Starts a pass; returns the enclosing pass's state (a hook may itself run backward) for <see cref="Exit"/>.</summary>
    internal static (List<Action>? Callbacks, long Id) Enter()
    {
        var outer = (_callbacks, _currentId);
        _currentId = ++_lastId;
        _callbacks = _spare ?? new List<Action>();
        _spare = null;
        return outer;
    }

    /// <summary>Runs the queued callbacks, including any they queue themselves.</summary>
    internal static void RunCallbacks()
    {
        var callbacks = _callbacks!;
        for (int i = 0; i < callbacks.Count; i++) callbacks[i]();
        callbacks.Clear();
    }

    internal static void Exit((List<Action>? Callbacks, long Id) outer)
    {
        _callbacks!.Clear();
        _spare = _callbacks;
        (_callbacks, _currentId) = outer;
    }
}
