using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Hosting.Hubs;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Caps on open hub connections per call token, per owner and per client.</summary>
public sealed class ConnectionCapTests
{
    private static async Task WaitForCountAsync(TestHost host, string key, int expected)
    {
        var caps = host.App.Services.GetRequiredService<ConnectionCaps>();
        for (var i = 0; i < 500 && caps.CountOf(key) != expected; i++)
        {
            await Task.Delay(10);
        }
        Assert.Equal(expected, caps.CountOf(key));
    }

    [Fact]
    public async Task CallToken_PastItsCap_IsRefusedUntilAConnectionCloses()
    {
        await using var host = await TestHost.StartAsync(hosting: o => o.RateLimits.HubConnectionsPerCall = 2);
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var started = await host.Client().StartCallAsync(payload);
        var token = started.GetProperty("callToken").GetString()!;
        var callId = started.GetProperty("callId").GetString()!;

        var first = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        var third = await Assert.ThrowsAsync<InvalidOperationException>(() => host.ConnectAsync(HttpTransportType.WebSockets, callToken: token));
        Assert.Contains("HubException: rate_limited: Too many open connections", third.Message);

        await first.Connection.DisposeAsync();
        await WaitForCountAsync(host, "call:" + callId, 1);
        await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        await WaitForCountAsync(host, "call:" + callId, 2);
    }

    [Fact]
    public async Task Owner_PastItsCap_IsRefused_OtherOwnersAreNot()
    {
        await using var host = await TestHost.StartAsync(hosting: o => o.RateLimits.HubConnectionsPerOwner = 3);
        for (var i = 0; i < 3; i++)
        {
            await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: $"d{i}");
        }

        var fourth = await Assert.ThrowsAsync<InvalidOperationException>(() => host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "d3"));
        Assert.Contains("HubException: rate_limited: ", fourth.Message);
        await host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob", deviceId: "d0");
    }

    [Fact]
    public async Task Client_PastItsCap_IsRefusedWhateverTheIdentity()
    {
        await using var host = await TestHost.StartAsync(hosting: o => o.RateLimits.HubConnectionsPerClient = 3);
        for (var i = 0; i < 3; i++)
        {
            await host.ConnectAsync(HttpTransportType.WebSockets, owner: $"owner-{i}");
        }

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => host.ConnectAsync(HttpTransportType.LongPolling, owner: "owner-9"));
        Assert.Contains("HubException: rate_limited: ", refused.Message);
    }
}
