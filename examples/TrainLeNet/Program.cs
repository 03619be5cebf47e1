// The README's C# example, kept compiling as part of the solution:
//   dotnet run -c Release --project examples/TrainLeNet
using Striate;
using Striate.Data;
using Striate.Data.Transforms;
using Striate.Functional;
using Striate.Insight;
using Striate.IO;
using Striate.Models;
using Striate.Nn;
using Striate.Optim;
using Striate.Training;

IDataset trainSet, testSet;
try
{
    trainSet = Datasets.Open("mnist", train: true);          // found locally, in the cache, or downloaded
    testSet = Datasets.Open("mnist", train: false);
}
catch (DatasetNotFoundException e)                            // offline and not on this machine: say where it looked
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
var normalize = new Normalize([0.1307f], [0.3081f]);
var train = new DataLoader(trainSet, batchSize: 64, shuffle: true, transform: normalize, seed: 1);
var test = new DataLoader(testSet, batchSize: 256, transform: normalize);

var model = LeNet.CreateRelu();
var optimizer = new Sgd(model.Parameters(), lr: 0.05f, momentum: 0.9f, weightDecay: 5e-4f);
var trainer = new Trainer(model, optimizer, scheduler: new OneCycleLR(optimizer, 0.05, 3 * train.BatchCount));
trainer.EpochEnded += e => Console.WriteLine($"epoch {e.Epoch}: test accuracy {e.TestAccuracy:P2}");
trainer.Fit(train, test, epochs: 3);

// The same loop by hand, one more epoch:
foreach (var batch in train.Epoch(3))
{
    using var scope = TensorScope.Begin();
    var loss = F.CrossEntropy(model.Call(batch.Images), batch.LabelArray());
    optimizer.ZeroGrad();
    loss.Backward();
    optimizer.Step();
}
Console.WriteLine($"after a hand-written epoch: test accuracy {Evaluator.Evaluate(model, test).Top1:P2}");

// Save the weights, load them into a fresh model, and classify one test image.
SafetensorsWriter.Save("lenet-relu.safetensors", model.StateDict());
var restored = LeNet.CreateRelu();
Checkpoint.Load("lenet-relu.safetensors").Restore(restored);     // safetensors or a PyTorch .pth
var one = new DataLoader(testSet, batchSize: 1, transform: normalize).Epoch().First();
foreach (var p in Predictions.TopK(restored, one.Images, k: 3))
    Console.WriteLine($"{p.Probability,8:P2}  {testSet.ClassNames[p.ClassIndex]}   (label {one.LabelArray()[0]})");

// A model of your own: fields are registered under their names (conv1.weight, bn1.running_mean, fc.bias, …).
var small = new SmallNet();
var smallTrainer = new Trainer(small, new Sgd(small.Parameters(), lr: 0.05f, momentum: 0.9f));
smallTrainer.EpochEnded += e => Console.WriteLine($"SmallNet epoch {e.Epoch}: test accuracy {e.TestAccuracy:P2}");
smallTrainer.Fit(train, test, epochs: 1);
Console.WriteLine(string.Join(", ", small.StateDict().Select(e => e.Key)));
return 0;

sealed class SmallNet : Module
{
    readonly Conv2d _conv1 = new(1, 16, kernelSize: 3, padding: 1);
    readonly BatchNorm2d _bn1 = new(16);
    readonly Linear _fc = new(16 * 14 * 14, 10);

    public override Tensor Forward(Tensor x) =>
        _fc.Call(F.MaxPool2d(F.Relu(_bn1.Call(_conv1.Call(x))), 2).Flatten(1));
}
