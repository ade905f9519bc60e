using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>A real coturn (the documented docs/coturn.conf) shared by the tests of a class.</summary>
public sealed class CoturnFixture : IDisposable
{
    public const string Secret = "turn-test-secret-0123456789";
    private readonly CoturnProcess _coturn = CoturnProcess.Start([Secret]);

    public int Port => _coturn.Port;

    public Task<int> AllocateAsync(string username, string credential, string? peer = null) => _coturn.AllocateAsync(username, credential, peer);

    public void Dispose() => _coturn.Dispose();
}

public sealed class TurnTests(CoturnFixture coturn) : IClassFixture<CoturnFixture>
{
    private static string Sign(string secret, string username) =>
        Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username)));

    private Task<TestHost> StartAsync(Action<QrCallingHostingOptions>? more = null) => TestHost.StartAsync(hosting: o =>
    {
        o.Stun.Urls = $"stun:127.0.0.1:{coturn.Port}";
        o.Turn.Urls = $"turn:127.0.0.1:{coturn.Port}?transport=udp";
        o.Turn.SharedSecret = CoturnFixture.Secret;
        more?.Invoke(o);
    });

    [Fact]
    public async Task IceServers_WithCoturn_ShortLivedPerCallCredentialsWorkAndExpiredOrForgedFail()
    {
        await using var host = await StartAsync();
        var alice = host.Client(owner: "alice");
        var owner = await (await alice.GetAsync("/api/v1/ice-servers")).ReadJsonAsync();
        var ttl = owner.GetProperty("ttlSeconds").GetInt64();
        Assert.InRange(ttl, 590, 600); // Turn:CredentialLifetime, 10 minutes by default
        var servers = owner.GetProperty("iceServers").EnumerateArray().ToList();
        Assert.Equal(2, servers.Count);
        Assert.False(servers[0].TryGetProperty("username", out _));
        var turn = servers[1];
        Assert.Equal($"turn:127.0.0.1:{coturn.Port}?transport=udp", turn.GetProperty("urls")[0].GetString());
        var username = turn.GetProperty("username").GetString()!;
        var credential = turn.GetProperty("credential").GetString()!;
        var parts = username.Split(':');
        Assert.Equal(2, parts.Length);
        Assert.InRange(long.Parse(parts[0]) - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 590, 600);

        var ownerAllocation = coturn.AllocateAsync(username, credential);

        // A caller's credentials are short-lived too, and never outlive its call.
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callerTurn = started.GetProperty("iceServers")[1];
        var callerExpiry = long.Parse(callerTurn.GetProperty("username").GetString()!.Split(':')[0]);
        Assert.InRange(callerExpiry - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 590, 600);
        Assert.NotEqual(parts[1], callerTurn.GetProperty("username").GetString()!.Split(':')[1]);
        var callerAllocation = coturn.AllocateAsync(callerTurn.GetProperty("username").GetString()!, callerTurn.GetProperty("credential").GetString()!);

        // Expired (signed correctly, expiry in the past) and forged credentials are refused by coturn.
        var expired = $"{DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds()}:{parts[1]}";
        var expiredAllocation = coturn.AllocateAsync(expired, Sign(CoturnFixture.Secret, expired));
        var forgedAllocation = coturn.AllocateAsync(username, Sign("not-the-secret-at-all", username));
        Assert.Equal(0, await ownerAllocation);
        Assert.Equal(0, await callerAllocation);
        Assert.NotEqual(0, await expiredAllocation);
        Assert.NotEqual(0, await forgedAllocation);
        Assert.DoesNotContain(credential, host.Logs.AllText);
    }

    [Fact]
    public async Task IceServers_ForAnEndedCall_AreRefusedToTheCallerAndToTheOwner()
    {
        await using var host = await StartAsync();
        var alice = host.Client(owner: "alice");
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var caller = host.Client(bearer: started.GetProperty("callToken").GetString());
        Assert.Equal(HttpStatusCode.OK, (await caller.GetAsync("/api/v1/ice-servers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/api/v1/ice-servers?callId={callId}")).StatusCode);
        await (await host.Client(owner: "bob").GetAsync($"/api/v1/ice-servers?callId={callId}")).AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");

        var device = await host.ConnectAsync(Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets, owner: "alice");
        await Microsoft.AspNetCore.SignalR.Client.HubConnectionExtensions.InvokeAsync(device.Connection, "Reject", callId);

        await (await caller.GetAsync("/api/v1/ice-servers")).AssertProblemAsync(HttpStatusCode.Conflict, "invalid_state");
        await (await alice.GetAsync($"/api/v1/ice-servers?callId={callId}")).AssertProblemAsync(HttpStatusCode.Conflict, "invalid_state");
    }

    [Fact]
    public async Task DocumentedCoturnConfiguration_RelaysToLoopbackAndPrivatePeersAreRefused()
    {
        await using var host = await StartAsync();
        var turn = (await (await host.Client(owner: "alice").GetAsync("/api/v1/ice-servers")).ReadJsonAsync()).GetProperty("iceServers")[1];
        var username = turn.GetProperty("username").GetString()!;
        var credential = turn.GetProperty("credential").GetString()!;

        // 127.0.0.2 is denied by docs/coturn.conf (127.0.0.0/8); only 127.0.0.1 is allowed, by the test-only setting.
        Assert.NotEqual(0, await coturn.AllocateAsync(username, credential, peer: "127.0.0.2"));
        Assert.Equal(0, await coturn.AllocateAsync(username, credential, peer: "127.0.0.1"));
        var conf = await File.ReadAllTextAsync(CoturnProcess.ConfigurationFile);
        foreach (var line in new[] { "denied-peer-ip=10.0.0.0-10.255.255.255", "denied-peer-ip=172.16.0.0-172.31.255.255",
                     "denied-peer-ip=192.168.0.0-192.168.255.255", "denied-peer-ip=127.0.0.0-127.255.255.255", "denied-peer-ip=::1",
                     "no-multicast-peers", "no-tcp-relay", "use-auth-secret" })
        {
            Assert.Contains(line, conf);
        }
    }

    [Fact]
    public async Task SecretRotation_CredentialInFlightKeepsWorkingUntilTheOldSecretIsDropped()
    {
        const string Old = "turn-old-secret-0123456789", New = "turn-new-secret-0123456789";
        // Before the rotation: the host signs with the old secret; a client holds a credential.
        string username, credential;
        await using (var before = await TestHost.StartAsync(hosting: o => { o.Turn.Urls = "turn:127.0.0.1:3478"; o.Turn.SharedSecret = Old; }))
        {
            var turn = (await (await before.Client(owner: "alice").GetAsync("/api/v1/ice-servers")).ReadJsonAsync()).GetProperty("iceServers")[0];
            username = turn.GetProperty("username").GetString()!;
            credential = turn.GetProperty("credential").GetString()!;
        }

        // The rotation: the host signs with the new secret and lists the old one; coturn accepts every accepted secret.
        await using var after = await TestHost.StartAsync(hosting: o =>
        {
            o.Turn.Urls = "turn:127.0.0.1:3478";
            o.Turn.SharedSecret = New;
            o.Turn.PreviousSecrets.Add(Old);
        });
        var options = after.App.Services.GetRequiredService<IOptions<QrCallingHostingOptions>>().Value;
        Assert.Equal([New, Old], options.Turn.AcceptedSecrets);
        var fresh = (await (await after.Client(owner: "alice").GetAsync("/api/v1/ice-servers")).ReadJsonAsync()).GetProperty("iceServers")[0];
        var freshUser = fresh.GetProperty("username").GetString()!;
        Assert.Equal(Sign(New, freshUser), fresh.GetProperty("credential").GetString());
        using (var rotating = CoturnProcess.Start(options.Turn.AcceptedSecrets, 48000, 48999))
        {
            Assert.Equal(0, await rotating.AllocateAsync(username, credential));   // the credential in flight
            Assert.Equal(0, await rotating.AllocateAsync(freshUser, fresh.GetProperty("credential").GetString()!));
        }

        // Once the old secret is dropped, its credentials stop working; new ones keep working.
        using var rotated = CoturnProcess.Start([New], 48000, 48999);
        Assert.NotEqual(0, await rotated.AllocateAsync(username, credential));
        Assert.Equal(0, await rotated.AllocateAsync(freshUser, fresh.GetProperty("credential").GetString()!));
    }
}
