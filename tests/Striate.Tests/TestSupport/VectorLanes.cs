using System.Runtime.Intrinsics;

namespace Striate.Tests.TestSupport;

/// <summary>
/// The float vector widths a kernel with a path per width is tested on: 16, 8 and 4 lanes (Vector512, Vector256,
/// Vector128) and 1, its scalar loop. A width the machine does not accelerate (or DOTNET_Enable* settings disable, as
/// in CI's reruns) reports Skipped, with the reason.
/// </summary>
public static class VectorLanes
{
    /// <summary>16, 8, 4, 1: for [MemberData(nameof(VectorLanes.All), MemberType = typeof(VectorLanes))].</summary>
    public static TheoryData<int> All() => new(16, 8, 4, 1);

    /// <summary>Skips the test when <paramref name="lanes"/>-lane float vectors are not hardware-accelerated; 1 (scalar) always runs.</summary>
    public static void SkipUnlessAccelerated(int lanes)
    {
        bool accelerated = lanes switch
        {
            16 => Vector512.IsHardwareAccelerated,
            8 => Vector256.IsHardwareAccelerated,
            4 => Vector128.IsHardwareAccelerated,
            _ => true,
        };
        Assert.SkipUnless(accelerated, $"{lanes}-lane vectors are not hardware-accelerated here (or are disabled by DOTNET_Enable* settings).");
    }
}
