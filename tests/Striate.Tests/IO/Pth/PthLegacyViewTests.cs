using Striate.IO.Pth;

namespace Striate.Tests.IO.Pth;

/// <summary>
/// Files from PyTorch before 1.0 saved storage views — persistent ids <c>('storage', type, root, location, numel,
/// (view_key, offset, size))</c> — and rebuilt tensors with the 4-argument <c>_rebuild_tensor</c>.
/// </summary>
public sealed class PthLegacyViewTests
{
    private static byte[] ViewPickle(long viewOffset, long viewSize, long tensorOffset, long[] size, long[] stride) =>
        PickleBuilder.StateDict("v", p =>
        {
            p.Global("torch._utils", "_rebuild_tensor").Op('(');
            p.Op('(').Str("storage").Global("torch", "FloatStorage").Str("root").Str("cpu").Long(6);
            p.Op('(').Str("view").Long(viewOffset).Long(viewSize).Op('t').Op('t').Op('Q');
            p.Long(tensorOffset).Tuple(size).Tuple(stride).Op('t').Op('R');
        });

    [Fact]
    public void ATensorOnAStorageViewReadsFromTheViewsOffset()
    {
        var bytes = HandmadeLegacy.Stream(ViewPickle(2, 3, 1, [2], [1]), ["root"], [10, 11, 12, 13, 14, 15]);
        var pth = PthFile.Parse(bytes, "old.pth");
        Assert.Equal(PthFormat.Legacy, pth.Format);
        Assert.Equal([13f, 14], pth["v"].Value.ToArray()); // root[2 + 1], root[2 + 2]
    }

    [Fact]
    public void AViewPastItsRootStorageIsRejected()
    {
        var e = Assert.Throws<PthFormatException>(() => PthFile.Parse(HandmadeLegacy.Stream(ViewPickle(4, 3, 0, [1], [1]), ["root"], new float[6]), "old.pth"));
        Assert.Contains("storage view 'view' covers elements 4..7 of storage 'root', which has 6", e.Message);
        e = Assert.Throws<PthFormatException>(() => PthFile.Parse(HandmadeLegacy.Stream(ViewPickle(2, 3, 1, [3], [1]), ["root"], new float[6]), "old.pth"));
        Assert.Contains("reaches element 3, but its storage 'view' (FloatStorage) holds 3 elements", e.Message);
    }

    [Fact]
    public void TheKeyListMustMatchTheStoragesThePickleReferences()
    {
        var e = Assert.Throws<PthFormatException>(() => PthFile.Parse(HandmadeLegacy.Stream(ViewPickle(0, 1, 0, [1], [1]), [], []), "old.pth"));
        Assert.Contains("storage 'root' is referenced by the pickle but missing from the file's storages", e.Message);
        e = Assert.Throws<PthFormatException>(() => PthFile.Parse(HandmadeLegacy.Stream(ViewPickle(0, 1, 0, [1], [1]), ["root", "other"], new float[6], new float[1]), "old.pth"));
        Assert.Contains("storage 'other' is listed but no tensor of the pickle references it", e.Message);
    }

    [Fact]
    public void ABigEndianLegacyFileIsRefusedClearly()
    {
        var bytes = HandmadeLegacy.Stream(ViewPickle(0, 1, 0, [1], [1]), ["root"], new float[6]);
        int at = Array.IndexOf(bytes, (byte)0x88); // NEWTRUE of little_endian
        bytes[at] = 0x89;
        var e = Assert.Throws<PthFormatException>(() => PthFile.Parse(bytes, "old.pth"));
        Assert.Contains("written on a big-endian machine in the legacy format", e.Message);
    }
}
