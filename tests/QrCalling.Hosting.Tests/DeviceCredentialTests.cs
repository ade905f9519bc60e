using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Owner device ids bound to a server-issued credential: another session of the same account cannot act as a
/// device it was not given (issue 10, finding 8).</summary>
public sealed class DeviceCredentialTests
{
    private static async Task<(string Id, string Credential)> RegisterAsync(HttpClient owner)
    {
        var response = await owner.PostAsync("/api/v1/devices", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.ReadJsonAsync();
        return (body.GetProperty("deviceId").GetString()!, body.GetProperty("deviceCredential").GetString()!);
    }

    [Fact]
    public async Task BoundDevice_OnlyItsCredentialAdmitsIt_AnotherSessionCannotReadTheCallItAccepted()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var (deviceId, credential) = await RegisterAsync(alice);
        Assert.StartsWith("qd_", deviceId);
        var (otherId, _) = await RegisterAsync(alice);
        Assert.NotEqual(deviceId, otherId);
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;

        var phone = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: deviceId, deviceCredential: credential);
        var started = await host.Client().StartCallAsync(payload);
        var callId = started.GetProperty("callId").GetString()!;
        await phone.WaitForAsync("IncomingCall");
        await phone.Connection.InvokeAsync("Accept", callId);
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: started.GetProperty("callToken").GetString()!);
        await caller.Connection.InvokeAsync<long>("Signal", callId, "answer", JsonSerializer.SerializeToElement(new { sdp = "x" }));

        // Another session of alice claims the accepting device's id: without, or with a wrong or another owner's
        // credential, it is refused; as any other device it is not a participant of the call.
        foreach (var wrong in new string?[] { null, "", credential[..^2] + "AA", (await RegisterAsync(host.Client(owner: "bob"))).Credential })
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: deviceId, deviceCredential: wrong));
            Assert.Contains("HubException: unauthorized: ", refused.Message);
        }
        var bobWithAliceCredential = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob", deviceId: deviceId, deviceCredential: credential));
        Assert.Contains("HubException: unauthorized: ", bobWithAliceCredential.Message);
        var intruder = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "other-tab");
        var resume = await Assert.ThrowsAsync<HubException>(() => intruder.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L));
        Assert.Equal("not_participant", HubErrors.CodeOf(resume.Message));

        // REST: the credential goes in a header.
        await (await alice.GetAsync($"/api/v1/calls/{callId}/events?deviceId={deviceId}")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/calls/{callId}/events?deviceId={deviceId}");
        request.Headers.Add("X-QrCalling-Device-Credential", credential);
        var events = await alice.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, events.StatusCode);
        Assert.Contains((await events.ReadJsonAsync()).EnumerateArray(), e => e.GetProperty("type").GetString() == "answer");

        // The device itself reconnects with its credential and resumes the call.
        await phone.Connection.StopAsync();
        var back = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: deviceId, deviceCredential: credential);
        var missed = await back.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L);
        Assert.Contains(missed.EnumerateArray(), e => e.GetProperty("type").GetString() == "answer");
    }

    [Fact]
    public async Task RegisterDevice_WithoutOwner_Is401_AndV1IdsWithoutThePrefixStillWork()
    {
        await using var host = await TestHost.StartAsync();

        await (await host.Client().PostAsync("/api/v1/devices", null)).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        var legacy = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "my-phone");
        Assert.Equal(HubConnectionState.Connected, legacy.Connection.State);
    }
}
