namespace Striate.Nn;

/// <summary>
/// A cap on the parameter values the modules built on this thread may allocate, for building a model whose sizes come
/// from an untrusted file: a checkpoint's few bytes of metadata (channels, classes, width) must not make the program
/// allocate gigabytes before its tensors are compared with the model. Within <see cref="Limit"/>, a parameter that
/// would exceed the cap throws <see cref="ParameterBudgetExceededException"/> before it is allocated.
/// </summary>
internal static class ParameterBudget
{
    [ThreadStatic] private static long t_remaining;
    [ThreadStatic] private static bool t_active;

    /// <summary>Allows at most <paramref name="maxValues"/> parameter values in all until the scope is disposed.</summary>
    public static Scope Limit(long maxValues)
    {
        var scope = new Scope(t_active, t_remaining);
        t_active = true;
        t_remaining = maxValues;
        return scope;
    }

    public static void Charge(ReadOnlySpan<int> shape)
    {
        if (!t_active) return;
        double count = 1;
        foreach (int d in shape) count *= Math.Max(d, 0);
        if (count > t_remaining) throw new ParameterBudgetExceededException((long)Math.Min(count, long.MaxValue), t_remaining);
        t_remaining -= (long)count;
    }

    public readonly struct Scope(bool wasActive, long previous) : IDisposable
    {
        public void Dispose()
        {
            t_active = wasActive;
            t_remaining = previous;
        }
    }
}

/// <summary>A module asked for more parameter values than <see cref="ParameterBudget.Limit"/> allowed.</summary>
internal sealed class ParameterBudgetExceededException(long requested, long remaining)
    : Exception($"a parameter of {requested} values exceeds the {remaining} values left in the budget")
{
    public long Requested { get; } = requested;
}
