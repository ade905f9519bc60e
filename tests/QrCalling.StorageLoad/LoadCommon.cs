using System.Diagnostics;
using System.Globalization;

namespace QrCalling.StorageLoad;

/// <summary>One storage backend's load run.</summary>
internal interface ILoadMode
{
    /// <summary>The mode's name on the command line (e.g. <c>postgres</c>).</summary>
    string Name { get; }

    /// <summary>Runs every workload and the baseline; returns one row per workload.</summary>
    Task<IReadOnlyList<LoadResult>> RunAsync(LoadSettings settings, CancellationToken cancellationToken);
}

/// <summary>What a run is given.</summary>
internal sealed record LoadSettings(string Connection, int Clients, TimeSpan Duration);

/// <summary>One measured workload; <paramref name="IsBaseline"/> marks the server's own benchmark.</summary>
internal sealed record LoadResult(string Workload, long Operations, TimeSpan Elapsed, bool IsBaseline = false)
{
    public double PerSecond => Operations / Elapsed.TotalSeconds;
}

internal static class LoadRunner
{
    /// <summary>Runs <paramref name="clients"/> workers calling <paramref name="operation"/> in a loop for
    /// <paramref name="duration"/>; returns the completed operations.</summary>
    public static async Task<LoadResult> RunAsync(string workload, int clients, TimeSpan duration, Func<int, long, Task> operation)
    {
        // Warm up: each worker once (pool connections, prepared statements).
        await Task.WhenAll(Enumerable.Range(0, clients).Select(w => operation(w, 0)));
        using var stop = new CancellationTokenSource(duration);
        var counts = new long[clients];
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(w => Task.Run(async () =>
        {
            long n = 0;
            while (!stop.IsCancellationRequested)
            {
                await operation(w, n).ConfigureAwait(false);
                n++;
            }
            counts[w] = n;
        })));
        stopwatch.Stop();
        return new LoadResult(workload, counts.Sum(), stopwatch.Elapsed);
    }
}

internal static class LoadReport
{
    public static void Print(string mode, LoadSettings settings, IReadOnlyList<LoadResult> results)
    {
        var baseline = results.FirstOrDefault(r => r.IsBaseline);
        Console.WriteLine();
        Console.WriteLine($"QrCalling storage load ({mode}): {settings.Clients} clients, {settings.Duration.TotalSeconds:0} s each, {Environment.ProcessorCount} cores");
        Console.WriteLine($"{"workload",-48} {"ops",10} {"ops/s",10} {"vs baseline",12}");
        foreach (var r in results)
        {
            var ratio = baseline is null ? "-" : (r.PerSecond / baseline.PerSecond).ToString("P0", CultureInfo.InvariantCulture);
            Console.WriteLine($"{r.Workload,-48} {r.Operations,10} {r.PerSecond,10:0} {ratio,12}");
        }
    }
}
