using Striate.Tests.TestSupport;
using Striate.IO;

namespace Striate.Tests.IO;

/// <summary>Files written by PyTorch's side of the project parse, and their numbers mean what they should.</summary>
public sealed class SafetensorsReferenceFileTests
{
    [Fact]
    public void Conv2dCaseWrittenByPyTorchHasTheExpectedLayoutAndConsistentNumbers()
    {
        var file = SafetensorsFile.Load(Path.Combine(RepoPaths.ReferenceOps, "conv2d_00.safetensors"));
        Assert.Equal(["input", "weight", "bias", "output", "grad_output", "grad_input", "grad_weight", "grad_bias"], file.Names);
        Assert.Equal("conv2d", file.Metadata["op"]);
        Assert.Equal("1", file.Metadata["stride"]);
        Assert.Equal("1", file.Metadata["padding"]);
        Assert.Equal("True", file.Metadata["bias"]);
        Assert.Equal([2, 3, 9, 9], file.GetShape("input"));
        Assert.Equal([4, 3, 3, 3], file.GetShape("weight"));
        Assert.Equal([4], file.GetShape("bias"));
        Assert.Equal([2, 4, 9, 9], file.GetShape("output"));
        Assert.Equal(SafetensorsDtype.F32, file.GetDtype("output"));

        // One output element recomputed from the decoded input, weight and bias: proves the data bytes are read
        // at the right offsets and in the right order, not just that the header parses.
        var x = file.GetTensor("input");
        var w = file.GetTensor("weight");
        var b = file.GetTensor("bias");
        var y = file.GetTensor("output");
        foreach (var (n, co, oh, ow) in new[] { (0, 0, 4, 4), (1, 3, 0, 8), (1, 2, 8, 0) })
        {
            double sum = b[co];
            for (int ci = 0; ci < 3; ci++)
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++)
                    {
                        int ih = oh + kh - 1, iw = ow + kw - 1;
                        if (ih < 0 || ih >= 9 || iw < 0 || iw >= 9) continue;
                        sum += (double)x[n, ci, ih, iw] * w[co, ci, kh, kw];
                    }
            Assert.Equal(sum, y[n, co, oh, ow], 4);
        }
    }

    [Fact]
    public void CrossEntropyTargetsAreInt64ClassIndices()
    {
        var file = SafetensorsFile.Load(Path.Combine(RepoPaths.ReferenceOps, "cross_entropy_00.safetensors"));
        Assert.Equal(SafetensorsDtype.I64, file.GetDtype("target"));
        var target = file.GetInt64("target");
        Assert.Equal(8, target.Length);
        Assert.All(target, t => Assert.InRange(t, 0L, 9L));
        Assert.Equal(target.Select(t => (float)t), file.GetTensor("target").ToArray());
    }

    [Fact]
    public void EveryReferenceOpCaseParsesAndNamesItsOp()
    {
        var files = Directory.GetFiles(RepoPaths.ReferenceOps, "*.safetensors");
        Assert.NotEmpty(files);
        foreach (var path in files)
        {
            var file = SafetensorsFile.Load(path);
            Assert.True(file.Metadata.ContainsKey("op"), $"{path} has no 'op' metadata");
            foreach (var name in file.Names)
                if (file.GetDtype(name) == SafetensorsDtype.I64) file.GetInt64(name);
                else Assert.All(file.GetTensor(name).ToArray(), v => Assert.True(float.IsFinite(v), $"{path}: {name} has a non-finite value"));
        }
    }

    [Theory]
    [InlineData("resnet18")]
    [InlineData("googlenet")]
    [InlineData("densenet121")]
    [InlineData("mobilenet_v2")]
    public void SharedModelReferenceParsesWithTheDocumentedParameterCount(string model)
    {
        var shared = RepoPaths.SharedDir;
        string path = shared == null ? "" : Path.Combine(shared, "reference", "models", model + ".safetensors");
        Assert.SkipWhen(shared == null || !File.Exists(path),
            $"{model}.safetensors not found (shared folder: {shared ?? "none found"}; set STRIATE_SHARED_DIR).");

        var file = SafetensorsFile.Load(path);
        Assert.Equal(model, file.Metadata["model"]);
        Assert.Equal([2, 3, 64, 64], file.GetShape("__input__"));
        Assert.Equal([2, 1000], file.GetShape("__logits__"));

        // Learnable parameters are everything but the batch-norm buffers and the "__…__" extras.
        long parameters = 0;
        foreach (var name in file.Names)
        {
            if (name.StartsWith("__") || name.EndsWith("running_mean") || name.EndsWith("running_var")) continue;
            if (name.EndsWith("num_batches_tracked"))
            {
                Assert.Equal(SafetensorsDtype.I64, file.GetDtype(name));
                Assert.Single(file.GetInt64(name));
                continue;
            }
            Assert.Equal(SafetensorsDtype.F16, file.GetDtype(name));
            parameters += file.GetShape(name).Aggregate(1L, (a, d) => a * d);
        }
        Assert.Equal(long.Parse(file.Metadata["parameters"]), parameters);

        var first = file.Names.First(n => n.EndsWith(".weight"));
        var weights = file.GetTensor(first).ToArray();
        Assert.All(weights, v => Assert.True(float.IsFinite(v)));
        Assert.Contains(weights, v => v != 0);
    }

    [Fact]
    public void ResNet18FirstConvolutionHasTorchvisionShape()
    {
        var shared = RepoPaths.SharedDir;
        string path = shared == null ? "" : Path.Combine(shared, "reference", "models", "resnet18.safetensors");
        Assert.SkipUnless(File.Exists(path), $"resnet18.safetensors not found (shared folder: {shared ?? "none found"}; set STRIATE_SHARED_DIR).");
        var file = SafetensorsFile.Load(path);
        Assert.Equal([64, 3, 7, 7], file.GetShape("conv1.weight"));
        Assert.Equal([1000, 512], file.GetShape("fc.weight"));
        Assert.Equal([64], file.GetShape("bn1.running_var"));
        Assert.All(file.GetTensor("bn1.running_var").ToArray(), v => Assert.True(v > 0));
    }
}
