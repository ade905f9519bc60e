using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Calls;
using QrCalling.Storage;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Guessed call tokens against a real host, with a storage decorator that counts token look-ups.</summary>
public sealed class TokenLookupCountingTests
{
    private static string RandomCallToken() => "qct_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static Task<TestHost> StartAsync(CountingStorage storage) =>
        TestHost.StartAsync(configure: b => b.Services.AddSingleton<IStorage>(storage));

    [Fact]
    public async Task FiveHundredRandomTokensFromOneClient_AboutTwentyLookupsTheRest429_RealCallerStillAdmitted()
    {
        var storage = new CountingStorage();
        await using var host = await StartAsync(storage);
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var realToken = started.GetProperty("callToken").GetString()!;

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 500; i++)
        {
            statuses.Add((await host.Client(bearer: RandomCallToken()).GetAsync($"/api/v1/calls/{callId}")).StatusCode);
        }

        Assert.InRange(storage.TokenLookups, 1, 20);
        Assert.Equal(storage.TokenLookups, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal(500 - storage.TokenLookups, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        // The real caller behind the same address keeps its own budget: its token was issued here.
        Assert.Equal(HttpStatusCode.OK, (await host.Client(bearer: realToken).GetAsync($"/api/v1/calls/{callId}")).StatusCode);
        await host.ConnectAsync(HttpTransportType.WebSockets, callToken: realToken);
    }

    [Fact]
    public async Task MalformedTokens_NeverReachStorage()
    {
        var storage = new CountingStorage();
        await using var host = await StartAsync(storage);

        foreach (var token in new[] { "qct_", "qct_short", "qct_" + new string('!', 43), RandomCallToken() + "x", "qct_" + new string('A', 44) })
        {
            var response = await host.Client(bearer: token).GetAsync("/api/v1/calls/call_x");
            Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.TooManyRequests, response.StatusCode.ToString());
        }

        Assert.Equal(0, storage.TokenLookups);
    }

    [Fact]
    public async Task HundredHubConnectsWithRandomTokens_AtMostTwentyLookups()
    {
        var storage = new CountingStorage();
        await using var host = await StartAsync(storage);

        var refusals = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                host.ConnectAsync(HttpTransportType.WebSockets, callToken: RandomCallToken(), skipNegotiation: true));
            refusals.Add(refused.Message.Contains("HubException: rate_limited: ", StringComparison.Ordinal) ? "rate_limited" : "other");
        }

        Assert.InRange(storage.TokenLookups, 1, 20);
        Assert.Equal(100 - storage.TokenLookups, refusals.Count(r => r == "rate_limited"));
    }
    [Fact]
    public async Task CallersTokenIssuedHere_HubAndRestWithoutLookups_CallErasedWithinTheMinute_HubRefusesRestNotParticipant()
    {
        var storage = new CountingStorage();
        await using var host = await StartAsync(storage);
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var token = started.GetProperty("callToken").GetString()!;

        await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        Assert.Equal(HttpStatusCode.OK, (await host.Client(bearer: token).GetAsync($"/api/v1/calls/{callId}")).StatusCode);
        Assert.Equal(0, storage.TokenLookups); // issued here a moment ago: no look-up of the token

        // The owner's data is erased (the call with it) after the start; the token is still remembered here.
        var erasedCall = await host.Client().StartCallAsync(payload, "audio");
        var erasedId = erasedCall.GetProperty("callId").GetString()!;
        var erasedToken = erasedCall.GetProperty("callToken").GetString()!;
        Assert.Equal(2, (await storage.EraseOwnerAsync("alice", default)).Calls);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            host.ConnectAsync(HttpTransportType.WebSockets, callToken: erasedToken, skipNegotiation: true));
        Assert.Contains("HubException: unauthorized: ", refused.Message, StringComparison.Ordinal);
        await (await host.Client(bearer: erasedToken).GetAsync($"/api/v1/calls/{erasedId}")).AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
        await (await host.Client(bearer: erasedToken).PostAsync($"/api/v1/calls/{erasedId}/hangup", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
    }
}

/// <summary>In-memory storage that counts call-token look-ups.</summary>
internal sealed class CountingStorage : IStorage
{
    private readonly InMemoryStorage _inner = new();
    private readonly CountingCallStore _calls;

    public CountingStorage() => _calls = new CountingCallStore(_inner.Calls);

    public int TokenLookups => _calls.TokenLookups;
    public ICodeStore Codes => _inner.Codes;
    public ICallStore Calls => _calls;
    public IMailboxStore Mailbox => _inner.Mailbox;
    public IPushSubscriptionStore PushSubscriptions => _inner.PushSubscriptions;
    public IMessageStore Messages => _inner.Messages;
    public ICallerControlStore CallerControls => _inner.CallerControls;
    public IDeviceStore Devices => _inner.Devices;
    public IDelegateStore Delegates => _inner.Delegates;
    public IBackupStore Backups => _inner.Backups;
    public IRoomStore Rooms => _inner.Rooms;
    public ValueTask PingAsync(CancellationToken cancellationToken) => _inner.PingAsync(cancellationToken);
    public ValueTask<OwnerDataErasure> EraseOwnerAsync(string ownerId, CancellationToken cancellationToken) => _inner.EraseOwnerAsync(ownerId, cancellationToken);
}
