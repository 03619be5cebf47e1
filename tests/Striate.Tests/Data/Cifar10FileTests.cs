using Striate.Data;

namespace Striate.Tests.Data;

public class Cifar10FileTests
{
    /// <summary>Writes records in the real layout: label byte, then 1024 R, 1024 G, 1024 B bytes.</summary>
    internal static byte[] MakeBatch(byte[] labels, int seed)
    {
        var rng = new Random(seed);
        var bytes = new byte[labels.Length * Cifar10File.RecordSize];
        for (int i = 0; i < labels.Length; i++)
        {
            bytes[i * Cifar10File.RecordSize] = labels[i];
            rng.NextBytes(bytes.AsSpan(i * Cifar10File.RecordSize + 1, Cifar10File.PixelsPerImage));
        }
        return bytes;
    }

    [Fact]
    public void ReadsLabelsAndChwPixelsOfEachRecord()
    {
        using var tmp = new TempFolder();
        var bytes = MakeBatch([3, 0, 9], seed: 1);
        File.WriteAllBytes(tmp.File("data_batch_1.bin"), bytes);
        var batch = Cifar10File.Read(tmp.File("data_batch_1.bin"));
        Assert.Equal(3, batch.Count);
        Assert.Equal([3, 0, 9], batch.Labels);
        Assert.Equal(3 * 3 * 32 * 32, batch.Images.Length);
        // image 2, green channel (c=1), row 5, column 7 comes from record 2 at 1 + 1024 + 5*32 + 7
        Assert.Equal(bytes[2 * 3073 + 1 + 1024 + 5 * 32 + 7], batch.Images[((2 * 3 + 1) * 32 + 5) * 32 + 7]);
    }

    [Fact]
    public void LengthNotAMultipleOfTheRecordIsRejected()
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("b.bin"), MakeBatch([1, 2], 2)[..^5]);
        var e = Assert.Throws<InvalidDataException>(() => Cifar10File.Read(tmp.File("b.bin")));
        Assert.Contains("b.bin", e.Message);
        Assert.Contains("3073", e.Message);
    }

    [Fact]
    public void LabelOfTenOrMoreIsRejectedWithItsRecord()
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("b.bin"), MakeBatch([1, 10], 3));
        var e = Assert.Throws<InvalidDataException>(() => Cifar10File.Read(tmp.File("b.bin")));
        Assert.Contains("record 1", e.Message);
        Assert.Contains("label 10", e.Message);
    }

    [Fact]
    public void TrainSplitConcatenatesTheFiveBatchesInOrder()
    {
        using var tmp = new TempFolder();
        for (int i = 1; i <= 5; i++)
            File.WriteAllBytes(tmp.File($"data_batch_{i}.bin"), MakeBatch([(byte)i, (byte)(i - 1)], seed: i));
        var all = Cifar10File.ReadSplit(tmp.Path, train: true);
        Assert.Equal(10, all.Count);
        Assert.Equal([1, 0, 2, 1, 3, 2, 4, 3, 5, 4], all.Labels);
        var batch3 = Cifar10File.Read(tmp.File("data_batch_3.bin"));
        Assert.Equal(batch3.Images, all.Images.AsSpan(4 * 3072, 2 * 3072).ToArray());
    }
}
