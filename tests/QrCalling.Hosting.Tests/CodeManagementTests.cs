using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using QrCalling.Codes;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Issue 11: editing and deleting codes (PATCH/DELETE /codes/{id}) and the owner's media setting honoured inside
/// a call (no chat in the call of a code that does not allow chat).</summary>
public sealed class CodeManagementTests
{
    private static async Task<JsonElement> ListedAsync(HttpClient owner, string codeId)
    {
        var list = await (await owner.GetAsync("/api/v1/codes")).ReadJsonAsync();
        return list.EnumerateArray().Single(c => c.GetProperty("id").GetString() == codeId);
    }

    private static HttpRequestMessage Patch(string codeId, object body) =>
        new(HttpMethod.Patch, $"/api/v1/codes/{codeId}") { Content = Http.Json(body) };

    [Fact]
    public async Task PatchCodes_LabelAndMedia_ChangesThemAndScanShowsTheNewOnes()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync(new { label = "Front door", media = new[] { "audio", "video", "chat" } });
        var codeId = code.GetProperty("id").GetString()!;
        var payload = code.GetProperty("payload").GetString()!;

        var response = await alice.SendAsync(Patch(codeId, new { label = "  Blue van, rear  ", media = new[] { "chat", "audio" } }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.Equal(codeId, body.GetProperty("id").GetString());
        Assert.Equal("Blue van, rear", body.GetProperty("label").GetString());
        Assert.Equal(["audio", "chat"], body.GetProperty("media").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(0, body.GetProperty("scanCount").GetInt32());
        Assert.Equal("Blue van, rear", (await ListedAsync(alice, codeId)).GetProperty("label").GetString());
        var scan = await (await host.Client().PostAsync("/api/v1/scan", Http.Json(new { payload }))).ReadJsonAsync();
        Assert.Equal("Blue van, rear", scan.GetProperty("label").GetString());
        Assert.Equal(["audio", "chat"], scan.GetProperty("media").EnumerateArray().Select(m => m.GetString()));
        // Video is no longer allowed: a video call is refused without spending anything.
        await (await host.Client().PostAsync("/api/v1/calls", Http.Json(new { payload, media = "video" })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task PatchCodes_LabelOnly_KeepsMedia()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var codeId = (await alice.IssueCodeAsync(new { label = "Gate", media = new[] { "audio" } })).GetProperty("id").GetString()!;

        var body = await (await alice.SendAsync(Patch(codeId, new { label = "Side gate" }))).ReadJsonAsync();

        Assert.Equal("Side gate", body.GetProperty("label").GetString());
        Assert.Equal(["audio"], body.GetProperty("media").EnumerateArray().Select(m => m.GetString()));
    }

    [Fact]
    public async Task PatchCodes_InvalidInput_IsRefusedLikeCreateAndChangesNothing()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var codeId = (await alice.IssueCodeAsync(new { label = "Gate" })).GetProperty("id").GetString()!;

        await (await alice.SendAsync(Patch(codeId, new { label = new string('x', 81) }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.SendAsync(Patch(codeId, new { label = "a\u0007b" }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.SendAsync(Patch(codeId, new { media = Array.Empty<string>() }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.SendAsync(Patch(codeId, new { media = new[] { "fax" } }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/codes/{codeId}") { Content = new StringContent("label=x") }))
            .AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");

        var listed = await ListedAsync(alice, codeId);
        Assert.Equal("Gate", listed.GetProperty("label").GetString());
        Assert.Equal(3, listed.GetProperty("media").GetArrayLength());
        // Exactly the limit is fine: nothing is cut.
        var full = await (await alice.SendAsync(Patch(codeId, new { label = new string('y', 80) }))).ReadJsonAsync();
        Assert.Equal(new string('y', 80), full.GetProperty("label").GetString());
    }

    [Fact]
    public async Task PatchAndDeleteCodes_OtherOwnersUnknownOrMalformedIdOrNoAuth_AreRefused()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var mallory = host.Client(owner: "mallory");
        var codeId = (await alice.IssueCodeAsync(new { label = "Gate" })).GetProperty("id").GetString()!;

        await (await mallory.SendAsync(Patch(codeId, new { label = "Mine now" }))).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await mallory.DeleteAsync($"/api/v1/codes/{codeId}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await alice.SendAsync(Patch("c_unknown", new { label = "x" }))).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await alice.DeleteAsync("/api/v1/codes/c_unknown")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await alice.DeleteAsync("/api/v1/codes/" + Uri.EscapeDataString("c_<bad>"))).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await host.Client().SendAsync(Patch(codeId, new { label = "x" }))).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await host.Client().DeleteAsync($"/api/v1/codes/{codeId}")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");

        Assert.Equal("Gate", (await ListedAsync(alice, codeId)).GetProperty("label").GetString());
    }

    [Fact]
    public async Task DeleteCodes_ThenScanAndCall_AnswerByteIdenticallyToAnUnknownCode()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync(new { label = "Gate" });
        var codeId = code.GetProperty("id").GetString()!;
        var payload = code.GetProperty("payload").GetString()!;
        var unknown = CodePayload.Format(CodeToken.New());

        var deleted = await alice.DeleteAsync($"/api/v1/codes/{codeId}");
        var again = await alice.DeleteAsync($"/api/v1/codes/{codeId}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await again.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        var list = await (await alice.GetAsync("/api/v1/codes")).ReadJsonAsync();
        Assert.DoesNotContain(list.EnumerateArray(), c => c.GetProperty("id").GetString() == codeId);
        await (await alice.PostAsync($"/api/v1/codes/{codeId}/revoke", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        foreach (var (route, body) in new (string, Func<string, object>)[]
                 {
                     ("/api/v1/scan", p => new { payload = p }),
                     ("/api/v1/calls", p => new { payload = p, media = "audio" }),
                 })
        {
            var ofDeleted = await host.Client().PostAsync(route, Http.Json(body(payload)));
            var ofUnknown = await host.Client().PostAsync(route, Http.Json(body(unknown)));
            Assert.Equal(HttpStatusCode.NotFound, ofDeleted.StatusCode);
            Assert.Equal(await RestTests.Describe(ofUnknown), await RestTests.Describe(ofDeleted));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DeleteCodes_RingingOrActiveCall_EndsWithRevoked(bool answered)
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync(new { label = "Gate" });
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "device-one");
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: started.GetProperty("callToken").GetString());
        await device.WaitForAsync("IncomingCall");
        if (answered)
        {
            await device.Connection.InvokeAsync("Accept", callId);
            await caller.WaitForAsync("CallAccepted");
        }

        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync($"/api/v1/codes/{code.GetProperty("id").GetString()}")).StatusCode);

        Assert.Equal("revoked", (await caller.WaitForAsync("CallEnded")).GetProperty("reason").GetString());
        Assert.Equal("revoked", (await device.WaitForAsync("CallEnded")).GetProperty("reason").GetString());
        var history = await (await alice.GetAsync("/api/v1/calls")).ReadJsonAsync();
        Assert.Equal("revoked", history.EnumerateArray().Single(c => c.GetProperty("callId").GetString() == callId).GetProperty("endReason").GetString());
    }

    [Fact]
    public async Task Chat_InCallOfVoiceOnlyCode_IsRefusedWithMediaNotAllowedOnHubAndRest()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync(new { label = "Bell", media = new[] { "audio" } });
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "device-one");
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var callToken = started.GetProperty("callToken").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: callToken);
        var rest = host.Client(bearer: callToken);
        // The ring tells the owner's app what the code allows, so it can leave chat out.
        var incoming = await device.WaitForAsync("IncomingCall");
        Assert.Equal(["audio"], incoming.GetProperty("codeMedia").EnumerateArray().Select(m => m.GetString()));

        // While ringing: the caller's early chat is refused, its early offer is not.
        var early = await Assert.ThrowsAsync<HubException>(() => caller.Connection.InvokeAsync<long>("Chat", callId, "Y2lwaGVy"));
        Assert.Equal("media_not_allowed", HubErrors.CodeOf(early.Message));
        var offer = JsonSerializer.SerializeToElement(new { type = "offer", sdp = "v=0" });
        Assert.Equal(1, await caller.Connection.InvokeAsync<long>("Signal", callId, "offer", offer));

        await device.Connection.InvokeAsync("Accept", callId);
        await caller.WaitForAsync("CallAccepted");

        var fromOwner = await Assert.ThrowsAsync<HubException>(() => device.Connection.InvokeAsync<long>("Chat", callId, "Y2lwaGVy"));
        Assert.Equal("media_not_allowed", HubErrors.CodeOf(fromOwner.Message));
        var typing = await Assert.ThrowsAsync<HubException>(() => caller.Connection.InvokeAsync("Typing", callId, true));
        Assert.Equal("media_not_allowed", HubErrors.CodeOf(typing.Message));
        await (await rest.PostAsync($"/api/v1/calls/{callId}/events", Http.Json(new { type = "chat", data = "Y2lwaGVy" })))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "media_not_allowed");
        // Signals still flow; nothing of the refused chats was stored.
        var answer = JsonSerializer.SerializeToElement(new { type = "answer", sdp = "v=0" });
        var answerSeq = await device.Connection.InvokeAsync<long>("Signal", callId, "answer", answer);
        var mailbox = await (await rest.GetAsync($"/api/v1/calls/{callId}/events?after=0")).ReadJsonAsync();
        Assert.DoesNotContain(mailbox.EnumerateArray(), e => e.GetProperty("type").GetString() == "chat");
        Assert.Contains(mailbox.EnumerateArray(), e => e.GetProperty("seq").GetInt64() == answerSeq);
        Assert.Empty(device.Of("Chat"));
        Assert.Empty(caller.Of("Chat"));
    }

    [Fact]
    public async Task Chat_InVoiceCallOfCodeThatAllowsChat_IsRelayed()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync(new { label = "Bell", media = new[] { "audio", "chat" } });
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "device-one");
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var callToken = started.GetProperty("callToken").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: callToken);
        await device.WaitForAsync("IncomingCall");
        await device.Connection.InvokeAsync("Accept", callId);

        var seq = await caller.Connection.InvokeAsync<long>("Chat", callId, "Y2lwaGVy");
        var restSeq = await (await host.Client(bearer: callToken).PostAsync($"/api/v1/calls/{callId}/events", Http.Json(new { type = "chat", data = "bW9yZQ==" })))
            .ReadJsonAsync();

        Assert.Equal(seq, (await device.WaitForAsync("Chat", e => e.GetProperty("seq").GetInt64() == seq)).GetProperty("seq").GetInt64());
        Assert.True(restSeq.GetProperty("seq").GetInt64() > seq);
    }

    [Fact]
    public async Task Chat_CallStartedBeforeChatWasTurnedOff_KeepsTheMediaItStartedWith()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync(new { label = "Bell", media = new[] { "audio", "chat" } });
        var codeId = code.GetProperty("id").GetString()!;
        var payload = code.GetProperty("payload").GetString()!;
        var before = await host.Client().StartCallAsync(payload, "chat");

        await alice.SendAsync(Patch(codeId, new { media = new[] { "audio" } }));
        var after = await host.Client().StartCallAsync(payload, "audio");

        var beforeCaller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: before.GetProperty("callToken").GetString());
        var afterCaller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: after.GetProperty("callToken").GetString());
        Assert.Equal(1, await beforeCaller.Connection.InvokeAsync<long>("Chat", before.GetProperty("callId").GetString(), "Y2lwaGVy"));
        var refused = await Assert.ThrowsAsync<HubException>(() => afterCaller.Connection.InvokeAsync<long>("Chat", after.GetProperty("callId").GetString(), "Y2lwaGVy"));
        Assert.Equal("media_not_allowed", HubErrors.CodeOf(refused.Message));
    }
}
