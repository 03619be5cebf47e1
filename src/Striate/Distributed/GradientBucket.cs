namespace Striate.Distributed;

/// <summary>
/// Gradients of several parameters packed into one flat buffer that is all-reduced in one collective. Buffer:
/// [<see cref="Elements"/> + parameters], parameter i's gradient at [Offsets[i], Offsets[i] + Numel), then one flag per
/// parameter (1 where this process computed a gradient for it), so that after the reduction every process agrees on
/// which parameters no process used.
/// </summary>
public sealed class GradientBucket
{
    internal GradientBucket(int index, IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        Index = index;
        Names = parameters.Select(p => p.Name).ToArray();
        Parameters = parameters.Select(p => p.Parameter).ToArray();
        Offsets = new int[Parameters.Length];
        int offset = 0;
        for (int i = 0; i < Parameters.Length; i++)
        {
            Offsets[i] = offset;
            offset += Parameters[i].Numel;
        }
        Elements = offset;
        Buffer = new float[offset + Parameters.Length];
        Received = new bool[Parameters.Length];
    }

    /// <summary>Position in reduction order (0 is reduced first; it holds the last parameters of the model).</summary>
    public int Index { get; }

    /// <summary>The dotted names of the parameters, in buffer order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Floats in the bucket.</summary>
    public int Elements { get; }

    /// <summary>Bytes all-reduced per step (the gradients and one flag per parameter).</summary>
    public long Bytes => Buffer.Length * (long)sizeof(float);

    internal Tensor[] Parameters { get; }
    internal int[] Offsets { get; }
    internal float[] Buffer { get; }

    // Per backward pass: which parameters' gradients are in the buffer, and how many are still missing.
    internal bool[] Received { get; }
    internal int Pending;

    internal void Reset()
    {
        Array.Clear(Received);
        Pending = Parameters.Length;
    }

    /// <summary>Copies parameter <paramref name="slot"/>'s gradient (zeros if it has none) into the buffer; true when the bucket is complete.</summary>
    internal bool Receive(int slot)
    {
        if (Received[slot]) return false;
        Received[slot] = true;
        var target = Buffer.AsSpan(Offsets[slot], Parameters[slot].Numel);
        var grad = Parameters[slot].Grad;
        if (grad != null) grad.ReadOnlySpan.CopyTo(target);
        else target.Clear();
        Buffer[Elements + slot] = grad != null ? 1f : 0f;
        return --Pending == 0;
    }

    /// <summary>Copies the reduced buffer back into the parameters' gradients.</summary>
    internal void Scatter()
    {
        for (int i = 0; i < Parameters.Length; i++)
        {
            var p = Parameters[i];
            var reduced = Buffer.AsSpan(Offsets[i], p.Numel);
            if (p.Grad == null)
            {
                // No process computed a gradient for this parameter: leave it without one, as PyTorch does, so that
                // optimizers skip it on every process alike.
                if (Buffer[Elements + i] == 0f) continue;
                p.Grad = Tensor.AllocatePersistent(p.Shape);
            }
            reduced.CopyTo(p.Grad.Span);
        }
    }

    public override string ToString() => $"bucket {Index}: {Names.Count} parameters, {Bytes / 1e6:0.###} MB";
}
