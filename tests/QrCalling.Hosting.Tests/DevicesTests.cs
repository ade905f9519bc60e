using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Issue 14: devices paired by QR (single-use pairing, check code, hub with the device token, revoke closes its
/// connections) and client-encrypted backups.</summary>
public sealed class DevicesTests
{
    private static async Task<JsonElement> StartPairingAsync(HttpClient owner)
    {
        var response = await owner.PostAsync("/api/v1/devices/pairing", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static Task<HttpResponseMessage> PairAsync(TestHost host, string? payload, string? name = "Kitchen tablet") =>
        host.Client().PostAsync("/api/v1/devices/pair", Http.Json(new { pairingPayload = payload, name }));

    /// <summary>Pairs and confirms a device of <paramref name="owner"/>; returns its id and token.</summary>
    private static async Task<(string Id, string Token)> PairConfirmedAsync(TestHost host, string owner)
    {
        var payload = (await StartPairingAsync(host.Client(owner: owner))).GetProperty("pairingPayload").GetString();
        var paired = await (await PairAsync(host, payload)).ReadJsonAsync();
        var id = paired.GetProperty("deviceId").GetString()!;
        var confirm = await host.Client(owner: owner).PostAsync($"/api/v1/devices/{id}/confirm", Http.Json(new { checkCode = paired.GetProperty("checkCode").GetString() }));
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        return (id, paired.GetProperty("deviceToken").GetString()!);
    }

    [Fact]
    public async Task Devices_PairConfirmAndRing_TheNewDeviceAnswersTheOwnersCall()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");

        var pairing = await StartPairingAsync(alice);
        var payload = pairing.GetProperty("pairingPayload").GetString()!;
        Assert.Matches("^qpp_[A-Za-z0-9_-]{43}$", payload);
        Assert.Equal("http://localhost/pair#" + payload, pairing.GetProperty("link").GetString());
        Assert.StartsWith("data:image/svg+xml;base64,", pairing.GetProperty("qrCode").GetString());
        Assert.InRange(pairing.GetProperty("expiresAt").GetDateTimeOffset() - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(100), TimeSpan.FromSeconds(121));

        var response = await PairAsync(host, payload, "  Kitchen tablet ");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var paired = await response.ReadJsonAsync();
        var deviceId = paired.GetProperty("deviceId").GetString()!;
        var token = paired.GetProperty("deviceToken").GetString()!;
        var checkCode = paired.GetProperty("checkCode").GetString()!;
        Assert.Matches("^dev_[A-Za-z0-9_-]{22}$", deviceId);
        Assert.Matches("^qdt_[A-Za-z0-9_-]{43}$", token);
        Assert.Matches("^[0-9]{6}$", checkCode);
        Assert.Equal("Kitchen tablet", paired.GetProperty("name").GetString());

        // Not confirmed yet: the list shows the check code to compare, and the hub does not admit the device.
        var pending = Assert.Single((await (await alice.GetAsync("/api/v1/devices")).ReadJsonAsync()).EnumerateArray());
        Assert.Equal(deviceId, pending.GetProperty("deviceId").GetString());
        Assert.False(pending.GetProperty("confirmed").GetBoolean());
        Assert.Equal(checkCode, pending.GetProperty("checkCode").GetString());
        Assert.DoesNotContain(token, pending.GetRawText());
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => host.ConnectAsync(HttpTransportType.WebSockets, callToken: token));
        Assert.Contains("HubException: device_pending: ", refused.Message);

        var wrongCode = checkCode == "000000" ? "111111" : "000000";
        await (await alice.PostAsync($"/api/v1/devices/{deviceId}/confirm", Http.Json(new { checkCode = wrongCode })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await host.Client(owner: "bob").PostAsync($"/api/v1/devices/{deviceId}/confirm", Http.Json(new { checkCode })))
            .AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        var confirmed = await (await alice.PostAsync($"/api/v1/devices/{deviceId}/confirm", Http.Json(new { checkCode }))).ReadJsonAsync();
        Assert.True(confirmed.GetProperty("confirmed").GetBoolean());
        Assert.False(confirmed.TryGetProperty("checkCode", out _));

        // Now it rings for alice's calls and can answer one, with no other credential.
        var tablet = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        var code = await alice.IssueCodeAsync();
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
        var callId = started.GetProperty("callId").GetString()!;
        var incoming = await tablet.WaitForAsync("IncomingCall");
        Assert.Equal(callId, incoming.GetProperty("callId").GetString());
        await tablet.Connection.InvokeAsync("Accept", callId);
        var ice = await host.Client(bearer: token).GetAsync($"/api/v1/ice-servers?callId={callId}");
        Assert.Equal(HttpStatusCode.OK, ice.StatusCode);
        var listed = Assert.Single((await (await alice.GetAsync("/api/v1/devices")).ReadJsonAsync()).EnumerateArray());
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("lastSeenAt").ValueKind);
    }

    [Fact]
    public async Task Devices_PairingPayload_WorksOnce_AndUsedExpiredUnknownAnswerTheSame()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(time: time);
        var alice = host.Client(owner: "alice");
        var payload = (await StartPairingAsync(alice)).GetProperty("pairingPayload").GetString()!;
        var expiring = (await StartPairingAsync(alice)).GetProperty("pairingPayload").GetString()!;

        // A bad name does not spend the payload.
        await (await PairAsync(host, payload, new string('x', 65))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Equal(HttpStatusCode.Created, (await PairAsync(host, payload)).StatusCode);
        var again = await PairAsync(host, payload);
        time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        var expired = await PairAsync(host, expiring);
        var unknown = await PairAsync(host, "qpp_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_'));
        var malformed = await PairAsync(host, "not a payload");

        var bodies = new List<string>();
        foreach (var answer in new[] { again, expired, unknown, malformed })
        {
            Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
            bodies.Add(await answer.Content.ReadAsStringAsync());
        }
        Assert.Single(bodies.Distinct());
        Assert.Contains("\"code\":\"pairing_unavailable\"", bodies[0]);
        Assert.Single((await (await alice.GetAsync("/api/v1/devices")).ReadJsonAsync()).EnumerateArray());
        await (await host.Client().PostAsync("/api/v1/devices/pairing", null)).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Devices_Revoke_ClosesTheDevicesHubConnectionsAtOnce_AndItsTokenStopsWorking()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var (deviceId, token) = await PairConfirmedAsync(host, "alice");
        var (keptId, keptToken) = await PairConfirmedAsync(host, "alice");
        var tablet = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        var kept = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: keptToken);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tablet.Connection.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };

        await (await host.Client(owner: "bob").DeleteAsync($"/api/v1/devices/{deviceId}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        Assert.Equal(HubConnectionState.Connected, tablet.Connection.State);
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync($"/api/v1/devices/{deviceId}")).StatusCode);

        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HubConnectionState.Disconnected, tablet.Connection.State);
        Assert.Equal(HubConnectionState.Connected, kept.Connection.State);
        var reconnect = await Assert.ThrowsAsync<InvalidOperationException>(() => host.ConnectAsync(HttpTransportType.WebSockets, callToken: token));
        Assert.Contains("HubException: unauthorized: ", reconnect.Message);
        await (await host.Client(bearer: token).GetAsync("/api/v1/ice-servers?callId=call_x")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await alice.DeleteAsync($"/api/v1/devices/{deviceId}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        var left = Assert.Single((await (await alice.GetAsync("/api/v1/devices")).ReadJsonAsync()).EnumerateArray());
        Assert.Equal(keptId, left.GetProperty("deviceId").GetString());
    }

    [Fact]
    public async Task Devices_Rename_ValidatesAndIsPerOwner()
    {
        await using var host = await TestHost.StartAsync();
        var (deviceId, _) = await PairConfirmedAsync(host, "alice");
        var alice = host.Client(owner: "alice");

        var renamed = await alice.PatchAsync($"/api/v1/devices/{deviceId}", Http.Json(new { name = " Hall phone " }));
        Assert.Equal("Hall phone", (await renamed.ReadJsonAsync()).GetProperty("name").GetString());
        await (await alice.PatchAsync($"/api/v1/devices/{deviceId}", Http.Json(new { name = "" }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.PatchAsync($"/api/v1/devices/{deviceId}", Http.Json(new { name = "a\u0001b" }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.PatchAsync($"/api/v1/devices/{deviceId}", Http.Raw("{\"name\": 5}"))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await host.Client(owner: "bob").PatchAsync($"/api/v1/devices/{deviceId}", Http.Json(new { name = "Mine" })))
            .AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await host.Client().GetAsync("/api/v1/devices")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Empty((await (await host.Client(owner: "bob").GetAsync("/api/v1/devices")).ReadJsonAsync()).EnumerateArray());
    }

    private static ByteArrayContent Octets(byte[] bytes, string type = "application/octet-stream")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    [Fact]
    public async Task DevicesBackups_UploadDownloadRoundTrip_VersionsAndOwnersApart()
    {
        await using var host = await TestHost.StartAsync(core: o => o.BackupVersionsKept = 2);
        var alice = host.Client(owner: "alice");
        var blobs = Enumerable.Range(1, 3).Select(i => RandomNumberGenerator.GetBytes(5000 * i)).ToArray();
        var versions = new List<long>();
        foreach (var blob in blobs)
        {
            var put = await alice.PutAsync("/api/v1/backups", Octets(blob));
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            var body = await put.ReadJsonAsync();
            Assert.Equal(blob.Length, body.GetProperty("size").GetInt64());
            versions.Add(body.GetProperty("version").GetInt64());
        }
        Assert.Equal([1L, 2, 3], versions);

        var latest = await alice.GetAsync("/api/v1/backups/latest");
        Assert.Equal(HttpStatusCode.OK, latest.StatusCode);
        Assert.Equal("application/octet-stream", latest.Content.Headers.ContentType?.MediaType);
        Assert.Equal(blobs[2], await latest.Content.ReadAsByteArrayAsync());
        Assert.Equal("3", latest.Headers.GetValues("X-QrCalling-Backup-Version").Single());
        Assert.Equal(blobs[1], await (await alice.GetAsync("/api/v1/backups/2")).Content.ReadAsByteArrayAsync());
        await (await alice.GetAsync("/api/v1/backups/1")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found"); // only 2 kept
        var list = (await (await alice.GetAsync("/api/v1/backups")).ReadJsonAsync()).EnumerateArray().Select(v => v.GetProperty("version").GetInt64());
        Assert.Equal([3L, 2], list);

        // Another owner cannot read or delete them.
        var bob = host.Client(owner: "bob");
        await (await bob.GetAsync("/api/v1/backups/latest")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await bob.GetAsync("/api/v1/backups/3")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await bob.DeleteAsync("/api/v1/backups/3")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await host.Client().GetAsync("/api/v1/backups/latest")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");

        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync("/api/v1/backups/3")).StatusCode);
        Assert.Equal(blobs[1], await (await alice.GetAsync("/api/v1/backups/latest")).Content.ReadAsByteArrayAsync());
        await (await alice.GetAsync("/api/v1/backups/abc")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task DevicesBackups_OverTheCapIs413_OtherTypesAre415_EmptyIs400_AndNothingIsStored()
    {
        await using var host = await TestHost.StartAsync(core: o => o.MaxBackupBytes = 4096);
        var alice = host.Client(owner: "alice");

        await (await alice.PutAsync("/api/v1/backups", Octets(new byte[4097]))).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "backup_too_large");
        // Without a Content-Length (chunked), the cap is enforced while reading.
        var chunked = new StreamContent(new MemoryStream(new byte[10_000]));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var request = new HttpRequestMessage(HttpMethod.Put, "/api/v1/backups") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        await (await alice.SendAsync(request)).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "backup_too_large");
        await (await alice.PutAsync("/api/v1/backups", Octets([1, 2, 3], "application/json"))).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await (await alice.PutAsync("/api/v1/backups", Octets([]))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Empty((await (await alice.GetAsync("/api/v1/backups")).ReadJsonAsync()).EnumerateArray());
        await (await alice.GetAsync("/api/v1/backups/latest")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");

        Assert.Equal(HttpStatusCode.Created, (await alice.PutAsync("/api/v1/backups", Octets(new byte[4096]))).StatusCode);
    }
}
