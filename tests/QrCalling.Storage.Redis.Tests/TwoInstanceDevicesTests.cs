using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Storage.Redis.Tests;

/// <summary>Issue 14: a device paired by QR on one instance rings on another, and revoking it on the first closes its
/// connection on the second at once (DeviceRevoked, then closed, through the backplane's channel) and its connection on
/// the first too, each told once, and a reconnect with the revoked token is refused.</summary>
public sealed class TwoInstanceDevicesTests
{
    [Fact]
    public async Task Devices_RevokedOnOneInstance_ConnectionOnTheOtherIsToldAndClosedAtOnce()
    {
        var keyPrefix = RedisTestStorage.NewPrefix();
        var channel = "qrtest-" + Guid.NewGuid().ToString("N");
        await using var a = await RedisHost.StartAsync(TestServers.Redis, keyPrefix, channel);
        await using var b = await RedisHost.StartAsync(TestServers.Redis, keyPrefix, channel);
        var owner = "alice-" + Guid.NewGuid().ToString("N");
        var pairing = await (await a.Client(owner).PostAsync("/api/v1/devices/pairing", null)).ReadJsonAsync(HttpStatusCode.Created);
        var paired = await b.Client().PostJsonAsync("/api/v1/devices/pair",
            new { pairingPayload = pairing.GetProperty("pairingPayload").GetString(), name = "Tablet" }, HttpStatusCode.Created);
        var deviceId = paired.GetProperty("deviceId").GetString()!;
        await a.Client(owner).PostJsonAsync($"/api/v1/devices/{deviceId}/confirm", new { checkCode = paired.GetProperty("checkCode").GetString() },
            HttpStatusCode.OK);
        var tablet = await b.ConnectAsync(callToken: paired.GetProperty("deviceToken").GetString());
        // The same device also has a connection on A, the instance that revokes it.
        var tabletOnA = await a.ConnectAsync(callToken: paired.GetProperty("deviceToken").GetString());

        // It rings for a call started on A.
        var code = await a.Client(owner).PostJsonAsync("/api/v1/codes", new { label = "Gate" }, HttpStatusCode.Created);
        var started = await a.Client().PostJsonAsync("/api/v1/calls", new { payload = code.GetProperty("payload").GetString(), media = "audio" },
            HttpStatusCode.Created);
        await tablet.WaitForAsync("IncomingCall", e => e.GetProperty("callId").GetString() == started.GetProperty("callId").GetString());

        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tablet.Connection.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };
        var closedOnA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tabletOnA.Connection.Closed += _ => { closedOnA.TrySetResult(); return Task.CompletedTask; };
        Assert.Equal(HttpStatusCode.NoContent, (await a.Client(owner).DeleteAsync($"/api/v1/devices/{deviceId}")).StatusCode);

        var revoked = await tablet.WaitForAsync("DeviceRevoked");
        Assert.Equal(deviceId, revoked.GetProperty("deviceId").GetString());
        // B closes the connection at once, through the backplane's channel, although the device invokes nothing.
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HubConnectionState.Disconnected, tablet.Connection.State);
        // A closes its own at once too, and tells it once: it skips its own message on the backplane's channel.
        await closedOnA.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Single(tablet.Of("DeviceRevoked"));
        Assert.Single(tabletOnA.Of("DeviceRevoked"));
        var again = await Assert.ThrowsAnyAsync<Exception>(() => b.ConnectAsync(callToken: paired.GetProperty("deviceToken").GetString()));
        Assert.Contains("unauthorized", again.Message, StringComparison.Ordinal);
    }
}
