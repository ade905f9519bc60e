using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using QrCalling;
using QrCalling.Calls;
using QrCalling.Storage;
using QrCalling.Transport;

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

/// <summary>The storage-level workloads both modes run, so Postgres and Redis do exactly the same work.</summary>
internal static class StorageWorkloads
{
    /// <summary>An offer-sized signal body.</summary>
    public const string OfferJson = """{"type":"offer","sdp":"v=0 o=- 46117317 2 IN IP4 127.0.0.1 s=- t=0 0 a=group:BUNDLE 0"}""";

    /// <summary>One full call set-up at the storage level: count a scan, create the call, accept it, append three
    /// signals, end it.</summary>
    public static async Task CallSetUpAsync(IStorage storage, byte[] codeKey, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var code = await storage.Codes.TryCountScanAsync(codeKey, now, cancellationToken)
            ?? throw new InvalidOperationException("scan refused");
        var callId = Guid.NewGuid().ToString("N");
        await storage.Calls.CreateAsync(new CallRecord
        {
            CallId = callId, CodeId = code.Id, OwnerId = code.OwnerId, CallerId = "k_" + callId[..8], CalleeId = "e_" + callId[..8],
            CallTokenHash = RandomNumberGenerator.GetBytes(32), Label = code.Label, Media = MediaKind.Audio,
            CreatedAt = now, RingExpiresAt = now.AddSeconds(30), ExpiresAt = now.AddHours(2),
        }, cancellationToken);
        _ = await storage.Calls.TryAcceptAsync(callId, "device-1", now, cancellationToken) ?? throw new InvalidOperationException("accept lost");
        for (var i = 0; i < 3; i++)
        {
            await storage.Mailbox.AppendAsync(callId, new MailboxEntry { Type = "offer", From = "k", To = CallSide.Callee, DataJson = OfferJson, At = now }, new MailboxBudget(1 << 20, 1 << 20), cancellationToken);
        }
        _ = await storage.Calls.TryEndAsync(callId, CallState.Active, CallEndReason.Hangup, now, cancellationToken)
            ?? throw new InvalidOperationException("end lost");
    }
}

/// <summary>A transport that delivers nothing: the storage load measures storage, not delivery.</summary>
internal sealed class NullTransport : ITransport
{
    public ValueTask SendToOwnerAsync(string ownerId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
    public ValueTask SendToOwnerExceptAsync(string ownerId, string exceptDeviceId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
    public ValueTask SendToDeviceAsync(string ownerId, string deviceId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
    public ValueTask SendToCallerAsync(string callId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
}
