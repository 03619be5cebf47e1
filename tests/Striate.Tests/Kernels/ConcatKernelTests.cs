using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

public class ConcatKernelTests
{
    [Fact]
    public void InsertAndExtractMatchReferenceAndRoundTrip()
    {
        var g = new Generator(11);
        for (int trial = 0; trial < 30; trial++)
        {
            int outer = 1 + g.NextInt(4), total = 2 + g.NextInt(30), part = 1 + g.NextInt(total), offset = g.NextInt(total - part + 1);
            var src = Close.RandomArray(outer * part, g);
            Guarded<float> whole = Guarded.Zeros(outer * total);
            float[] wholeRef = new float[outer * total];
            Concat.Insert(outer, part, total, offset, src, whole);
            ConcatReference.Insert(outer, part, total, offset, src, wholeRef);
            Close.Assert(wholeRef, whole, 0, 0, "insert");
            Guarded<float> back = Guarded.Zeros(src.Length);
            float[] backRef = new float[src.Length];
            Concat.Extract(outer, part, total, offset, whole, back);
            ConcatReference.Extract(outer, part, total, offset, whole, backRef);
            Close.Assert(backRef, back, 0, 0, "extract");
            Close.Assert(src, back, 0, 0, "round trip");
        }
    }
}
