using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Storage;
using QrCalling.Transport;
using StackExchange.Redis;

namespace QrCalling.StorageLoad;

/// <summary>Redis: code scans/s (one Lua script each), full call set-ups/s at the storage level, and
/// <c>redis-benchmark -t get</c> (same clients, as many requests as the scans did) as the baseline. Keys live under a
/// random prefix and are deleted afterwards.</summary>
internal sealed class RedisLoad : ILoadMode
{
    private const int CodeCount = 1000;

    public string Name => "redis";

    public async Task<IReadOnlyList<LoadResult>> RunAsync(LoadSettings settings, CancellationToken cancellationToken)
    {
        var prefix = $"qrload:{Guid.NewGuid():N}:";
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<ITransport, NullTransport>();
        services.AddQrCallingCore(o => o.Pepper = "storage-load-pepper-0123456789").UseRedisStorage(o =>
        {
            o.Configuration = settings.Connection;
            o.KeyPrefix = prefix;
        });
        await using var provider = services.BuildServiceProvider();
        var storage = provider.GetRequiredService<IStorage>();
        var results = new List<LoadResult>();
        var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        try
        {
            var keys = new byte[CodeCount][];
            for (var i = 0; i < CodeCount; i++)
            {
                keys[i] = RandomNumberGenerator.GetBytes(32);
                await storage.Codes.CreateAsync(new CodeRecord
                {
                    Id = $"c_{i}", OwnerId = $"owner-{i % 50}", KeyHash = keys[i], CreatedAt = now, Label = "Load",
                }, cancellationToken);
            }
            byte[] KeyOf(int worker, long n, int offset = 0) => keys[(int)((worker * 7919 + n + offset) % CodeCount)];

            Console.WriteLine("Running: store scans (ICodeStore.TryCountScanAsync)...");
            results.Add(await LoadRunner.RunAsync("code scan (ICodeStore.TryCountScanAsync)", settings.Clients, settings.Duration,
                async (w, n) => _ = await storage.Codes.TryCountScanAsync(KeyOf(w, n), now, cancellationToken)
                    ?? throw new InvalidOperationException("scan refused")));

            Console.WriteLine("Running: call set-ups (scan + create + accept + 3 appends + end)...");
            results.Add(await LoadRunner.RunAsync("call set-up (scan+create+accept+3 appends+end)", settings.Clients, settings.Duration,
                (w, n) => StorageWorkloads.CallSetUpAsync(storage, KeyOf(w, n, CodeCount / 2), now, cancellationToken)));
        }
        finally
        {
            await DeletePrefixAsync(settings.Connection, prefix);
        }

        Console.WriteLine("Running: redis-benchmark -t get baseline...");
        results.Add(await RedisBenchmarkAsync(settings, Math.Max(results[0].Operations, 10_000), cancellationToken));
        return results;
    }

    private static async Task DeletePrefixAsync(string configuration, string prefix)
    {
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        var server = multiplexer.GetServers()[0];
        var batch = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: prefix + "*", pageSize: 1000))
        {
            batch.Add(key);
            if (batch.Count == 1000)
            {
                await multiplexer.GetDatabase().KeyDeleteAsync([.. batch]);
                batch.Clear();
            }
        }
        if (batch.Count > 0)
        {
            await multiplexer.GetDatabase().KeyDeleteAsync([.. batch]);
        }
    }

    private static async Task<LoadResult> RedisBenchmarkAsync(LoadSettings settings, long requests, CancellationToken cancellationToken)
    {
        var endpoint = ConfigurationOptions.Parse(settings.Connection).EndPoints[0];
        var (host, port) = endpoint switch
        {
            System.Net.DnsEndPoint dns => (dns.Host, dns.Port),
            System.Net.IPEndPoint ip => (ip.Address.ToString(), ip.Port),
            _ => ("127.0.0.1", 6379),
        };
        var start = new ProcessStartInfo("redis-benchmark") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "-h", host, "-p", port.ToString(CultureInfo.InvariantCulture), "-t", "get", "-c", settings.Clients.ToString(CultureInfo.InvariantCulture),
            "-n", requests.ToString(CultureInfo.InvariantCulture), "--csv",
        })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-benchmark is not installed (Debian: redis-tools).");
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        // "GET","16934.80",...
        var row = output.Split('\n').First(l => l.StartsWith("\"GET\"", StringComparison.Ordinal)).Split(',');
        var rps = double.Parse(row[1].Trim('"'), CultureInfo.InvariantCulture);
        return new LoadResult("redis-benchmark -t get (baseline)", requests, TimeSpan.FromSeconds(requests / rps), IsBaseline: true);
    }

}
