namespace Striate.Data;

/// <summary>
/// Knobs for <see cref="DatasetLocator"/>, mostly so tests can isolate it: a fake HTTP handler, a private cache,
/// and switches for the environment variable and the project data folder.
/// </summary>
public sealed class DatasetLocatorSettings
{
    public static DatasetLocatorSettings Default { get; } = new();

    /// <summary>HTTP handler for downloads; null uses a SocketsHttpHandler with a 15 s connect timeout.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>Cache root holding one folder per dataset; null uses <see cref="DatasetLocator.DefaultCacheRoot"/>.</summary>
    public string? CacheRoot { get; init; }

    /// <summary>Whether to look in $STRIATE_DATA/&lt;name&gt;.</summary>
    public bool UseEnvironmentVariable { get; init; } = true;

    /// <summary>
    /// Whether to look in the copies that ship with Striate: &lt;folder with Striate.sln&gt;/data/&lt;name&gt; and
    /// data/&lt;name&gt; beside the running application.
    /// </summary>
    public bool SearchProjectData { get; init; } = true;

    /// <summary>Time limit for one file's download.</summary>
    public TimeSpan DownloadTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Largest file accepted from a mirror (the biggest known file, CIFAR-10's archive, is 170 MB).</summary>
    public long MaxDownloadBytes { get; init; } = 512L << 20;

    /// <summary>Receives progress lines ("downloading …"); null is silent.</summary>
    public Action<string>? Log { get; init; }
}
