namespace Striate.Benchmarks;

/// <summary>Everything <c>striate bench</c> measures, suite by suite, in a stable order.</summary>
public static class BenchSuite
{
    /// <summary>The suites by name; <c>striate bench --only NAME</c> runs one.</summary>
    public static IReadOnlyDictionary<string, Func<IEnumerable<BenchFigure>>> Suites { get; } =
        new Dictionary<string, Func<IEnumerable<BenchFigure>>>
        {
            ["gemm"] = GemmBenchmarks.Run,
            ["conv"] = ConvBenchmarks.Run,
            ["lenet"] = TrainingBenchmarks.Run,
            ["resnet"] = ResNetBenchmarks.Run,
            ["models"] = ModelBenchmarks.Run,
            ["layers"] = LayerBenchmarks.Run,
            ["blocked"] = BlockedLayoutBenchmarks.Run,
            ["pwblocked"] = PointwiseBlockedBenchmarks.Run,
            ["allreduce"] = AllReduceBenchmarks.Run,
            ["loader"] = LoaderBenchmarks.Run,
        };

    /// <summary>Suites that run only when named with --only: all-reduce needs MPI and starts processes of its own.</summary>
    public static IReadOnlySet<string> OnRequest { get; } = new HashSet<string> { "allreduce", "layers", "blocked", "pwblocked" };
}
