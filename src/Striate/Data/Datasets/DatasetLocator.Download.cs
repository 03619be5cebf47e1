using System.Security.Cryptography;

namespace Striate.Data;

public static partial class DatasetLocator
{
    /// <summary>
    /// Downloads every file of <paramref name="spec"/> into <paramref name="cacheDir"/>, trying mirrors in order.
    /// Each attempt (address and error) is appended to <paramref name="attempts"/>. Returns null when some file
    /// could not be fetched from any mirror.
    /// </summary>
    private static DatasetLocation? Download(DatasetSpec spec, string cacheDir, DatasetLocatorSettings settings, List<string> attempts)
    {
        try
        {
            Directory.CreateDirectory(cacheDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            attempts.Add($"cannot create the cache folder {cacheDir}: {e.Message}");
            return null;
        }

        var handler = settings.HttpHandler ?? new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(15) };
        using var client = new HttpClient(handler, disposeHandler: settings.HttpHandler is null) { Timeout = settings.DownloadTimeout };
        var sources = new List<string>();
        bool allFetched = true;
        foreach (var file in spec.DownloadFiles)
        {
            string target = Path.Combine(cacheDir, file);
            if (File.Exists(target) && MatchesKnownHash(spec, file, target, out _))
                continue; // fetched earlier by a run that then failed on another file
            string? from = null;
            foreach (var mirror in spec.Mirrors)
            {
                string url = mirror + file;
                settings.Log?.Invoke($"downloading {url} …");
                string? error = DownloadOne(client, spec, file, url, target, settings).GetAwaiter().GetResult();
                if (error is null) { from = url; break; }
                attempts.Add($"{url}: {error}");
                settings.Log?.Invoke($"  failed: {error}");
            }
            if (from is null) { allFetched = false; continue; } // keep going so the report lists every file's attempts
            sources.Add(from);
        }
        if (!allFetched) return null;

        var probe = Probe(spec, cacheDir, extract: true, settings);
        if (probe.FilesDirectory is null)
        {
            attempts.Add($"downloaded into {cacheDir}, but then: {probe.Note}");
            return null;
        }
        string source = sources.Count == 0 ? "cache" : $"downloaded from {string.Join(", ", sources)}";
        return new DatasetLocation(spec.Name, probe.FilesDirectory, Verified: true, source);
    }

    /// <summary>One GET into a temporary file, SHA-256 check, atomic rename. Returns null on success, else the error.</summary>
    private static async Task<string?> DownloadOne(HttpClient client, DatasetSpec spec, string file, string url, string target,
        DatasetLocatorSettings settings)
    {
        string temp = $"{target}.download-{Guid.NewGuid():N}";
        try
        {
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                return $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
            long? declared = response.Content.Headers.ContentLength;
            if (declared > settings.MaxDownloadBytes)
                return $"the server announces {declared} bytes, more than the {settings.MaxDownloadBytes}-byte limit";
            await using (var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false))
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                long total = 0;
                int n;
                while ((n = await body.ReadAsync(buffer).ConfigureAwait(false)) > 0)
                {
                    total += n;
                    if (total > settings.MaxDownloadBytes)
                        return $"more than the {settings.MaxDownloadBytes}-byte limit was sent";
                    await output.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                }
            }
            if (!MatchesKnownHash(spec, file, temp, out string got))
                return $"SHA-256 mismatch: got {got}, expected {spec.FileSha256[file]}";
            File.Move(temp, target, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            string message = e is TaskCanceledException ? $"timed out after {settings.DownloadTimeout}" : e.Message;
            if (e.InnerException is not null && !message.Contains(e.InnerException.Message, StringComparison.Ordinal))
                message += $" ({e.InnerException.Message})";
            return $"{e.GetType().Name}: {message}";
        }
        finally
        {
            try { if (File.Exists(temp)) File.Delete(temp); } catch (IOException) { }
        }
    }
}
