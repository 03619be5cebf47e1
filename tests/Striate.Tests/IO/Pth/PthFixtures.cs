using Striate.Tests.TestSupport;

namespace Striate.Tests.IO.Pth;

/// <summary>The committed .pth files that PyTorch 1.13 wrote (tests/reference/pth, made by make_pth_fixtures.py beside them).</summary>
internal static class PthFixtures
{
    public static string Folder => Path.Combine(RepoPaths.Root, "tests", "reference", "pth");

    public static string PathOf(string name) => Path.Combine(Folder, name);

    public static byte[] Bytes(string name) => File.ReadAllBytes(PathOf(name));

    /// <summary>The files holding views.py's state dict, in every layout the fixtures cover.</summary>
    public static readonly string[] ViewsFiles =
        ["views.pth", "views_legacy.pth", "views_p1.pth", "views_p4.pth", "views_deflated.pth", "views_zip64.pth", "views_bigendian.pth"];
}
