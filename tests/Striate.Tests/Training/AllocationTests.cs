using Striate.Data;
using Striate.Data.Transforms;
using Striate.Functional;
using Striate.Models;
using Striate.Nn;
using Striate.Optim;
using Striate.Training;

namespace Striate.Tests.Training;

/// <summary>
/// A warmed-up training step recycles its tensors, index buffers and scratch, so it allocates next to nothing on the
/// managed heap (bookkeeping objects only). Allocation is measured, never time.
/// </summary>
public class AllocationTests(ITestOutputHelper output)
{
    private const int Batch = 32;

    private static InMemoryDataset SyntheticMnist(int count)
    {
        var r = new Generator(5);
        var images = new byte[count * 28 * 28];
        var labels = new byte[count];
        for (int i = 0; i < images.Length; i++) images[i] = (byte)r.NextInt(256);
        for (int i = 0; i < count; i++) labels[i] = (byte)r.NextInt(10);
        return new InMemoryDataset(images, labels, 1, 28, 28, Datasets.MnistClasses);
    }

    [Fact]
    public void WarmedUpLeNetStepAllocatesLittle()
    {
        var model = LeNet.CreateRelu(generator: new Generator(0));
        var optimizer = new Sgd(model.Parameters(), 0.01f, momentum: 0.9f);
        var x = Tensor.Randn([Batch, 1, 28, 28], new Generator(1));
        var labels = Enumerable.Range(0, Batch).Select(i => i % 10).ToArray();

        void Step()
        {
            using var scope = TensorScope.Begin();
            var loss = F.CrossEntropy(model.Call(x), labels, 0f);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
        }

        for (int i = 0; i < 3; i++) Step();
        const int steps = 5;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++) Step();
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
        output.WriteLine($"{perStep} bytes per step");
        // The activations alone are ~600 KB per step; what remains is tensor and graph objects.
        Assert.True(perStep < 32 * 1024, $"a warmed-up LeNet step allocated {perStep} bytes");
    }

    [Fact]
    public void WarmedUpTrainerEpochAllocatesLittle()
    {
        var data = SyntheticMnist(8 * Batch);
        var model = LeNet.CreateRelu(generator: new Generator(0));
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.01f, momentum: 0.9f));
        var loader = new DataLoader(data, Batch, shuffle: true, transform: new Normalize([0.1307f], [0.3081f]), seed: 2, workers: 0);

        trainer.TrainEpoch(loader, epoch: 0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        trainer.TrainEpoch(loader, epoch: 1);
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / loader.BatchCount;
        output.WriteLine($"{perStep} bytes per step over an epoch of {loader.BatchCount} batches");
        Assert.True(perStep < 48 * 1024, $"a warmed-up Trainer epoch allocated {perStep} bytes per batch");
    }
}
