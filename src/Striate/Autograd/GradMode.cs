namespace Striate.Autograd;

/// <summary>Whether ops record the graph on this thread. Inference runs inside <see cref="NoGrad"/>.</summary>
public static class GradMode
{
    [ThreadStatic] private static int _disabledDepth;

    /// <summary>True when ops record their inputs for backward (the default).</summary>
    public static bool IsEnabled => _disabledDepth == 0;

    /// <summary>Disables graph recording until the returned scope is disposed, as torch.no_grad().</summary>
    public static NoGradScope NoGrad()
    {
        _disabledDepth++;
        return new NoGradScope();
    }

    /// <summary>Ends a <see cref="NoGrad"/> region.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        public void Dispose() => _disabledDepth--;
    }
}
