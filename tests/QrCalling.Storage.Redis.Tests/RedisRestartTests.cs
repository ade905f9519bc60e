using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Codes;
using Xunit;

namespace QrCalling.Storage.Redis.Tests;

/// <summary>A Redis crash and restart under a running storage: fail fast while it is down, recover without restarting
/// the multiplexer, lose nothing written before (appendonly yes, appendfsync always).</summary>
public sealed class RedisRestartTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task RedisKilledAndRestarted_FailsFastThenRecoversWithEveryCode()
    {
        await using var server = await PrivateRedisServer.StartAsync();
        await using var connection = RedisConnection.FromConfiguration(server.Configuration);
        var storage = new RedisStorage(connection, "qrcalling:", new QrCallingOptions(), new FakeTimeProvider(Now), NullLogger.Instance, ownsConnection: false);
        var codes = new List<CodeRecord>();
        for (var i = 0; i < 50; i++)
        {
            var code = new CodeRecord
            {
                Id = $"c-{i}",
                OwnerId = "owner",
                KeyHash = RandomNumberGenerator.GetBytes(32),
                CreatedAt = Now.AddSeconds(i),
                ExpiresAt = i % 2 == 0 ? null : Now.AddDays(1),
                MaxScans = 5,
            };
            await storage.Codes.CreateAsync(code, default);
            codes.Add(code);
        }
        Assert.NotNull(await storage.Codes.TryCountScanAsync(codes[0].KeyHash, Now, default));

        await server.KillAsync();
        var down = Stopwatch.StartNew();
        var failures = 0;
        for (var i = 0; i < 10; i++)
        {
            var one = Stopwatch.StartNew();
            await Assert.ThrowsAsync<StorageUnavailableException>(() => storage.Codes.FindByKeyAsync(codes[i].KeyHash, default).AsTask());
            await Assert.ThrowsAsync<StorageUnavailableException>(() => storage.PingAsync(default).AsTask());
            Assert.True(one.Elapsed < TimeSpan.FromSeconds(3), $"one failure took {one.Elapsed}");
            failures += 2;
        }
        down.Stop();

        await server.RestartAsync();
        var recovery = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await storage.PingAsync(default);
                break;
            }
            catch (StorageUnavailableException) when (recovery.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }
        }
        recovery.Stop();

        foreach (var code in codes)
        {
            var found = await storage.Codes.FindByKeyAsync(code.KeyHash, default);
            Assert.NotNull(found);
            Assert.Equal(code.Id, found.Id);
        }
        var scanned = await storage.Codes.TryCountScanAsync(codes[0].KeyHash, Now, default);
        Assert.Equal(2, scanned?.ScanCount);
        Assert.Equal(50, await CountAsync(storage.Codes.ListByOwnerAsync("owner", default)));
        Console.WriteLine($"[figures] redis down: {failures} failed operations in {down.ElapsedMilliseconds} ms; recovered {recovery.ElapsedMilliseconds} ms after restart; 50/50 codes kept");
    }

    [Fact]
    public async Task HostOnRedis_RedisKilledAndRestarted_503ThenRecoversWithoutRestartingTheHost()
    {
        await using var server = await PrivateRedisServer.StartAsync();
        await using var host = await RedisHost.StartAsync(server.Configuration, "qrcalling:", "qrcalling");
        var owner = host.Client("owner-r");
        var issued = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var code = await owner.PostJsonAsync("/api/v1/codes", new { label = $"Door {i}" }, HttpStatusCode.Created);
            issued.Add(code.GetProperty("id").GetString()!);
        }
        Assert.Equal(HttpStatusCode.OK, (await host.Client().GetAsync("/health/ready")).StatusCode);

        await server.KillAsync();
        var down = Stopwatch.StartNew();
        var problem = await owner.PostJsonAsync("/api/v1/codes", new { label = "while down" }, HttpStatusCode.ServiceUnavailable);
        var listDown = await (await owner.GetAsync("/api/v1/codes")).ReadJsonAsync(HttpStatusCode.ServiceUnavailable);
        var ready = await host.Client().GetAsync("/health/ready");
        down.Stop();
        Assert.Equal("storage_unavailable", problem.GetProperty("code").GetString());
        Assert.Equal("storage_unavailable", listDown.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Client().GetAsync("/health/live")).StatusCode);

        await server.RestartAsync();
        var recovery = Stopwatch.StartNew();
        while ((await host.Client().GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(recovery.Elapsed < TimeSpan.FromSeconds(30), "not ready 30 s after Redis came back");
            await Task.Delay(100);
        }
        recovery.Stop();

        var codes = await (await owner.GetAsync("/api/v1/codes")).ReadJsonAsync(HttpStatusCode.OK);
        Assert.Equal(issued.Order(), codes.EnumerateArray().Select(c => c.GetProperty("id").GetString()!).Order());
        await owner.PostJsonAsync("/api/v1/codes", new { label = "after restart" }, HttpStatusCode.Created);
        Assert.True(!host.Logs.AllText.Contains("owner-r"), string.Join("\n", host.Logs.Lines.Where(l => l.Contains("owner-r"))));
        Console.WriteLine($"[figures] host on redis: 2 API calls + readiness answered 503 in {down.ElapsedMilliseconds} ms; ready again {recovery.ElapsedMilliseconds} ms after restart; 5/5 codes kept");
    }

    private static async Task<int> CountAsync<T>(IAsyncEnumerable<T> items)
    {
        var n = 0;
        await foreach (var _ in items)
        {
            n++;
        }
        return n;
    }
}
