using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Storage;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Presence in the scan preview and leave-a-message end to end, over the real REST API and hub: the caller of an
/// unanswered call seals one message to the owner's key; the server keeps ciphertext only; the owner lists, opens and
/// deletes it.</summary>
public sealed class MessageTests
{
    private const string Text = "Your headlights are on — parked at the blue gate, 4th floor.";

    private sealed record Setup(TestHost Host, HttpClient Owner, string Payload, ECDiffieHellman OwnerKey, string PublicKey) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            OwnerKey.Dispose();
            await Host.DisposeAsync();
        }
    }

    private static async Task<Setup> SetUpAsync(Action<QrCallingOptions>? core = null, TimeProvider? time = null, bool registerKey = true,
        Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null)
    {
        var host = await TestHost.StartAsync(core: core, time: time, configure: configure);
        var owner = host.Client(owner: "alice");
        var payload = (await owner.IssueCodeAsync(new { label = "Blue van" })).GetProperty("payload").GetString()!;
        var (key, publicKey) = MessageCrypto.CreateOwnerKey();
        if (registerKey)
        {
            var put = await owner.PutAsync("/api/v1/message-key", Http.Json(new { publicKey }));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }
        return new Setup(host, owner, payload, key, publicKey);
    }

    /// <summary>A call that ended unanswered: the caller hung up while it rang (canceled).</summary>
    private static async Task<(string CallId, string Token)> UnansweredCallAsync(Setup s)
    {
        var started = await s.Host.Client().StartCallAsync(s.Payload, "chat");
        var callId = started.GetProperty("callId").GetString()!;
        var token = started.GetProperty("callToken").GetString()!;
        var caller = await s.Host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        await caller.Connection.InvokeAsync("Hangup", callId);
        return (callId, token);
    }

    private static async Task<HttpResponseMessage> LeaveAsync(Setup s, string callId, string token, string text = Text)
    {
        var caller = s.Host.Client(bearer: token);
        var keyResponse = await caller.GetAsync($"/api/v1/calls/{callId}/message-key");
        Assert.Equal(HttpStatusCode.OK, keyResponse.StatusCode);
        var key = await keyResponse.ReadJsonAsync();
        var (epk, iv, ciphertext) = MessageCrypto.Seal(key.GetProperty("publicKey").GetString()!, callId, text);
        return await caller.PostAsync($"/api/v1/calls/{callId}/message",
            Http.Json(new { ephemeralPublicKey = epk, iv, ciphertext, keyId = key.GetProperty("keyId").GetString() }));
    }

    private static async Task<bool?> ReachableAsync(TestHost host, string payload)
    {
        var response = await host.Client().PostAsync("/api/v1/scan", Http.Json(new { payload }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJsonAsync();
        return body.TryGetProperty("reachable", out var reachable) ? reachable.GetBoolean() : null;
    }

    [Fact]
    public async Task Scan_OwnerDeviceConnectsThenDisconnects_ReachableFollowsTheHubConnection()
    {
        await using var s = await SetUpAsync();
        Assert.False(await ReachableAsync(s.Host, s.Payload));

        var device = await s.Host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        Assert.True(await ReachableAsync(s.Host, s.Payload));
        // Another owner's connection says nothing about alice.
        var other = await s.Host.Client(owner: "bob").IssueCodeAsync();
        Assert.False(await ReachableAsync(s.Host, other.GetProperty("payload").GetString()!));

        await device.Connection.StopAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        bool? reachable;
        while ((reachable = await ReachableAsync(s.Host, s.Payload)) == true && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.False(reachable);
    }

    [Fact]
    public async Task Scan_ShowReachabilityOff_LeavesTheFieldOut()
    {
        await using var s = await SetUpAsync(core: o => o.ShowReachability = false);
        await s.Host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");

        var response = await s.Host.Client().PostAsync("/api/v1/scan", Http.Json(new { payload = s.Payload }));
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(body.TryGetProperty("reachable", out _));
        Assert.Equal("Blue van", body.GetProperty("label").GetString());
    }

    [Fact]
    public async Task Message_LeftAfterUnansweredCall_OwnerListsOpensAndDeletesIt_ServerHoldsCiphertextOnly()
    {
        await using var s = await SetUpAsync(configure: b =>
        {
            b.Logging.SetMinimumLevel(LogLevel.Trace);
            b.Logging.AddFilter("Microsoft", LogLevel.Trace);
        });
        var (callId, token) = await UnansweredCallAsync(s);

        var left = await LeaveAsync(s, callId, token);
        Assert.Equal(HttpStatusCode.Created, left.StatusCode);

        var list = await (await s.Owner.GetAsync("/api/v1/messages")).ReadJsonAsync();
        var item = Assert.Single(list.EnumerateArray());
        Assert.Equal("Blue van", item.GetProperty("label").GetString());
        Assert.Equal(callId, item.GetProperty("callId").GetString());
        var itemJson = item.GetRawText();
        Assert.DoesNotContain(token, itemJson);
        Assert.DoesNotContain("caller", itemJson, StringComparison.OrdinalIgnoreCase);
        var opened = MessageCrypto.Open(s.OwnerKey, callId, item.GetProperty("ephemeralPublicKey").GetString()!,
            item.GetProperty("iv").GetString()!, item.GetProperty("ciphertext").GetString()!);
        Assert.Equal(Text, opened);

        // What the store holds: no plaintext in any encoding a careless server might use, and no token.
        var stored = Assert.Single(await s.Host.App.Services.GetRequiredService<IStorage>().Messages
            .ListByOwnerAsync("alice", DateTimeOffset.MinValue, 10, CancellationToken.None));
        Assert.Equal(callId, stored.CallId);
        var storedText = JsonSerializer.Serialize(stored);
        foreach (var form in PlaintextForms(Text).Append(token))
        {
            Assert.DoesNotContain(form, storedText);
        }
        // ... nor the logs, at Trace.
        foreach (var form in PlaintextForms(Text).Append(token).Append(item.GetProperty("ciphertext").GetString()!))
        {
            Assert.DoesNotContain(form, s.Host.Logs.AllText);
        }

        var id = item.GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.NoContent, (await s.Owner.DeleteAsync($"/api/v1/messages/{id}")).StatusCode);
        Assert.Empty((await (await s.Owner.GetAsync("/api/v1/messages")).ReadJsonAsync()).EnumerateArray());
        await (await s.Owner.DeleteAsync($"/api/v1/messages/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    private static IEnumerable<string> PlaintextForms(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        yield return text;
        yield return text[..12];
        yield return Convert.ToBase64String(utf8)[..16];
        yield return System.Buffers.Text.Base64Url.EncodeToString(utf8)[..16];
        yield return Convert.ToHexString(utf8)[..24];
    }

    [Fact]
    public async Task Message_SecondPostForOneCall_Is409MessageExists()
    {
        await using var s = await SetUpAsync();
        var (callId, token) = await UnansweredCallAsync(s);

        Assert.Equal(HttpStatusCode.Created, (await LeaveAsync(s, callId, token)).StatusCode);
        await (await LeaveAsync(s, callId, token, "again")).AssertProblemAsync(HttpStatusCode.Conflict, "message_exists");
    }

    [Fact]
    public async Task Message_TwoConcurrentPostsForOneCall_ExactlyOneIsStored()
    {
        await using var s = await SetUpAsync();
        var (callId, token) = await UnansweredCallAsync(s);

        var responses = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => LeaveAsync(s, callId, token, $"race {i}")));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        await responses.Single(r => r.StatusCode != HttpStatusCode.Created).AssertProblemAsync(HttpStatusCode.Conflict, "message_exists");
        Assert.Single((await (await s.Owner.GetAsync("/api/v1/messages")).ReadJsonAsync()).EnumerateArray());
    }

    [Fact]
    public async Task Message_WrongCredentials_AreRefused()
    {
        await using var s = await SetUpAsync();
        var (callId, _) = await UnansweredCallAsync(s);
        var (otherCallId, otherToken) = await UnansweredCallAsync(s);
        var (epk, iv, ciphertext) = MessageCrypto.Seal(s.PublicKey, callId, Text);
        var body = new { ephemeralPublicKey = epk, iv, ciphertext };

        var unknownToken = "qct_" + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        await (await s.Host.Client(bearer: unknownToken).PostAsync($"/api/v1/calls/{callId}/message", Http.Json(body)))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await s.Host.Client().PostAsync($"/api/v1/calls/{callId}/message", Http.Json(body)))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        // Another call's token, and the owner itself, are not this call's caller.
        await (await s.Host.Client(bearer: otherToken).PostAsync($"/api/v1/calls/{callId}/message", Http.Json(body)))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
        await (await s.Host.Client(bearer: otherToken).GetAsync($"/api/v1/calls/{callId}/message-key"))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
        await (await s.Owner.PostAsync($"/api/v1/calls/{callId}/message", Http.Json(body)))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
        Assert.Empty((await (await s.Owner.GetAsync("/api/v1/messages")).ReadJsonAsync()).EnumerateArray());
        Assert.NotEqual(callId, otherCallId);
    }

    [Fact]
    public async Task Message_BadShapesAndSizes_AreRefusedWithStableCodes()
    {
        await using var s = await SetUpAsync(core: o => o.MaxMessageCiphertextBytes = 256);
        var (callId, token) = await UnansweredCallAsync(s);
        var caller = s.Host.Client(bearer: token);
        var (epk, iv, _) = MessageCrypto.Seal(s.PublicKey, callId, Text);
        string B64(int bytes) => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(bytes));

        await (await caller.PostAsync($"/api/v1/calls/{callId}/message", Http.Json(new { ephemeralPublicKey = epk, iv, ciphertext = B64(257) })))
            .AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "too_large");
        await (await caller.PostAsync($"/api/v1/calls/{callId}/message", Http.Json(new { ephemeralPublicKey = epk, iv, ciphertext = B64(100_000) })))
            .AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "too_large");
        await (await caller.PostAsync($"/api/v1/calls/{callId}/message", Http.Json(new { ephemeralPublicKey = B64(65), iv, ciphertext = B64(40) })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request"); // not a point on the curve
        await (await caller.PostAsync($"/api/v1/calls/{callId}/message", Http.Json(new { ephemeralPublicKey = epk, iv = B64(16), ciphertext = B64(40) })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await caller.PostAsync($"/api/v1/calls/{callId}/message", Http.Json(new { ephemeralPublicKey = epk, iv, ciphertext = "not base64url!" })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await caller.PostAsync($"/api/v1/calls/{callId}/message", Http.Json(new { ephemeralPublicKey = epk, iv, ciphertext = B64(40), keyId = "stale" })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await caller.PostAsync($"/api/v1/calls/{callId}/message", Http.Raw("[1,")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await s.Owner.PutAsync("/api/v1/message-key", Http.Json(new { publicKey = B64(65) })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Empty((await (await s.Owner.GetAsync("/api/v1/messages")).ReadJsonAsync()).EnumerateArray());
    }

    [Fact]
    public async Task Message_CallStillRingingOrAnswered_Is409InvalidState()
    {
        await using var s = await SetUpAsync();
        var ringing = await s.Host.Client().StartCallAsync(s.Payload, "chat");
        var ringingId = ringing.GetProperty("callId").GetString()!;
        await (await s.Host.Client(bearer: ringing.GetProperty("callToken").GetString()).GetAsync($"/api/v1/calls/{ringingId}/message-key"))
            .AssertProblemAsync(HttpStatusCode.Conflict, "invalid_state");

        var device = await s.Host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        await device.Connection.InvokeAsync("Accept", ringingId);
        await device.Connection.InvokeAsync("Hangup", ringingId);
        var (epk, iv, ciphertext) = MessageCrypto.Seal(s.PublicKey, ringingId, Text);
        await (await s.Host.Client(bearer: ringing.GetProperty("callToken").GetString()).PostAsync($"/api/v1/calls/{ringingId}/message",
                Http.Json(new { ephemeralPublicKey = epk, iv, ciphertext })))
            .AssertProblemAsync(HttpStatusCode.Conflict, "invalid_state");
    }

    [Fact]
    public async Task Message_AfterTheWindow_Is409MessageWindowClosed()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var s = await SetUpAsync(core: o => o.MessageWindow = TimeSpan.FromMinutes(10), time: time);
        var (callId, token) = await UnansweredCallAsync(s);
        var key = await (await s.Host.Client(bearer: token).GetAsync($"/api/v1/calls/{callId}/message-key")).ReadJsonAsync();
        var (epk, iv, ciphertext) = MessageCrypto.Seal(key.GetProperty("publicKey").GetString()!, callId, Text);

        time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        await (await s.Host.Client(bearer: token).PostAsync($"/api/v1/calls/{callId}/message", Http.Json(new { ephemeralPublicKey = epk, iv, ciphertext })))
            .AssertProblemAsync(HttpStatusCode.Conflict, "message_window_closed");
        await (await s.Host.Client(bearer: token).GetAsync($"/api/v1/calls/{callId}/message-key"))
            .AssertProblemAsync(HttpStatusCode.Conflict, "message_window_closed");
    }

    [Fact]
    public async Task Message_OwnerWithoutKey_Is404MessagesUnavailable()
    {
        await using var s = await SetUpAsync(registerKey: false);
        var (callId, token) = await UnansweredCallAsync(s);

        await (await s.Host.Client(bearer: token).GetAsync($"/api/v1/calls/{callId}/message-key"))
            .AssertProblemAsync(HttpStatusCode.NotFound, "messages_unavailable");
        await (await s.Owner.GetAsync("/api/v1/message-key")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Message_OwnerAtTheCap_Is429InboxFull()
    {
        await using var s = await SetUpAsync(core: o => o.MaxStoredMessagesPerOwner = 1);
        var (first, firstToken) = await UnansweredCallAsync(s);
        var (second, secondToken) = await UnansweredCallAsync(s);

        Assert.Equal(HttpStatusCode.Created, (await LeaveAsync(s, first, firstToken)).StatusCode);
        await (await LeaveAsync(s, second, secondToken)).AssertProblemAsync(HttpStatusCode.TooManyRequests, "inbox_full");
    }

    [Fact]
    public async Task Messages_AnotherOwner_CannotListOrDeleteThem_AndOwnerRoutesNeedAuthentication()
    {
        await using var s = await SetUpAsync();
        var (callId, token) = await UnansweredCallAsync(s);
        Assert.Equal(HttpStatusCode.Created, (await LeaveAsync(s, callId, token)).StatusCode);
        var id = (await (await s.Owner.GetAsync("/api/v1/messages")).ReadJsonAsync())[0].GetProperty("id").GetString()!;
        var bob = s.Host.Client(owner: "bob");

        Assert.Empty((await (await bob.GetAsync("/api/v1/messages")).ReadJsonAsync()).EnumerateArray());
        await (await bob.DeleteAsync($"/api/v1/messages/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await s.Host.Client().GetAsync("/api/v1/messages")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await s.Host.Client(bearer: token).GetAsync("/api/v1/messages")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await s.Host.Client().PutAsync("/api/v1/message-key", Http.Json(new { publicKey = s.PublicKey })))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Single((await (await s.Owner.GetAsync("/api/v1/messages")).ReadJsonAsync()).EnumerateArray());
    }
}
