using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Codes;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Hosting.Tests;

public sealed class RestTests
{
    [Fact]
    public async Task ScanAndStartCall_UnknownRevokedExpiredUsedUp_GiveByteIdenticalResponses()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var host = await TestHost.StartAsync(time: time);
        var alice = host.Client(owner: "alice");
        var anonymous = host.Client();

        var unknown = CodePayload.Format(CodeToken.New());
        var revokedCode = await alice.IssueCodeAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await alice.PostAsync($"/api/v1/codes/{revokedCode.GetProperty("id").GetString()}/revoke", null)).StatusCode);
        var expiredCode = await alice.IssueCodeAsync(new { label = "Front door", expiresInSeconds = 60 });
        var usedUpCode = await alice.IssueCodeAsync(new { label = "Front door", maxScans = 1 });
        await anonymous.StartCallAsync(usedUpCode.GetProperty("payload").GetString()!);
        time.Advance(TimeSpan.FromSeconds(61));

        var payloads = new[] { unknown, revokedCode.GetProperty("payload").GetString()!, expiredCode.GetProperty("payload").GetString()!,
            usedUpCode.GetProperty("payload").GetString()! };
        foreach (var (route, body) in new (string, Func<string, object>)[]
                 {
                     ("/api/v1/scan", p => new { payload = p }),
                     ("/api/v1/calls", p => new { payload = p, media = "audio" }),
                 })
        {
            var responses = new List<string>();
            foreach (var payload in payloads)
            {
                var response = await host.Client().PostAsync(route, Http.Json(body(payload)));
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                responses.Add(await Describe(response));
            }
            Assert.Contains("\"code\":\"unavailable\"", responses[0]);
            Assert.DoesNotContain("traceId", responses[0]);
            Assert.All(responses, r => Assert.Equal(responses[0], r));
        }
    }

    /// <summary>Status, every header except Date, and the body bytes (base64).</summary>
    internal static async Task<string> Describe(HttpResponseMessage response)
    {
        var headers = response.Headers.Concat(response.Content.Headers)
            .Where(h => !h.Key.Equals("Date", StringComparison.OrdinalIgnoreCase))
            .OrderBy(h => h.Key, StringComparer.Ordinal)
            .Select(h => h.Key + ": " + string.Join(",", h.Value));
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return $"{(int)response.StatusCode}\n{string.Join("\n", headers)}\n{Encoding.UTF8.GetString(bytes)}";
    }

    [Fact]
    public async Task Endpoints_BadInput_GiveProblemDetailsNever500()
    {
        await using var host = await TestHost.StartAsync(core: o => o.MaxSignalDataBytes = 1024);
        var alice = host.Client(owner: "alice");
        var anonymous = host.Client();
        var code = await alice.IssueCodeAsync();
        var payload = code.GetProperty("payload").GetString()!;
        var started = await anonymous.StartCallAsync(payload);
        var callId = started.GetProperty("callId").GetString()!;
        var caller = host.Client(bearer: started.GetProperty("callToken").GetString());

        await (await anonymous.PostAsync("/api/v1/scan", Http.Raw("{not json"))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await anonymous.PostAsync("/api/v1/scan", Http.Raw(""))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await anonymous.PostAsync("/api/v1/scan", Http.Raw("[1,2]"))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await anonymous.PostAsync("/api/v1/scan", Http.Json(new { payload = "hello" }))).AssertProblemAsync(HttpStatusCode.BadRequest, "malformed");
        var badChecksum = payload[..^1] + (payload[^1] == 'A' ? 'B' : 'A');
        var checksumResponse = await anonymous.PostAsync("/api/v1/scan", Http.Json(new { payload = badChecksum }));
        Assert.Equal(HttpStatusCode.BadRequest, checksumResponse.StatusCode);
        await (await anonymous.PostAsync("/api/v1/calls", Http.Json(new { payload, media = "fax" }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await anonymous.PostAsync("/api/v1/calls", Http.Raw("{\"payload\": 5, \"media\": \"audio\"}"))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.PostAsync("/api/v1/codes", Http.Raw("{\"maxScans\": \"abc\"}"))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.PostAsync("/api/v1/codes", Http.Json(new { media = new[] { "fax" } }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.PostAsync("/api/v1/codes", Http.Json(new { maxScans = 0 }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.PostAsync("/api/v1/codes", Http.Raw(new string('[', 5000)))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.PostAsync("/api/v1/codes", Http.Raw("{\"label\":\"" + new string('x', 20_000) + "\"}"))).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "too_large");
        await (await alice.PostAsync("/api/v1/codes/nope/revoke", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await alice.PostAsync("/api/v1/codes/nope/rotate", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await alice.GetAsync("/api/v1/calls?limit=abc")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.GetAsync("/api/v1/calls?before=yesterday")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await caller.GetAsync($"/api/v1/calls/{callId}/events?waitSeconds=99")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await caller.GetAsync($"/api/v1/calls/{callId}/events?after=-1")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await caller.PostAsync($"/api/v1/calls/{callId}/events", Http.Raw("{\"type\": \"offer\"}"))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await caller.PostAsync($"/api/v1/calls/{callId}/events", Http.Json(new { type = "chat", data = new { x = 1 } }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await caller.PostAsync($"/api/v1/calls/{callId}/events", Http.Json(new { type = "bogus", data = new { x = 1 } }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        var big = new { type = "offer", data = new { sdp = new string('s', 2000) } };
        await (await caller.PostAsync($"/api/v1/calls/{callId}/events", Http.Json(big))).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "too_large");
        var huge = new { type = "offer", data = new { sdp = new string('s', 200_000) } };
        await (await caller.PostAsync($"/api/v1/calls/{callId}/events", Http.Json(huge))).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "too_large");
        var ok = await caller.PostAsync($"/api/v1/calls/{callId}/events", Http.Json(new { type = "offer", data = new { sdp = "v=0" } }));
        Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
        Assert.Equal(1, (await ok.ReadJsonAsync()).GetProperty("seq").GetInt64());
        await (await host.Client(bearer: "qct_unknown").GetAsync($"/api/v1/calls/{callId}")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await anonymous.GetAsync("/api/v1/codes")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await anonymous.GetAsync($"/api/v1/calls/{callId}")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await anonymous.GetAsync("/api/v1/ice-servers")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await alice.PostAsync("/api/v1/qr", Http.Json(new { payload, format = "png", pixelsPerModule = 0 }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.PostAsync("/api/v1/qr", Http.Json(new { payload, format = "gif" }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.PostAsync("/api/v1/qr", Http.Json(new { payload = "x", format = "png" }))).AssertProblemAsync(HttpStatusCode.BadRequest, "malformed");

        // Random garbage bodies on every POST route: never a 500.
        var random = new Random(42);
        var routes = new[] { "/api/v1/codes", "/api/v1/qr", "/api/v1/scan", "/api/v1/calls", $"/api/v1/calls/{callId}/events" };
        var samples = new[] { "null", "true", "\"x\"", "{}", "{\"payload\":null}", "{\"media\":[null]}", "{\"data\":null,\"type\":\"offer\"}", "{\"expiresInSeconds\":-5}",
            "{\"expiresInSeconds\":99999999999999}", "{\"pixelsPerModule\":1e9}", "\u0000", "{\"payload\":\"PQC:1::\"}" };
        foreach (var route in routes)
        {
            foreach (var text in samples.Concat(Enumerable.Range(0, 10).Select(_ => RandomText(random))))
            {
                foreach (var client in new[] { alice, caller })
                {
                    var response = await client.PostAsync(route, Http.Raw(text));
                    Assert.True((int)response.StatusCode < 500, $"{route} {text} -> {response.StatusCode}");
                    if ((int)response.StatusCode >= 400)
                    {
                        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                        Assert.True((await response.ReadJsonAsync()).TryGetProperty("code", out _));
                    }
                }
            }
        }
        Assert.DoesNotContain(host.Logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal));
    }

    private static string RandomText(Random random)
    {
        const string alphabet = "{}[]\":,0123456789abcxyz-+. \\ntruefalsnul";
        return new string(Enumerable.Range(0, random.Next(1, 40)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
    }

    [Fact]
    public async Task HubSignal_OversizedOrBadType_GivesCodedHubErrors()
    {
        await using var host = await TestHost.StartAsync(core: o => o.MaxSignalDataBytes = 1024);
        var code = await host.Client(owner: "alice").IssueCodeAsync();
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
        var callId = started.GetProperty("callId").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: started.GetProperty("callToken").GetString());
        var big = JsonSerializer.SerializeToElement(new { sdp = new string('s', 2000) });
        var tooLarge = await Assert.ThrowsAsync<HubException>(() => caller.Connection.InvokeAsync<long>("Signal", callId, "offer", big));
        Assert.Equal("too_large", HubErrors.CodeOf(tooLarge.Message));
        var badType = await Assert.ThrowsAsync<HubException>(() => caller.Connection.InvokeAsync<long>("Signal", callId, "bogus", big));
        Assert.Equal("invalid_request", HubErrors.CodeOf(badType.Message));
        // The additive `file` type (end-to-end encrypted file frames) is relayed under the offer's cap.
        var bigFile = await Assert.ThrowsAsync<HubException>(() => caller.Connection.InvokeAsync<long>("Signal", callId, "file", big));
        Assert.Equal("too_large", HubErrors.CodeOf(bigFile.Message));
        var fileSeq = await caller.Connection.InvokeAsync<long>("Signal", callId, "file", JsonSerializer.SerializeToElement(new { m = "AQIDBA" }));
        Assert.True(fileSeq > 0);
        var accept = await Assert.ThrowsAsync<HubException>(() => caller.Connection.InvokeAsync("Accept", callId));
        Assert.Contains(HubErrors.CodeOf(accept.Message), new[] { "not_participant", "invalid_state" });
        Assert.Equal(HubConnectionState.Connected, caller.Connection.State);
    }

    [Fact]
    public async Task CodesAndQr_OwnerLifecycle_MatchesWireShapes()
    {
        await using var host = await TestHost.StartAsync(core: o => o.PublicBaseUrl = "https://call.example.org/c");
        var alice = host.Client(owner: "alice");
        var created = await alice.IssueCodeAsync(new { label = "Van", media = new[] { "chat" }, expiresInSeconds = 3600, maxScans = 5 });
        Assert.Equal(["id", "payload", "link", "label", "media", "createdAt", "expiresAt", "maxScans"], created.EnumerateObject().Select(p => p.Name));
        var payload = created.GetProperty("payload").GetString()!;
        Assert.Equal("https://call.example.org/c#" + payload, created.GetProperty("link").GetString());
        Assert.Equal(["chat"], created.GetProperty("media").EnumerateArray().Select(m => m.GetString()));
        Assert.EndsWith("Z", created.GetProperty("createdAt").GetString());

        var listResponse = await alice.GetAsync("/api/v1/codes");
        Assert.Equal("nosniff", listResponse.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", listResponse.Headers.GetValues("Referrer-Policy").Single());
        Assert.Equal("DENY", listResponse.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("no-store", listResponse.Headers.CacheControl!.ToString());
        var list = await listResponse.ReadJsonAsync();
        var item = Assert.Single(list.EnumerateArray());
        // The v1 members, then the additive ones (issue 13: state, pausedAt).
        Assert.Equal(["id", "label", "media", "createdAt", "expiresAt", "maxScans", "scanCount", "lastScannedAt", "revokedAt", "state", "pausedAt"],
            item.EnumerateObject().Select(p => p.Name));
        Assert.DoesNotContain(payload, list.GetRawText());
        Assert.Empty(await (await host.Client(owner: "bob").GetAsync("/api/v1/codes")).ReadJsonAsync() is var b ? b.EnumerateArray() : default);

        // Link form is accepted by scan; media restriction is enforced by POST /calls.
        var scan = await host.Client().PostAsync("/api/v1/scan", Http.Json(new { payload = created.GetProperty("link").GetString() }));
        Assert.Equal(HttpStatusCode.OK, scan.StatusCode);
        await (await host.Client().PostAsync("/api/v1/calls", Http.Json(new { payload, media = "video" }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");

        var png = await alice.PostAsync("/api/v1/qr", Http.Json(new { payload = payload.ToLowerInvariant(), format = "png", pixelsPerModule = 4 }));
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, (await png.Content.ReadAsByteArrayAsync())[..4]);
        var svg = await alice.PostAsync("/api/v1/qr", Http.Json(new { payload, format = "svg" }));
        Assert.Equal("image/svg+xml", svg.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<svg", await svg.Content.ReadAsStringAsync());
        await (await host.Client().PostAsync("/api/v1/qr", Http.Json(new { payload, format = "svg" }))).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");

        var id = created.GetProperty("id").GetString()!;
        await (await host.Client(owner: "bob").PostAsync($"/api/v1/codes/{id}/rotate", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        var rotated = await alice.PostAsync($"/api/v1/codes/{id}/rotate", null);
        Assert.Equal(HttpStatusCode.Created, rotated.StatusCode);
        var fresh = await rotated.ReadJsonAsync();
        Assert.NotEqual(payload, fresh.GetProperty("payload").GetString());
        Assert.Equal("Van", fresh.GetProperty("label").GetString());
        await (await host.Client().PostAsync("/api/v1/scan", Http.Json(new { payload }))).AssertProblemAsync(HttpStatusCode.NotFound, "unavailable");
        await (await alice.PostAsync($"/api/v1/codes/{id}/revoke", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task HealthAndOpenApi_StorageDown_ReadyIs503AndRequestsGetStorageUnavailable()
    {
        var storage = new SwitchableStorage();
        await using var host = await TestHost.StartAsync(configure: b => b.Services.AddSingleton<IStorage>(storage));
        var client = host.Client();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        var openApi = await client.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/v1/calls/{callId}/events", openApi);
        Assert.Contains("application/problem+json", openApi);

        storage.Down = true;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var payload = CodePayload.Format(CodeToken.New());
        await (await client.PostAsync("/api/v1/scan", Http.Json(new { payload }))).AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "storage_unavailable");
        await (await host.Client(owner: "alice").PostAsync("/api/v1/codes", Http.Json(new { label = "x" }))).AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "storage_unavailable");
    }

    /// <summary>The in-memory store, except that every operation throws <see cref="StorageUnavailableException"/> while down.</summary>
    private sealed class SwitchableStorage : IStorage
    {
        private readonly InMemoryStorage _inner = new();
        public bool Down { get; set; }
        public ICodeStore Codes => Down ? throw new StorageUnavailableException() : _inner.Codes;
        public ICallStore Calls => Down ? throw new StorageUnavailableException() : _inner.Calls;
        public IMailboxStore Mailbox => Down ? throw new StorageUnavailableException() : _inner.Mailbox;
        public IPushSubscriptionStore PushSubscriptions => Down ? throw new StorageUnavailableException() : _inner.PushSubscriptions;
        public IMessageStore Messages => Down ? throw new StorageUnavailableException() : _inner.Messages;
        public ICallerControlStore CallerControls => Down ? throw new StorageUnavailableException() : _inner.CallerControls;
        public IDeviceStore Devices => Down ? throw new StorageUnavailableException() : _inner.Devices;
        public IDelegateStore Delegates => Down ? throw new StorageUnavailableException() : _inner.Delegates;
        public IBackupStore Backups => Down ? throw new StorageUnavailableException() : _inner.Backups;
        public IRoomStore Rooms => Down ? throw new StorageUnavailableException() : _inner.Rooms;
        public ValueTask PingAsync(CancellationToken cancellationToken) => Down ? throw new StorageUnavailableException() : ValueTask.CompletedTask;
    }
}
