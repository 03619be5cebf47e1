using Striate.Kernels;

namespace Striate.Tests.IO;

public class HalfConversionTests
{
    private static readonly int[] Lengths = [0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 4099];

    /// <summary>Random floats over many magnitudes plus the values where rounding is delicate.</summary>
    private static float[] TrickyFloats(int length, Generator g)
    {
        float[] specials =
        [
            0f, -0f, 1f, -1f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.MaxValue, float.MinValue,
            float.Epsilon, 65504f, 65519.99f, 65520f, 6.1035156e-05f, 5.9604645e-08f, 2.9802322e-08f,
            BitConverter.UInt32BitsToSingle(0x3F808000), BitConverter.UInt32BitsToSingle(0x3F818000),
            BitConverter.UInt32BitsToSingle(0x7F7FFFFF), BitConverter.UInt32BitsToSingle(0xFF7FFFFF),
            BitConverter.UInt32BitsToSingle(0x7F800001), BitConverter.UInt32BitsToSingle(0xFFFFFFFF),
        ];
        var data = new float[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = g.NextInt(4) == 0
                ? specials[g.NextInt(specials.Length)]
                : (g.NextFloat() * 2 - 1) * MathF.Pow(2, g.NextInt(60) - 30);
        }
        return data;
    }

    [Fact]
    public void FastConversionsMatchTheirScalarTwinsBitForBitAtEveryLength()
    {
        var g = new Generator(11);
        foreach (int n in Lengths)
        {
            var floats = TrickyFloats(n, g);
            var bits = new ushort[n];
            for (int i = 0; i < n; i++) bits[i] = (ushort)g.NextInt(65536);

            var fast16 = new ushort[n]; var ref16 = new ushort[n];
            HalfConversion.SingleToHalf(floats, fast16);
            HalfConversion.SingleToHalfReference(floats, ref16);
            Assert.Equal(ref16, fast16);

            HalfConversion.SingleToBFloat16(floats, fast16);
            HalfConversion.SingleToBFloat16Reference(floats, ref16);
            Assert.Equal(ref16, fast16);

            var fast32 = new float[n]; var ref32 = new float[n];
            HalfConversion.HalfToSingle(bits, fast32);
            HalfConversion.HalfToSingleReference(bits, ref32);
            Assert.Equal(ref32.Select(BitConverter.SingleToUInt32Bits), fast32.Select(BitConverter.SingleToUInt32Bits));

            HalfConversion.BFloat16ToSingle(bits, fast32);
            HalfConversion.BFloat16ToSingleReference(bits, ref32);
            Assert.Equal(ref32.Select(BitConverter.SingleToUInt32Bits), fast32.Select(BitConverter.SingleToUInt32Bits));
        }
    }

    [Fact]
    public void BFloat16RoundsToNearestWithTiesToEven()
    {
        float[] input =
        [
            BitConverter.UInt32BitsToSingle(0x3F808000), // tie, kept lsb 0 → stays 0x3F80
            BitConverter.UInt32BitsToSingle(0x3F818000), // tie, kept lsb 1 → up to 0x3F82
            BitConverter.UInt32BitsToSingle(0x3F808001), // just above the tie → up
            BitConverter.UInt32BitsToSingle(0x3F807FFF), // just below → down
            BitConverter.UInt32BitsToSingle(0x7F7FFFFF), // float.MaxValue rounds up to +inf
            float.NaN,
        ];
        var output = new ushort[input.Length];
        HalfConversion.SingleToBFloat16(input, output);
        Assert.Equal((ushort)0x3F80, output[0]);
        Assert.Equal((ushort)0x3F82, output[1]);
        Assert.Equal((ushort)0x3F81, output[2]);
        Assert.Equal((ushort)0x3F80, output[3]);
        Assert.Equal((ushort)0x7F80, output[4]);
        Assert.True((output[5] & 0x7F80) == 0x7F80 && (output[5] & 0x7F) != 0, $"NaN became 0x{output[5]:X4}, not a NaN");
    }

    [Fact]
    public void EveryNonNaNSixteenBitPatternSurvivesWideningAndNarrowing()
    {
        var all = new ushort[65536];
        for (int i = 0; i < all.Length; i++) all[i] = (ushort)i;
        var floats = new float[all.Length];
        var back = new ushort[all.Length];

        HalfConversion.HalfToSingle(all, floats);
        HalfConversion.SingleToHalf(floats, back);
        for (int i = 0; i < all.Length; i++)
            if (!float.IsNaN(floats[i])) Assert.True(back[i] == all[i], $"F16 0x{i:X4} came back as 0x{back[i]:X4}");

        HalfConversion.BFloat16ToSingle(all, floats);
        HalfConversion.SingleToBFloat16(floats, back);
        for (int i = 0; i < all.Length; i++)
            if (!float.IsNaN(floats[i])) Assert.True(back[i] == all[i], $"BF16 0x{i:X4} came back as 0x{back[i]:X4}");
            else Assert.True(float.IsNaN(BitConverter.UInt32BitsToSingle((uint)back[i] << 16)), $"BF16 NaN 0x{i:X4} came back as 0x{back[i]:X4}");
    }

    [Fact]
    public void ShortDestinationIsRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => HalfConversion.SingleToBFloat16(new float[4], new ushort[3]));
        Assert.Contains("destination", ex.Message);
    }
}
