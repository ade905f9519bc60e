using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Hosting;
using QrCalling.Testing;
using StackExchange.Redis;
using Xunit;

namespace QrCalling.Storage.Redis.Tests;

/// <summary>What the shared contract cannot see: key layout, TTLs, index clean-up, options and outages.</summary>
public sealed class RedisStorageTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _prefix = RedisTestStorage.NewPrefix();
    private readonly FakeTimeProvider _time = new(Now);
    private readonly QrCallingOptions _options = new()
    {
        CodeRetention = TimeSpan.FromDays(30),
        CallRetention = TimeSpan.FromDays(7),
        MailboxRetention = TimeSpan.FromMinutes(10),
    };
    private RedisStorage _storage = null!;
    private IDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _storage = RedisTestStorage.Create(_time, _options, _prefix);
        _db = await RedisTestStorage.DatabaseAsync();
    }

    public Task DisposeAsync() => RedisTestStorage.DeleteAllAsync(_prefix);

    private static CodeRecord NewCode(string owner, DateTimeOffset? expiresAt = null) => new()
    {
        Id = $"c-{Guid.NewGuid():N}",
        OwnerId = owner,
        KeyHash = RandomNumberGenerator.GetBytes(32),
        CreatedAt = Now,
        ExpiresAt = expiresAt,
    };

    private static CallRecord NewCall(string owner, string? codeId = null) => new()
    {
        CallId = $"call-{Guid.NewGuid():N}",
        CodeId = codeId ?? $"c-{Guid.NewGuid():N}",
        OwnerId = owner,
        CallerId = "caller",
        CalleeId = "callee",
        CallTokenHash = RandomNumberGenerator.GetBytes(32),
        Media = MediaKind.Audio,
        CreatedAt = Now,
        RingExpiresAt = Now.AddSeconds(30),
        ExpiresAt = Now.AddHours(2),
    };

    private static readonly MailboxBudget Budget = new(SideBytes: 1 << 20, RingingBytes: 1 << 20);

    private static MailboxEntry Entry(string type, CallSide? to = CallSide.Callee) =>
        new() { Type = type, From = to is null ? "server" : "caller", To = to, DataJson = """{"a":1}""", At = Now };

    private async Task<TimeSpan?> TtlAsync(RedisKey key) => await _db.KeyTimeToLiveAsync(key);

    private static void AssertNear(TimeSpan expected, TimeSpan? actual)
    {
        Assert.NotNull(actual);
        Assert.InRange(actual.Value.TotalSeconds, expected.TotalSeconds - 30, expected.TotalSeconds + 1);
    }

    [Fact]
    public async Task CodeCreate_WithoutExpiry_HasNoTtlAndKeysHoldOnlyTheHashHex()
    {
        var code = NewCode("owner-a");

        await _storage.Codes.CreateAsync(code, default);

        Assert.Null(await TtlAsync(_storage.Keys.Code(code.Id)));
        Assert.Null(await TtlAsync(_storage.Keys.CodeKey(code.KeyHash)));
        var keys = await RedisTestStorage.KeysAsync(_prefix);
        Assert.Contains(_prefix + "codekey:" + Convert.ToHexStringLower(code.KeyHash), keys);
        Assert.Equal(3, keys.Count); // code hash, key pointer, owner index; no stale entry for a code that never expires
    }

    [Fact]
    public async Task CodeCreate_WithExpiry_LivesUntilExpiryPlusRetention()
    {
        var code = NewCode("owner-a", Now.AddDays(2));

        await _storage.Codes.CreateAsync(code, default);

        AssertNear(TimeSpan.FromDays(32), await TtlAsync(_storage.Keys.Code(code.Id)));
        AssertNear(TimeSpan.FromDays(32), await TtlAsync(_storage.Keys.CodeKey(code.KeyHash)));
        AssertNear(TimeSpan.FromDays(32), await TtlAsync(_storage.Keys.OwnerCodes("owner-a")));
    }

    [Fact]
    public async Task CodeRevoke_CodeWithoutExpiry_GetsTtlOfRevokedAtPlusRetention()
    {
        var code = NewCode("owner-a");
        await _storage.Codes.CreateAsync(code, default);

        Assert.True(await _storage.Codes.RevokeAsync("owner-a", code.Id, Now.AddDays(1), default));

        AssertNear(TimeSpan.FromDays(31), await TtlAsync(_storage.Keys.Code(code.Id)));
        AssertNear(TimeSpan.FromDays(31), await TtlAsync(_storage.Keys.CodeKey(code.KeyHash)));
    }

    [Fact]
    public async Task CallTryEnd_SetsCallTtlToEndedPlusRetentionAndMailboxToEndedPlusMailboxRetention()
    {
        var call = NewCall("owner-a");
        await _storage.Calls.CreateAsync(call, default);
        await AppendOkAsync(_storage, call.CallId, Entry("offer"));
        await AppendOkAsync(_storage, call.CallId, Entry("ice-candidate", CallSide.Caller));
        await AppendOkAsync(_storage, call.CallId, Entry("call-accepted", to: null));
        AssertNear(TimeSpan.FromHours(2) + TimeSpan.FromDays(7), await TtlAsync(_storage.Keys.Call(call.CallId)));
        foreach (var key in _storage.Keys.MailboxKeys(call.CallId))
        {
            AssertNear(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(10), await TtlAsync(key));
        }

        await _storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Canceled, Now.AddMinutes(5), default);

        AssertNear(TimeSpan.FromMinutes(5) + TimeSpan.FromDays(7), await TtlAsync(_storage.Keys.Call(call.CallId)));
        AssertNear(TimeSpan.FromMinutes(5) + TimeSpan.FromDays(7), await TtlAsync(_storage.Keys.CallToken(call.CallTokenHash)));
        foreach (var key in _storage.Keys.MailboxKeys(call.CallId))
        {
            AssertNear(TimeSpan.FromMinutes(15), await TtlAsync(key));
        }
    }

    [Fact]
    public async Task CallLifecycle_EveryKeyButTheSweepIndexesHasATtl()
    {
        var code = NewCode("owner-t", Now.AddDays(1));
        var call = NewCall("owner-t", code.Id);
        await _storage.Codes.CreateAsync(code, default);
        await _storage.Calls.CreateAsync(call, default);
        await AppendOkAsync(_storage, call.CallId, Entry("offer"));
        Assert.NotNull(await _storage.Calls.TryAcceptAsync(call.CallId, "device-1", Now, default));
        await AppendOkAsync(_storage, call.CallId, Entry("call-accepted", to: null));
        await AppendOkAsync(_storage, call.CallId, Entry("answer", CallSide.Caller));
        await AppendOkAsync(_storage, call.CallId, Entry("ice-candidate"));
        await _storage.Mailbox.AcknowledgeAsync(call.CallId, CallSide.Callee, 1, default);
        await _storage.Calls.SetPresenceAsync(call.CallId, CallSide.Caller, Now, default);
        await AssertEveryKeyHasATtlAsync(expectedMailboxKeys: 5);

        await _storage.Calls.TryEndAsync(call.CallId, CallState.Active, CallEndReason.Hangup, Now.AddMinutes(1), default);
        await AppendOkAsync(_storage, call.CallId, Entry("call-ended", to: null));
        await _storage.Mailbox.AcknowledgeAsync(call.CallId, CallSide.Caller, 10, default);
        await AssertEveryKeyHasATtlAsync(expectedMailboxKeys: 4); // the caller's set is empty, so gone
    }

    /// <summary>Every key under the prefix has a TTL, except the global sweep indexes (which the sweeps empty).</summary>
    private async Task AssertEveryKeyHasATtlAsync(int expectedMailboxKeys)
    {
        string[] sweepIndexes = [_storage.Keys.StaleCodes!, _storage.Keys.OpenCalls!, _storage.Keys.EndedCalls!, _storage.Keys.EndedMailboxes!];
        var keys = await RedisTestStorage.KeysAsync(_prefix);
        Assert.Equal(expectedMailboxKeys, keys.Count(k => k.StartsWith(_prefix + "mbox-", StringComparison.Ordinal) && !sweepIndexes.Contains(k)));
        foreach (var key in keys.Where(k => !sweepIndexes.Contains(k)))
        {
            Assert.True(await TtlAsync(key) is not null, $"{key[_prefix.Length..]} has no TTL");
        }
    }

    [Fact]
    public async Task MailboxEntry_MultiByteDataAndSeparators_RoundTripsAndCostsItsUtf8Size()
    {
        var call = NewCall("owner-u");
        await _storage.Calls.CreateAsync(call, default);
        var entry = new MailboxEntry
        {
            Type = "chat|x", From = "caller|1|2", To = CallSide.Callee, DataJson = "\"é€😀|3|{}\"", At = Now.AddMilliseconds(7),
        };
        var lifecycle = Entry("call-accepted", to: null) with { DataJson = "" };

        await AppendOkAsync(_storage, call.CallId, entry);
        await AppendOkAsync(_storage, call.CallId, lifecycle);
        var read = await _storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 0, 10, int.MaxValue, default);

        Assert.Equal([entry with { Seq = 1 }, lifecycle with { Seq = 2 }], read);
        Assert.Equal(entry.Size, await _storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Callee, default));
        Assert.Equal(1, await _storage.Mailbox.AcknowledgeAsync(call.CallId, CallSide.Callee, 1, default));
        Assert.Equal(0, await _storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Callee, default));
    }

    [Fact]
    public async Task MailboxDeleteForCallsEndedBefore_PartialBatch_FreesTheBytesOfWhatItDeletedThenDeletesEveryKey()
    {
        var call = NewCall("owner-v");
        await _storage.Calls.CreateAsync(call, default);
        var entry = Entry("ice-candidate");
        for (var i = 0; i < 3; i++)
        {
            await AppendOkAsync(_storage, call.CallId, entry);
        }
        await AppendOkAsync(_storage, call.CallId, Entry("ice-candidate", CallSide.Caller));
        await _storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Canceled, Now, default);
        await AppendOkAsync(_storage, call.CallId, Entry("call-ended", to: null));

        Assert.Equal(2, await _storage.Mailbox.DeleteForCallsEndedBeforeAsync(Now.AddMinutes(1), 2, default));
        // The caller's entry went first, then the callee's oldest: each side's bytes are what is left addressed to it.
        Assert.Equal(0, await _storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Caller, default));
        Assert.Equal(2L * entry.Size, await _storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Callee, default));
        Assert.Equal(3, await _storage.Mailbox.DeleteForCallsEndedBeforeAsync(Now.AddMinutes(1), 100, default));

        var keys = await RedisTestStorage.KeysAsync(_prefix);
        Assert.DoesNotContain(keys, k => k.StartsWith(_prefix + "mbox-", StringComparison.Ordinal));
        Assert.Equal(0, await _storage.Mailbox.GetLastSeqAsync(call.CallId, default));
    }

    [Fact]
    public async Task CallDeleteEndedBefore_DeletesEveryMailboxKey()
    {
        var call = NewCall("owner-w");
        await _storage.Calls.CreateAsync(call, default);
        await AppendOkAsync(_storage, call.CallId, Entry("offer"));
        await AppendOkAsync(_storage, call.CallId, Entry("ice-candidate", CallSide.Caller));
        await _storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Canceled, Now, default);
        await AppendOkAsync(_storage, call.CallId, Entry("call-ended", to: null));
        Assert.Equal(5, (await RedisTestStorage.KeysAsync(_prefix)).Count(k => k.StartsWith(_prefix + "mbox-", StringComparison.Ordinal) && k != _storage.Keys.EndedMailboxes));

        Assert.Equal(1, await _storage.Calls.DeleteEndedBeforeAsync(Now.AddMinutes(1), 10, default));

        var keys = await RedisTestStorage.KeysAsync(_prefix);
        Assert.DoesNotContain(keys, k => k.StartsWith(_prefix + "mbox", StringComparison.Ordinal));
        Assert.DoesNotContain(keys, k => k.StartsWith(_prefix + "call", StringComparison.Ordinal));
    }

    private static async Task<long> AppendOkAsync(RedisStorage storage, string callId, MailboxEntry entry)
    {
        var result = await storage.Mailbox.AppendAsync(callId, entry, Budget, default);
        Assert.Equal(MailboxAppendStatus.Appended, result.Status);
        return result.Seq;
    }

    [Fact]
    public async Task MailboxAppend_AfterEndWithZeroRetention_KeepsSeqForAtLeastTheMinimumTtl()
    {
        var options = new QrCallingOptions { MailboxRetention = TimeSpan.Zero };
        var storage = RedisTestStorage.Create(_time, options, _prefix);
        var call = NewCall("owner-a");
        await storage.Calls.CreateAsync(call, default);
        await AppendOkAsync(storage, call.CallId, Entry("offer"));
        await storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Canceled, Now, default);

        var seq = await AppendOkAsync(storage, call.CallId, Entry("call-ended", to: null));

        Assert.Equal(2, seq);
        AssertNear(RedisStorage.MinimumTtl, await TtlAsync(storage.Keys.MailboxBoth(call.CallId)));
        AssertNear(RedisStorage.MinimumTtl, await TtlAsync(storage.Keys.MailboxSeq(call.CallId)));
    }

    [Fact]
    public async Task ListByOwner_RecordKeysExpired_SkipsAndRemovesStaleIndexEntries()
    {
        var code = NewCode("owner-b");
        var call = NewCall("owner-b", code.Id);
        await _storage.Codes.CreateAsync(code, default);
        await _storage.Calls.CreateAsync(call, default);
        // What a TTL expiry does: the record's keys vanish, the index entries stay.
        await _db.KeyDeleteAsync([_storage.Keys.Code(code.Id), _storage.Keys.Call(call.CallId)]);

        var codes = await ToListAsync(_storage.Codes.ListByOwnerAsync("owner-b", default));
        var calls = await ToListAsync(_storage.Calls.ListByOwnerAsync("owner-b", 10, null, default));
        var open = await ToListAsync(_storage.Calls.ListOpenAsync(10, default));
        var byCode = await ToListAsync(_storage.Calls.ListOpenByCodeAsync(code.Id, 10, default));

        Assert.Empty(codes);
        Assert.Empty(calls);
        Assert.Empty(open);
        Assert.Empty(byCode);
        Assert.False(await _db.KeyExistsAsync(_storage.Keys.OwnerCodes("owner-b")));
        Assert.False(await _db.KeyExistsAsync(_storage.Keys.OwnerCalls("owner-b")));
        Assert.False(await _db.KeyExistsAsync(_storage.Keys.OpenCalls));
        Assert.False(await _db.KeyExistsAsync(_storage.Keys.CodeOpenCalls(code.Id)));
    }

    [Fact]
    public async Task Sweeps_RecordKeysAlreadyExpired_CleanTheirIndexEntries()
    {
        var code = NewCode("owner-c", Now.AddMinutes(1));
        var call = NewCall("owner-c");
        await _storage.Codes.CreateAsync(code, default);
        await _storage.Calls.CreateAsync(call, default);
        await AppendOkAsync(_storage, call.CallId, Entry("offer"));
        await _storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Missed, Now.AddMinutes(1), default);
        await _db.KeyDeleteAsync([_storage.Keys.Code(code.Id), _storage.Keys.Call(call.CallId), .. _storage.Keys.MailboxKeys(call.CallId)]);

        Assert.Equal(0, await _storage.Codes.DeleteStaleAsync(Now.AddDays(1), 100, default));
        Assert.Equal(0, await _storage.Mailbox.DeleteForCallsEndedBeforeAsync(Now.AddDays(1), 100, default));
        Assert.Equal(0, await _storage.Calls.DeleteEndedBeforeAsync(Now.AddDays(1), 100, default));

        Assert.False(await _db.KeyExistsAsync(_storage.Keys.StaleCodes));
        Assert.False(await _db.KeyExistsAsync(_storage.Keys.EndedCalls));
        Assert.False(await _db.KeyExistsAsync(_storage.Keys.EndedMailboxes));
    }

    [Fact]
    public async Task UnreachableRedis_EveryStoreMethodThrowsStorageUnavailableFast()
    {
        var port = FreePort.Next();
        await using var connection = RedisConnection.FromConfiguration($"127.0.0.1:{port},connectTimeout=500");
        var storage = new RedisStorage(connection, _prefix, _options, _time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, ownsConnection: false);
        var code = NewCode("owner-d");
        var call = NewCall("owner-d");
        var operations = new Func<Task>[]
        {
            () => storage.PingAsync(default).AsTask(),
            () => storage.Codes.CreateAsync(code, default).AsTask(),
            () => storage.Codes.FindByKeyAsync(code.KeyHash, default).AsTask(),
            () => storage.Codes.FindByIdAsync("o", "c", default).AsTask(),
            () => ToListAsync(storage.Codes.ListByOwnerAsync("o", default)),
            () => storage.Codes.TryCountScanAsync(code.KeyHash, Now, default).AsTask(),
            () => storage.Codes.RevokeAsync("o", "c", Now, default).AsTask(),
            () => storage.Codes.DeleteStaleAsync(Now, 10, default).AsTask(),
            () => storage.Calls.CreateAsync(call, default).AsTask(),
            () => storage.Calls.GetAsync("x", default).AsTask(),
            () => storage.Calls.FindByTokenHashAsync(call.CallTokenHash, default).AsTask(),
            () => storage.Calls.TryAcceptAsync("x", "d", Now, default).AsTask(),
            () => storage.Calls.TryEndAsync("x", CallState.Ringing, CallEndReason.Canceled, Now, default).AsTask(),
            () => storage.Calls.SetPresenceAsync("x", CallSide.Caller, Now, default).AsTask(),
            () => ToListAsync(storage.Calls.ListByOwnerAsync("o", 10, null, default)),
            () => ToListAsync(storage.Calls.ListOpenAsync(10, default)),
            () => ToListAsync(storage.Calls.ListOpenByCodeAsync("c", 10, default)),
            () => storage.Calls.DeleteEndedBeforeAsync(Now, 10, default).AsTask(),
            () => storage.Mailbox.AppendAsync("x", Entry("offer"), Budget, default).AsTask(),
            () => storage.Mailbox.ReadAsync("x", CallSide.Caller, 0, 10, int.MaxValue, default).AsTask(),
            () => storage.Mailbox.AcknowledgeAsync("x", CallSide.Caller, 1, default).AsTask(),
            () => storage.Mailbox.GetLastSeqAsync("x", default).AsTask(),
            () => storage.Mailbox.GetPendingBytesAsync("x", CallSide.Caller, default).AsTask(),
            () => storage.Mailbox.DeleteForCallsEndedBeforeAsync(Now, 10, default).AsTask(),
        };

        var watch = Stopwatch.StartNew();
        foreach (var operation in operations)
        {
            await Assert.ThrowsAsync<StorageUnavailableException>(operation);
        }
        watch.Stop();

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Console.WriteLine($"[figures] {operations.Length} operations against a closed port failed in {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void UseRedisStorage_NoConfiguration_FailsStartupNamingTheKey()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddQrCallingCore().UseRedisStorage(_ => { });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisStorageOptions>>().Value);

        Assert.Contains("RedisStorageOptions.Configuration", error.Message);
    }

    [Fact]
    public void UseRedisStorage_EmptyPrefixAndBothConnections_ReportsEachKey()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddQrCallingCore().UseRedisStorage(o =>
        {
            o.Configuration = "127.0.0.1:1";
            o.ConnectionMultiplexerFactory = _ => throw new InvalidOperationException();
            o.KeyPrefix = "";
        });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisStorageOptions>>().Value);

        Assert.Contains("RedisStorageOptions.KeyPrefix", error.Message);
        Assert.Contains("Set only one of RedisStorageOptions.Configuration", error.Message);
    }

    [Fact]
    public async Task UseRedisStorage_AppOwnedMultiplexer_IsUsedAndNotDisposed()
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(_time);
        services.AddQrCallingCore().UseRedisStorage(o =>
        {
            o.ConnectionMultiplexerFactory = _ => Task.FromResult<IConnectionMultiplexer>(multiplexer);
            o.KeyPrefix = _prefix;
        });
        var provider = services.BuildServiceProvider();
        var storage = provider.GetRequiredService<IStorage>();
        var code = NewCode("owner-e");

        await storage.Codes.CreateAsync(code, default);
        await provider.DisposeAsync();

        Assert.IsType<RedisStorage>(storage);
        Assert.True(multiplexer.IsConnected);
        Assert.True(await multiplexer.GetDatabase().KeyExistsAsync(_prefix + "code:" + code.Id));
        await multiplexer.DisposeAsync();
    }

    [Fact]
    public async Task StoreLogs_Outage_HoldNoIdsOrHashes()
    {
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var port = FreePort.Next();
        await using var connection = RedisConnection.FromConfiguration($"127.0.0.1:{port},connectTimeout=500", factory.CreateLogger("redis"));
        var storage = new RedisStorage(connection, _prefix, _options, _time, factory.CreateLogger("redis"), ownsConnection: false);
        var code = NewCode("owner-secret");

        await Assert.ThrowsAsync<StorageUnavailableException>(() => storage.Codes.CreateAsync(code, default).AsTask());

        Assert.NotEmpty(logs.Lines);
        Assert.DoesNotContain(Convert.ToHexStringLower(code.KeyHash), logs.AllText, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("owner-secret", logs.AllText);
        Assert.DoesNotContain(code.Id, logs.AllText);
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }
        return list;
    }
}

internal static class FreePort
{
    public static int Next()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Start-up validation of the backplane options.</summary>
public sealed class RedisBackplaneOptionsTests
{
    [Fact]
    public void UseRedisBackplane_WithoutStorageOrConfiguration_FailsStartupNamingTheKey()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddQrCallingCore().UseRedisBackplane();
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RedisBackplaneOptions>>().Value);

        Assert.Contains("RedisBackplaneOptions.Configuration", error.Message);
    }

    [Fact]
    public async Task UseRedisBackplane_WithRedisStorage_SharesTheStorageMultiplexer()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddQrCallingCore().UseRedisStorage(o => o.Configuration = TestServers.Redis).UseRedisBackplane(o => o.ChannelPrefix = "qrtest");
        await using var provider = services.BuildServiceProvider();

        var backplane = provider.GetRequiredService<IOptions<Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisOptions>>().Value;
        var shared = await backplane.ConnectionFactory!(TextWriter.Null);
        var storage = await provider.GetRequiredService<RedisConnection>().GetMultiplexerAsync(default);

        Assert.Same(storage, shared);
        Assert.Equal("qrtest", backplane.Configuration.ChannelPrefix.ToString());
    }
}
