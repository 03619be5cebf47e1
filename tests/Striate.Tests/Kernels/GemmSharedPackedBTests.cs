using Striate.Kernels;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Kernels;

/// <summary>
/// Row parts sharing one packed B̃ (<see cref="GemmSharedPackedB"/>; sharing forced at every size, 0 to long.MaxValue
/// floats): against the three-loop twin and bit for bit against every part packing its own B̃, on two threads and with
/// the pool running both parts on one thread (a GEMM inside a parallel loop's body runs its parts serially); one thread
/// (no parts) against the twin. Depths of one to four blocks, two column blocks, edge rows and columns, B transposed or
/// not, beta 0 and not.
/// </summary>
[Collection(nameof(StaticSwitchesCollection))]
public class GemmSharedPackedBTests
{
    public static TheoryData<int, int, int, int> Shapes => new()
    {
        // m, n, k, deepest self-packed block (Avx2GemmTunables.SelfPackedDepth)
        { 256, 256, 256, 512 },
        { 70, 37, 300, 512 },
        { 131, 250, 1100, 512 },
        { 301, 203, 200, 64 },
        { 200, 520, 2100, 2100 }, // one 2100-deep block: 496 columns per block (4 MiB of B̃), so two column blocks
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SharedPanelsMatchReferenceAndPrivatePanels(int m, int n, int k, int depth)
    {
        Assert.SkipUnless(Gemm.IsSupported(GemmPath.Vector256), "Vector256 is not hardware-accelerated on this machine (or is disabled by DOTNET_Enable* settings).");
        using var _ = Switches.Set(() => Avx2GemmTunables.SelfPackedDepth, depth);
        int mTiles = (m + 5) / 6, nTiles = (n + 15) / 16;
        var (mParts, nParts) = GemmDriver<Gemm256x6x16>.Split(m, n, k, mTiles, nTiles, packedA: false, threads: 2);
        Assert.True(mParts > 1 && nParts == 1, $"m={m} n={n} k={k}: split {mParts}×{nParts} shares nothing");
        ulong seed = (ulong)(m * 7919 + n * 31 + k);
        foreach (bool transB in new[] { false, true })
        foreach (float beta in new[] { 0f, 0.5f })
        {
            var gen = new Generator(seed++);
            int lda = k + 3, ldb = transB ? k + 1 : n + 5, ldc = n + 2;
            var ops = GemmOperands.Draw(gen, false, transB, m, n, k, lda, ldb, ldc, nanC: beta == 0);
            var expected = ops.CopyOfC();
            GemmReference.Sgemm(false, transB, m, n, k, 1f, ops.A, lda, ops.B, ldb, beta, expected, ldc);
            float[] Run(long sharedFloats, int threads, bool oneThread)
            {
                using var __ = Switches.Set(() => Avx2GemmTunables.SharedPackedBFloats, sharedFloats);
                using var ___ = Switches.Set(() => Avx2GemmTunables.SharedPackedBMinFloats, 0L);
                var c = ops.GuardedC();
                if (oneThread) NestedCall.Run(() => Gemm.Sgemm(GemmPath.Vector256, threads, false, transB, m, n, k, 1f, ops.A, lda, ops.B, ldb, beta, c.Span, ldc));
                else Gemm.Sgemm(GemmPath.Vector256, threads, false, transB, m, n, k, 1f, ops.A, lda, ops.B, ldb, beta, c.Span, ldc);
                string what = $"shared={sharedFloats} threads={threads} oneThread={oneThread} m={m} n={n} k={k} transB={transB} beta={beta}";
                c.Check(what);
                Close.Assert(expected, c.ToArray(), 1e-4, 1e-5 * Math.Sqrt(k + 1) * 4 * 3, what);
                return c.ToArray();
            }
            // One thread cuts no parts (and puts 5-row strips elsewhere, so it may round differently): the twin only.
            Run(long.MaxValue, 1, false);
            var own = Run(0, 2, false);
            Assert.Equal(own, Run(long.MaxValue, 2, false));
            Assert.Equal(own, Run(long.MaxValue, 2, true));
        }
    }

    [Fact]
    public void APieceIsClaimedOnceAndAWaitOnAPieceBeingPackedEnds()
    {
        var shared = GemmSharedPackedB.Take(64, 3);
        Assert.True(shared.TryClaim(1));
        Assert.False(shared.TryClaim(1));
        Assert.False(shared.WaitPacked(1, waitFloats: 1000)); // still packing after its packing time: the caller packs privately
        shared.MarkPacked(1);
        Assert.True(shared.WaitPacked(1, waitFloats: 0));
        Assert.True(shared.TryClaim(0));
        var packer = new Thread(() => { Thread.Sleep(5); shared.MarkPacked(0); });
        packer.Start();
        Assert.True(shared.WaitPacked(0, waitFloats: long.MaxValue / 4)); // until the other thread publishes it
        packer.Join();
        GemmSharedPackedB.Return(shared);
        var next = GemmSharedPackedB.Take(128, 3);
        Assert.True(next.TryClaim(0) && next.TryClaim(1) && next.TryClaim(2)); // every piece unpacked again
        GemmSharedPackedB.Return(next);
    }
}
