using Striate.Functional;
using Striate.Tests.TestSupport;

namespace Striate.Tests.Functional;

/// <summary>
/// Runs this branch's ops on the PyTorch reference cases in tests/reference/ops: forward via F.*, backward with
/// the stored grad_output, then output, every gradient and (batch norm) the running statistics compared.
/// TODO(lead): fold into the central dispatching reference test once the real safetensors reader exists.
/// </summary>
public class OpReferenceCaseTests
{
    private const double OutRtol = 1e-4, OutAtol = 1e-5, GradRtol = 1e-3, GradAtol = 1e-4;

    private static readonly string[] Prefixes =
    [
        "maxpool2d_", "avgpool2d_", "adaptive_avg_pool2d_", "adaptive_max_pool2d_", "spp_", "batch_norm",
        "local_response_norm_", "relu_", "leaky_relu_", "sigmoid_", "tanh_", "softmax_", "log_softmax_",
        "cross_entropy_", "interpolate_bilinear_",
    ];

    private static List<string> CaseNames() =>
        Directory.GetFiles(TempReferenceReader.ReferenceDirectory(), "*.safetensors")
            .Select(p => Path.GetFileNameWithoutExtension(p)!)
            .Where(name => Prefixes.Any(name.StartsWith))
            .OrderBy(name => name, StringComparer.Ordinal)
            .ToList();

    public static TheoryData<string> Cases() => new(CaseNames());

    [Fact]
    public void EveryExpectedOpFamilyHasReferenceCases()
    {
        var names = CaseNames();
        foreach (var prefix in Prefixes)
            Assert.True(names.Any(n => n.StartsWith(prefix)), $"no reference case starting with {prefix}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardAndBackwardMatchPyTorch(string caseName)
    {
        var r = new TempReferenceReader(Path.Combine(TempReferenceReader.ReferenceDirectory(), caseName + ".safetensors"));
        var md = r.Metadata;
        var input = r.Tensor("input").RequireGrad();
        Tensor? weight = r.Has("weight") ? r.Tensor("weight").RequireGrad() : null;
        Tensor? bias = r.Has("bias") ? r.Tensor("bias").RequireGrad() : null;
        Tensor? runningMean = r.Has("running_mean") ? r.Tensor("running_mean") : null;
        Tensor? runningVar = r.Has("running_var") ? r.Tensor("running_var") : null;

        Tensor output = md["op"] switch
        {
            "max_pool2d" => F.MaxPool2d(input, Int(md["kernel"]), Int(md["stride"]), Int(md["padding"]), Bool(md["ceil_mode"])),
            "avg_pool2d" => F.AvgPool2d(input, Int(md["kernel"]), Int(md["stride"]), Int(md["padding"]), Bool(md["ceil_mode"])),
            "adaptive_avg_pool2d" => F.AdaptiveAvgPool2d(input, Pair(md["output_size"]).A, Pair(md["output_size"]).B),
            "adaptive_max_pool2d" => F.AdaptiveMaxPool2d(input, Pair(md["output_size"]).A, Pair(md["output_size"]).B),
            "spatial_pyramid_pool" when md["kind"] == "max" => F.SpatialPyramidPool(input, md["levels"].Split(',').Select(Int).ToArray()),
            "batch_norm1d" or "batch_norm2d" => F.BatchNorm(input, runningMean, runningVar, weight, bias, Bool(md["training"]), Float(md["momentum"]), Float(md["eps"])),
            "local_response_norm" => F.LocalResponseNorm(input, Int(md["size"]), Float(md["alpha"]), Float(md["beta"]), Float(md["k"])),
            "relu" => F.Relu(input),
            "leaky_relu" => F.LeakyRelu(input, Float(md["negative_slope"])),
            "sigmoid" => F.Sigmoid(input),
            "tanh" => F.Tanh(input),
            "softmax" => F.Softmax(input),
            "log_softmax" => F.LogSoftmax(input),
            "cross_entropy" when md["reduction"] == "mean" => F.CrossEntropy(input, r.Ints("target"), Float(md["label_smoothing"])),
            "interpolate_bilinear" when md["align_corners"] == "False" => F.InterpolateBilinear(input, Pair(md["size"]).A, Pair(md["size"]).B),
            var op => throw new Xunit.Sdk.XunitException($"{caseName}: unknown op {op} with metadata {string.Join(", ", md)}"),
        };

        var expectedOutput = r.Tensor("output");
        Close.Assert(expectedOutput.ReadOnlySpan, output.ReadOnlySpan, OutRtol, OutAtol, $"{caseName} output");
        var gradOutput = r.Tensor("grad_output");
        // A scalar loss is stored with shape [1]; the op returns a rank-0 scalar.
        output.Backward(gradOutput.Numel == output.Numel ? gradOutput.Reshape(output.ShapeArray) : gradOutput);
        Close.Assert(r.Tensor("grad_input"), input.Grad!, GradRtol, GradAtol, $"{caseName} grad_input");
        if (weight != null) Close.Assert(r.Tensor("grad_weight"), weight.Grad!, GradRtol, GradAtol, $"{caseName} grad_weight");
        if (bias != null) Close.Assert(r.Tensor("grad_bias"), bias.Grad!, GradRtol, GradAtol, $"{caseName} grad_bias");
        if (r.Has("running_mean_after"))
        {
            Close.Assert(r.Tensor("running_mean_after"), runningMean!, OutRtol, OutAtol, $"{caseName} running_mean_after");
            Close.Assert(r.Tensor("running_var_after"), runningVar!, OutRtol, OutAtol, $"{caseName} running_var_after");
        }
    }

    private static int Int(string s) => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
    private static float Float(string s) => float.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
    private static bool Bool(string s) => s switch { "True" => true, "False" => false, _ => throw new FormatException($"not a Python bool: {s}") };

    private static (int A, int B) Pair(string s)
    {
        var parts = s.Split(',');
        return parts.Length == 1 ? (Int(parts[0]), Int(parts[0])) : (Int(parts[0]), Int(parts[1]));
    }
}
