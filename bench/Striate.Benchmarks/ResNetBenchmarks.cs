using Striate.Functional;
using Striate.Models.Book;
using Striate.Optim;

namespace Striate.Benchmarks;

/// <summary>
/// Training throughput of the d2l book's ResNet-18 (<see cref="D2lResNet.Create18"/>, 11,178,378 parameters) on
/// 1×96×96 input at batch 64 with SGD (lr 0.05): forward, cross-entropy, backward and the SGD step on one fixed
/// random batch, after warm-up steps, best of several timed steps. No data loading, no evaluation. Mirrored on the
/// PyTorch side by <c>bench/resnet18_d2l_bench.py</c>.
/// Figure: <c>resnet18_d2l_96_train_b64</c> (images/s).
/// Shapes: input [64, 1, 96, 96] → logits [64, 10].
/// </summary>
public static class ResNetBenchmarks
{
    /// <summary>The batch size of the figure.</summary>
    public const int Batch = 64;

    /// <summary>The input side.</summary>
    public const int Size = 96;

    /// <summary>The one figure (2 warm-up steps, then the best of at least 3 steps and 4 seconds).</summary>
    public static IEnumerable<BenchFigure> Run()
    {
        BenchSwitches.Apply(); // the direct kernel's A/B switches, as the models suite
        double seconds = TrainStepSeconds(Batch, Size, minSeconds: 4.0);
        yield return new BenchFigure($"resnet18_d2l_{Size}_train_b{Batch}", Batch / seconds, "images/s");
    }

    /// <summary>Best time in seconds of one training step of the book's ResNet-18 on a fixed random batch.</summary>
    public static double TrainStepSeconds(int batch, int size, double minSeconds)
    {
        var g = new Generator(0);
        var model = D2lResNet.Create18(1, 10, g);
        model.Train();
        var optimizer = new Sgd(model.Parameters(), 0.05f);
        var images = Tensor.Randn([batch, 1, size, size], g);
        var labels = new int[batch];
        for (int i = 0; i < batch; i++) labels[i] = i % 10;

        void Step()
        {
            using var scope = TensorScope.Begin();
            var loss = F.CrossEntropy(model.Call(images), labels, 0f);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
        }

        Step(); // one more warm-up beyond BestSeconds' own
        return BenchTimer.BestSeconds(Step, minSeconds, minRuns: 3);
    }
}
