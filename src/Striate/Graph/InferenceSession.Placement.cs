using Striate.Kernels;

namespace Striate.Graph;

public sealed partial class InferenceSession
{
    /// <summary>One array region a run reads or writes: which step and what it holds (for placement reports).</summary>
    internal readonly record struct PlacedRegion(string Node, string Role, float[] Array, int Offset, int Length);

    /// <summary>
    /// Where a run's memory sits, for placement diagnostics (bench's STRIATE_DIAG_PLACEMENT): every planned buffer whole
    /// (role "buffer N"), then per convolution step its input, output and residual segments ("x", "y", "residual") and
    /// each transformed copy of its weight the shared cache keeps ("weights KIND", from the entry's aligned start).
    /// </summary>
    internal IReadOnlyList<PlacedRegion> Placement()
    {
        var regions = new List<PlacedRegion>();
        for (int i = 0; i < _buffers.Count; i++) regions.Add(new("", $"buffer {i}", _buffers[i], 0, _buffers[i].Length));
        foreach (var step in _steps)
        {
            if (step is not ConvStep c) continue;
            if (c.X.Data == null) regions.Add(new(step.Node, "x", c.X.Segment.Array, c.X.Segment.Offset, c.X.Segment.Length));
            regions.Add(new(step.Node, "y", c.Y.Array, c.Y.Offset, c.Y.Length));
            if (c.Residual is { Data: null } r) regions.Add(new(step.Node, "residual", r.Segment.Array, r.Segment.Offset, r.Segment.Length));
            foreach (var (transform, data) in TransformedWeights.EntriesOf(c.Weight))
                regions.Add(new(step.Node, $"weights {transform.Kind}", data, 0, data.Length - CacheLine.SlackFloats));
        }
        return regions;
    }
}
