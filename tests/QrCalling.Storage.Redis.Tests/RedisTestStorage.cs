using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Testing;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis.Tests;

/// <summary>Storage on the shared test Redis (QRCALLING_TEST_REDIS), each instance under its own random key prefix.</summary>
internal static class RedisTestStorage
{
    private static readonly Lazy<RedisConnection> Shared = new(() => RedisConnection.FromConfiguration(TestServers.Redis));

    /// <summary>The shared connection of the test assembly.</summary>
    public static RedisConnection Connection => Shared.Value;

    public static string NewPrefix() => $"qrtest:{Guid.NewGuid():N}:";

    public static RedisStorage Create(TimeProvider? time = null, QrCallingOptions? options = null, string? prefix = null) =>
        new(Connection, prefix ?? NewPrefix(), options ?? new QrCallingOptions(), time ?? new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero)),
            NullLogger.Instance, ownsConnection: false);

    public static async Task<IDatabase> DatabaseAsync() => (await Connection.GetMultiplexerAsync(CancellationToken.None)).GetDatabase();

    /// <summary>Every key under a prefix.</summary>
    public static async Task<List<string>> KeysAsync(string prefix)
    {
        var multiplexer = await Connection.GetMultiplexerAsync(CancellationToken.None);
        var server = multiplexer.GetServers()[0];
        var keys = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: prefix + "*", pageSize: 500))
        {
            keys.Add(key!);
        }
        return keys;
    }

    /// <summary>Deletes every key under a prefix.</summary>
    public static async Task DeleteAllAsync(string prefix)
    {
        var keys = await KeysAsync(prefix);
        if (keys.Count > 0)
        {
            var db = await DatabaseAsync();
            await db.KeyDeleteAsync(keys.Select(k => (RedisKey)k).ToArray());
        }
    }
}

/// <summary>The shared storage contract on Redis.</summary>
public sealed class RedisStorageContractTests : StorageContractTests
{
    private readonly string _prefix = RedisTestStorage.NewPrefix();

    protected override bool CanTellCodesWithoutBlocks => true;

    protected override ValueTask<IStorage> CreateStorageAsync() => ValueTask.FromResult<IStorage>(RedisTestStorage.Create(prefix: _prefix));

    protected override async ValueTask DisposeStorageAsync(IStorage storage) => await RedisTestStorage.DeleteAllAsync(_prefix);
}
