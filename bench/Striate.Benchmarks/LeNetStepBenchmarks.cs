using Striate.Autograd;
using Striate.Models;

namespace Striate.Benchmarks;

/// <summary>
/// LeNet-ReLU on random batches, measured as the TorchSharp anchor measures it (<c>../shared/anchors/torchsharp/Program.cs</c>,
/// same names), so the two can be divided figure by figure; the epoch figures of <see cref="TrainingBenchmarks"/> time the
/// real data pipeline instead and have no anchor twin.
/// <list type="bullet">
/// <item><c>lenet_relu_train_b256</c> (img/s): one SGD step (lr 0.05, momentum 0.9, cross-entropy) on a fixed random
/// [256, 1, 28, 28] batch; 1 warm-up step, then the median of 21.</item>
/// <item><c>lenet_relu_step_b64</c> (ms): the same step at batch 64.</item>
/// <item><c>lenet_infer_b1_latency</c> (µs): one image through the model in eval mode without graph recording; the
/// median over 9 timed loops (after 3 warm-up loops) of 200 forwards, divided by 200.</item>
/// </list>
/// </summary>
public static class LeNetStepBenchmarks
{
    public static IEnumerable<BenchFigure> Run()
    {
        const string train = "lenet_relu_train_b256", step = "lenet_relu_step_b64", latency = "lenet_infer_b1_latency";
        if (!BenchFilter.Wants(train) && !BenchFilter.Wants(step) && !BenchFilter.Wants(latency)) yield break;
        var g = new Generator(0);
        var model = LeNet.CreateRelu(generator: g);
        if (BenchFilter.Wants(train))
        {
            var (x, labels) = RandomBatch(256, g);
            yield return new BenchFigure(train, 256 / ModelBenchmarks.TrainSeconds(model, x, labels, warmUp: 1, runs: 21), "img/s");
        }
        if (BenchFilter.Wants(step))
        {
            var (x, labels) = RandomBatch(64, g);
            yield return new BenchFigure(step, ModelBenchmarks.TrainSeconds(model, x, labels, warmUp: 1, runs: 21) * 1e3, "ms");
        }
        if (BenchFilter.Wants(latency))
        {
            var x1 = Tensor.Randn([1, 1, 28, 28], g);
            model.Eval();
            double loop = ModelBenchmarks.Median(() =>
            {
                using var noGrad = GradMode.NoGrad();
                for (int i = 0; i < 200; i++)
                {
                    using var scope = TensorScope.Begin();
                    model.Call(x1);
                }
            }, warmUp: 3, runs: 9);
            yield return new BenchFigure(latency, loop / 200 * 1e6, "us");
        }
    }

    private static (Tensor X, int[] Labels) RandomBatch(int batch, Generator g)
    {
        var x = Tensor.Randn([batch, 1, 28, 28], g);
        var labels = new int[batch];
        for (int i = 0; i < batch; i++) labels[i] = g.NextInt(10);
        return (x, labels);
    }
}
