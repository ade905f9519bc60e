using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Calls;
using QrCalling.Hosting.Hubs;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Presence across reconnects: a participant is gone only when its last connection is.</summary>
public sealed class PresenceTests
{
    private static readonly TimeSpan PastGrace = new QrCallingOptions().ReconnectGrace + TimeSpan.FromSeconds(1);

    private sealed record ActiveCall(TestHost Host, FakeTimeProvider Time, HubEventRecorder Device, HubEventRecorder Caller,
        string CallId, string CallToken, string CallerId);

    /// <summary>An active call: device "phone" of alice accepted, the caller connected over WebSockets.</summary>
    private static async Task<ActiveCall> StartActiveCallAsync()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var host = await TestHost.StartAsync(time: time);
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var token = started.GetProperty("callToken").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        await device.WaitForAsync("IncomingCall");
        await device.Connection.InvokeAsync("Accept", callId);
        await caller.WaitForAsync("CallAccepted");
        return new ActiveCall(host, time, device, caller, callId, token, started.GetProperty("callerId").GetString()!);
    }

    private static async Task<string> StateOfAsync(ActiveCall call) =>
        (await (await call.Host.Client(bearer: call.CallToken).GetAsync($"/api/v1/calls/{call.CallId}")).ReadJsonAsync())
            .GetProperty("state").GetString()!;

    /// <summary>Waits (bounded) until the connections counted on the server for a participant key reach
    /// <paramref name="count"/> and the presence change that brought it there has finished.</summary>
    private static async Task WaitForConnectionsAsync(TestHost host, string key, int count)
    {
        var presence = host.App.Services.GetRequiredService<PresenceCounter>();
        var deadline = Environment.TickCount64 + 10_000;
        while (presence.CountOf(key) != count && Environment.TickCount64 < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Equal(count, presence.CountOf(key));
        await presence.RefreshAsync(key, () => ValueTask.CompletedTask); // queues behind any change still running
    }

    [Fact]
    public async Task CallerReconnect_OldConnectionEndsAfterNewOne_NoPeerLeftAndCallSurvivesSweep()
    {
        var call = await StartActiveCallAsync();
        await using var host = call.Host;
        var calls = host.App.Services.GetRequiredService<CallService>();

        // The caller's client reconnected (a second connection with the same call token) before the server noticed
        // that the first one died.
        var second = await host.ConnectAsync(HttpTransportType.LongPolling, callToken: call.CallToken);
        var key = PresenceCounter.CallerKey(call.CallId);
        await WaitForConnectionsAsync(host, key, 2);
        await call.Caller.Connection.StopAsync();
        await WaitForConnectionsAsync(host, key, 1);

        // A round trip on the device's connection: any PeerLeft sent before it would have arrived by now.
        await call.Device.Connection.InvokeAsync<JsonElement>("Resume", call.CallId, 0L);
        Assert.Empty(call.Device.Of("PeerLeft"));
        call.Time.Advance(PastGrace);
        await calls.SweepAsync(CancellationToken.None);
        Assert.Equal("active", await StateOfAsync(call));
        Assert.Empty(call.Device.Of("CallEnded"));

        // The last connection goes: now the caller is gone, and the sweep drops the call after the grace.
        await second.Connection.StopAsync();
        var left = await call.Device.WaitForAsync("PeerLeft");
        Assert.Equal(call.CallerId, left.GetProperty("who").GetString());
        call.Time.Advance(PastGrace);
        await calls.SweepAsync(CancellationToken.None);
        Assert.Equal("dropped", (await call.Device.WaitForAsync("CallEnded")).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task CallerResume_AfterStaleGoneMark_ClearsItWithPeerJoinedAndCallSurvivesSweep()
    {
        var call = await StartActiveCallAsync();
        await using var host = call.Host;
        var calls = host.App.Services.GetRequiredService<CallService>();

        // Another instance noticed the end of an old connection of the caller late, after the caller had reconnected.
        await calls.DisconnectedAsync(CallActor.Caller(call.CallId), call.CallId, CancellationToken.None);
        await call.Device.WaitForAsync("PeerLeft");

        // The reconnected client resumes: it is here, so the mark goes.
        await call.Caller.Connection.InvokeAsync<JsonElement>("Resume", call.CallId, 0L);
        var joined = await call.Device.WaitForAsync("PeerJoined");
        Assert.Equal(call.CallerId, joined.GetProperty("who").GetString());
        call.Time.Advance(PastGrace);
        await calls.SweepAsync(CancellationToken.None);
        Assert.Equal("active", await StateOfAsync(call));
    }

    [Fact]
    public async Task DeviceReconnect_OldConnectionEndsAfterResumeOnNewOne_CallerSeesNoPeerLeft()
    {
        var call = await StartActiveCallAsync();
        await using var host = call.Host;
        var calls = host.App.Services.GetRequiredService<CallService>();

        // The same device (same deviceId) reconnects and resumes the call; only then does its old connection end.
        var again = await host.ConnectAsync(HttpTransportType.LongPolling, owner: "alice", deviceId: "phone");
        await again.Connection.InvokeAsync<JsonElement>("Resume", call.CallId, 0L);
        await call.Device.Connection.StopAsync();
        await WaitForConnectionsAsync(host, PresenceCounter.DeviceKey("alice", "phone", call.CallId), 1);

        await call.Caller.Connection.InvokeAsync<JsonElement>("Resume", call.CallId, 0L);
        Assert.Empty(call.Caller.Of("PeerLeft"));
        call.Time.Advance(PastGrace);
        await calls.SweepAsync(CancellationToken.None);
        Assert.Equal("active", await StateOfAsync(call));
    }
}
