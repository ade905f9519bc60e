using System.Net;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Single-use hub tickets instead of credentials in hub URLs, and connections closed when the credential they
/// came from expires (issue 10, finding 7).</summary>
public sealed class HubTicketTests
{
    private static async Task<string> TicketAsync(HttpClient client)
    {
        var response = await client.PostAsync("/api/v1/hub-tickets", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var ticket = (await response.ReadJsonAsync()).GetProperty("ticket").GetString()!;
        Assert.StartsWith("qht_", ticket);
        return ticket;
    }

    private static async Task<HubEventRecorder> ConnectWithTicketAsync(TestHost host, string ticket, string query = "") =>
        await host.ConnectAsync(HttpTransportType.WebSockets, callToken: ticket, deviceId: query.Length > 0 ? query : null);

    [Fact]
    public async Task OwnerAndCaller_ConnectWithTickets_TheirCredentialsNeverInAUrl_AndATicketWorksOnce()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var ownerTicket = await TicketAsync(alice);
        Assert.DoesNotContain("alice", ownerTicket); // sealed: says nothing to whoever sees it

        var device = await ConnectWithTicketAsync(host, ownerTicket, "phone");
        var started = await host.Client().StartCallAsync(payload);
        var callId = started.GetProperty("callId").GetString()!;
        var callToken = started.GetProperty("callToken").GetString()!;
        await device.WaitForAsync("IncomingCall");
        var callerTicket = await TicketAsync(host.Client(bearer: callToken));
        var caller = await ConnectWithTicketAsync(host, callerTicket);
        await device.Connection.InvokeAsync("Accept", callId);
        await caller.WaitForAsync("CallAccepted");

        // A ticket is good once; a forged or altered one never; without credentials there is no ticket.
        foreach (var bad in new[] { ownerTicket, callerTicket, "qht_" + new string('A', 60), "qht_" + new string('A', 61), "qht_!", ownerTicket[..^3] + "AAA" })
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ConnectWithTicketAsync(host, bad));
            Assert.Contains("HubException: unauthorized: ", refused.Message);
        }
        await (await host.Client().PostAsync("/api/v1/hub-tickets", null)).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        Assert.DoesNotContain(callToken, host.Logs.AllText);
    }

    [Fact]
    public async Task Ticket_PastThirtySeconds_IsRefused_AndACallersConnectionClosesWhenItsCallTokenExpires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(core: o => o.MaxCallDuration = TimeSpan.FromMinutes(5), time: time);
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var started = await host.Client().StartCallAsync(payload);
        var caller = host.Client(bearer: started.GetProperty("callToken").GetString());

        var stale = await TicketAsync(caller);
        time.Advance(TimeSpan.FromSeconds(31));
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => ConnectWithTicketAsync(host, stale));
        Assert.Contains("HubException: unauthorized: ", refused.Message);

        var connection = await ConnectWithTicketAsync(host, await TicketAsync(caller));
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Connection.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };
        time.Advance(TimeSpan.FromMinutes(5));

        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task CloseOwner_ClosesEveryConnectionOfThatOwnerAndNoOther()
    {
        await using var host = await TestHost.StartAsync();
        var phone = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        var laptop = await host.ConnectAsync(HttpTransportType.LongPolling, owner: "alice", deviceId: "laptop");
        var bob = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob", deviceId: "phone");
        var closed = 0;
        foreach (var connection in new[] { phone, laptop })
        {
            connection.Connection.Closed += _ => { Interlocked.Increment(ref closed); return Task.CompletedTask; };
        }

        var count = host.App.Services.GetRequiredService<QrCallingConnections>().CloseOwner("alice");

        Assert.Equal(2, count);
        for (var i = 0; i < 500 && Volatile.Read(ref closed) < 2; i++)
        {
            await Task.Delay(10);
        }
        Assert.Equal(2, Volatile.Read(ref closed));
        Assert.Equal(HubConnectionState.Connected, bob.Connection.State);
        Assert.Equal(0, host.App.Services.GetRequiredService<QrCallingConnections>().CloseOwner("alice"));
    }
}
