using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using QrCalling.SampleHost.Accounts;
using QrCalling.Storage;
using QrCalling.Testing;
using StackExchange.Redis;
using Xunit;

namespace QrCalling.Browser.Tests.Accounts;

/// <summary>Issue 13: deleting an account leaves nothing of its owner in any store the sample can run on. The sample host
/// runs on each storage; the owner gets codes, a call with mailbox entries, a push subscription, a message key, a left
/// message, a refresh token and audit entries; after <c>DELETE /api/v1/account</c> every store is searched, through its
/// API and, on PostgreSQL and Redis, row by row and key by key for the owner's id, name, code ids and call id.</summary>
public sealed class AccountDeletionStorageTests
{
    [Theory]
    [InlineData("memory")]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task DeleteAccount_EveryStore_NothingOfTheOwnerIsLeft(string storage)
    {
        string[] settings = storage switch
        {
            "postgres" => ["--QrCalling:Storage=postgres", $"--ConnectionStrings:Postgres={TestServers.Postgres}"],
            "redis" => ["--QrCalling:Storage=redis", $"--ConnectionStrings:Redis={TestServers.Redis}"],
            _ => [],
        };
        await using var server = await SampleHostServer.StartAsync(settings);
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        var user = new { username = "del" + Guid.NewGuid().ToString("N")[..12], password = "correct horse battery" };
        (await http.PostAsJsonAsync("/api/v1/account/register", user)).EnsureSuccessStatusCode();
        using var login = await http.PostAsJsonAsync("/api/v1/account/login", user);
        var tokens = await login.Content.ReadFromJsonAsync<JsonElement>();
        var refreshToken = tokens.GetProperty("refreshToken").GetString()!;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.GetProperty("accessToken").GetString());
        using var failed = await http.PostAsJsonAsync("/api/v1/account/login", new { user.username, password = "not the password" }); // audited
        var accounts = server.Services.GetRequiredService<IAccountStore>();
        var ownerId = (await accounts.FindAsync(user.username, default))!.Id;
        var store = server.Services.GetRequiredService<IStorage>();

        var codeIds = new List<string>();
        string payload = "";
        foreach (var label in new[] { "Blue van", "Front door" })
        {
            using var created = await http.PostAsJsonAsync("/api/v1/codes", new { label, media = new[] { "audio", "chat" } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var code = await created.Content.ReadFromJsonAsync<JsonElement>();
            codeIds.Add(code.GetProperty("id").GetString()!);
            payload = code.GetProperty("payload").GetString()!;
        }
        using var anonymous = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        using var started = await anonymous.PostAsJsonAsync("/api/v1/calls", new { payload, media = "audio" });
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var callId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("callId").GetString()!;
        Assert.True(await store.Mailbox.GetLastSeqAsync(callId, default) > 0 || (await store.Mailbox.AppendAsync(callId,
            new QrCalling.Calls.MailboxEntry { Type = "offer", From = "caller", To = QrCalling.Calls.CallSide.Callee, DataJson = "{}", At = DateTimeOffset.UtcNow }, new MailboxBudget(1 << 20, 1 << 20), default)).Seq > 0);
        using var key = await http.PutAsJsonAsync("/api/v1/message-key", new { publicKey = P256PublicKey() });
        Assert.True(key.IsSuccessStatusCode, key.StatusCode.ToString());
        await store.PushSubscriptions.SaveAsync(new PushSubscriptionRecord
        {
            OwnerId = ownerId, Endpoint = "https://fcm.googleapis.com/fcm/send/" + Guid.NewGuid().ToString("N"), P256dh = P256PublicKey(),
            Auth = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('='), CreatedAt = DateTimeOffset.UtcNow,
        }, 10, default);
        Assert.Equal(MessageAddStatus.Added, await store.Messages.TryAddAsync(new StoredMessage
        {
            MessageId = "m_" + Guid.NewGuid().ToString("N"), OwnerId = ownerId, CallId = callId, CodeId = codeIds[1], Label = "Front door",
            KeyId = "k1", EphemeralPublicKey = P256PublicKey(), Iv = "aXYtMTItYnl0ZXM", Ciphertext = "c2VhbGVk",
            CreatedAt = DateTimeOffset.UtcNow, ExpiresAt = DateTimeOffset.UtcNow.AddDays(7),
        }, 10, DateTimeOffset.UtcNow, default));
        string[] traces = [ownerId, user.username, callId, .. codeIds];
        if (storage != "memory")
        {
            Assert.NotEmpty(await LeftoversAsync(storage, traces)); // the search finds what is there
        }

        using var deleted = await http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/v1/account") { Content = JsonContent.Create(new { user.password }) });
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        Assert.Null(await accounts.FindAsync(user.username, default));
        Assert.Null(await accounts.FindByIdAsync(ownerId, default));
        Assert.Empty(await accounts.ListAuditAsync(ownerId, 100, default));
        Assert.Null(await accounts.FindRefreshFamilyAsync(refreshToken[4..refreshToken.IndexOf('.', StringComparison.Ordinal)], default));
        await foreach (var _ in store.Codes.ListByOwnerAsync(ownerId, default))
        {
            Assert.Fail("a code is left");
        }
        await foreach (var _ in store.Calls.ListByOwnerAsync(ownerId, 100, null, default))
        {
            Assert.Fail("a call is left");
        }
        await foreach (var _ in store.PushSubscriptions.ListByOwnerAsync(ownerId, default))
        {
            Assert.Fail("a push subscription is left");
        }
        Assert.Null(await store.Calls.GetAsync(callId, default));
        Assert.Equal(0, await store.Mailbox.GetLastSeqAsync(callId, default));
        Assert.Null(await store.Messages.GetKeyAsync(ownerId, default));
        Assert.Empty(await store.Messages.ListByOwnerAsync(ownerId, DateTimeOffset.UtcNow, 100, default));
        if (storage != "memory")
        {
            Assert.Empty(await LeftoversAsync(storage, traces));
        }
        using var scan = await anonymous.PostAsJsonAsync("/api/v1/scan", new { payload });
        Assert.Equal("unavailable", (await scan.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }

    /// <summary>Every row (PostgreSQL: QrCalling's schema and the sample's) or key (Redis: its name and its content) that
    /// holds one of <paramref name="traces"/>.</summary>
    private static async Task<List<string>> LeftoversAsync(string storage, string[] traces)
    {
        var found = new List<string>();
        if (storage == "postgres")
        {
            await using var source = NpgsqlDataSource.Create(TestServers.Postgres);
            var tables = new List<string>();
            await using (var list = source.CreateCommand(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema IN ('qrcalling', 'qrcalling_sample') AND table_type = 'BASE TABLE'"))
            await using (var reader = await list.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    tables.Add(reader.GetString(0));
                }
            }
            Assert.Contains("qrcalling.calls", tables);
            foreach (var table in tables)
            {
                foreach (var trace in traces)
                {
                    await using var count = source.CreateCommand($"SELECT count(*) FROM {table} t WHERE lower(t::text) LIKE '%' || lower($1) || '%'");
                    count.Parameters.Add(new() { Value = trace });
                    if ((long)(await count.ExecuteScalarAsync())! > 0)
                    {
                        found.Add($"{table}: {trace}");
                    }
                }
            }
        }
        else
        {
            await using var redis = await ConnectionMultiplexer.ConnectAsync(TestServers.Redis);
            var db = redis.GetDatabase();
            await foreach (var key in redis.GetServers()[0].KeysAsync(pattern: "*"))
            {
                var content = (await db.KeyTypeAsync(key)) switch
                {
                    RedisType.String => (string?)await db.StringGetAsync(key) ?? "",
                    RedisType.Hash => string.Join(' ', (await db.HashGetAllAsync(key)).Select(e => $"{e.Name} {e.Value}")),
                    RedisType.SortedSet => string.Join(' ', await db.SortedSetRangeByRankAsync(key)),
                    RedisType.Set => string.Join(' ', await db.SetMembersAsync(key)),
                    RedisType.List => string.Join(' ', await db.ListRangeAsync(key)),
                    _ => "",
                };
                var text = ((string)key! + " " + content).ToLowerInvariant();
                found.AddRange(traces.Where(t => text.Contains(t.ToLowerInvariant(), StringComparison.Ordinal)).Select(t => $"{key}: {t}"));
            }
        }
        return found;
    }

    private static string P256PublicKey()
    {
        using var ec = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var p = ec.ExportParameters(false).Q;
        return Convert.ToBase64String([0x04, .. p.X!, .. p.Y!]).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
