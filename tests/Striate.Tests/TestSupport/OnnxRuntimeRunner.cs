using Microsoft.ML.OnnxRuntime;

namespace Striate.Tests.TestSupport;

/// <summary>Runs an ONNX model in the real ONNX Runtime (one session per call; single-threaded so parallel tests stay fair).</summary>
public static class OnnxRuntimeRunner
{
    /// <summary>The first output of <paramref name="model"/> (file bytes) for <paramref name="input"/> fed to its first input.</summary>
    public static Tensor Run(byte[] model, Tensor input)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        return Run(session, input);
    }

    /// <summary>As <see cref="Run(byte[], Tensor)"/> on an open session.</summary>
    public static Tensor Run(InferenceSession session, Tensor input)
    {
        string inputName = session.InputMetadata.Keys.First();
        string outputName = session.OutputMetadata.Keys.First();
        using var value = OrtValue.CreateTensorValueFromMemory(input.ToArray(), input.ShapeArray.Select(d => (long)d).ToArray());
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [inputName], [value], [outputName]);
        var output = outputs[0];
        var shape = output.GetTensorTypeAndShape().Shape.Select(d => (int)d).ToArray();
        return shape.Length == 0 ? Tensor.Scalar(output.GetTensorDataAsSpan<float>()[0]) : Tensor.FromArray(output.GetTensorDataAsSpan<float>(), shape);
    }

    /// <summary>The largest |a − b| over two tensors of one shape.</summary>
    public static double MaxAbsDifference(Tensor a, Tensor b)
    {
        Assert.Equal(a.ShapeArray, b.ShapeArray);
        double max = 0;
        var x = a.ReadOnlySpan;
        var y = b.ReadOnlySpan;
        for (int i = 0; i < x.Length; i++) max = Math.Max(max, Math.Abs((double)x[i] - y[i]));
        return max;
    }
}
