using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Issue 14, "Who may call, and when", through the host: blocking the caller of a call on its code (the blocked
/// browser sees exactly what a dead code answers), quiet hours and chat-only mode (PUT /codes/{id}/availability), and the
/// scan telling a caller what is possible before calling.</summary>
public sealed class CallerControlTests
{
    private static string NewCallerKey() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static async Task<HttpResponseMessage> ScanAsync(HttpClient client, string payload, string? callerKey = null) =>
        await client.PostAsync("/api/v1/scan", Http.Json(callerKey is null ? new { payload } : new { payload, callerKey } as object));

    private static async Task<HttpResponseMessage> StartAsync(HttpClient client, string payload, string media, string? callerKey = null) =>
        await client.PostAsync("/api/v1/calls", Http.Json(callerKey is null ? new { payload, media } : new { payload, media, callerKey } as object));

    private static async Task<string> Describe(HttpResponseMessage response) =>
        $"{(int)response.StatusCode} {response.Content.Headers.ContentType} {await response.Content.ReadAsStringAsync()}";

    [Fact]
    public async Task BlockCaller_BlockedBrowserGetsExactlyADeadCodesAnswer_OthersAreUnaffected()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync(new { label = "Car" });
        var other = await alice.IssueCodeAsync(new { label = "Door" });
        var dead = await alice.IssueCodeAsync(new { label = "Old" });
        var payload = code.GetProperty("payload").GetString()!;
        var otherPayload = other.GetProperty("payload").GetString()!;
        var deadPayload = dead.GetProperty("payload").GetString()!;
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync($"/api/v1/codes/{dead.GetProperty("id").GetString()}")).StatusCode);
        var caller = NewCallerKey();
        var anyone = host.Client();
        var started = await StartAsync(anyone, payload, "audio", caller);
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var callId = (await started.ReadJsonAsync()).GetProperty("callId").GetString()!;

        var blocked = await alice.PostAsync($"/api/v1/calls/{callId}/block", null);

        Assert.Equal(HttpStatusCode.Created, blocked.StatusCode);
        var block = await blocked.ReadJsonAsync();
        Assert.StartsWith("b_", block.GetProperty("blockId").GetString(), StringComparison.Ordinal);
        Assert.Equal(code.GetProperty("id").GetString(), block.GetProperty("codeId").GetString());
        Assert.Equal(3, block.EnumerateObject().Count()); // blockId, codeId, createdAt: nothing about the caller

        Assert.Equal(await Describe(await ScanAsync(anyone, deadPayload, caller)), await Describe(await ScanAsync(anyone, payload, caller)));
        Assert.Equal(await Describe(await StartAsync(anyone, deadPayload, "chat", caller)), await Describe(await StartAsync(anyone, payload, "chat", caller)));
        await (await ScanAsync(anyone, payload, caller)).AssertProblemAsync(HttpStatusCode.NotFound, "unavailable");
        Assert.Equal(HttpStatusCode.OK, (await ScanAsync(anyone, payload, NewCallerKey())).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ScanAsync(anyone, payload)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await StartAsync(anyone, payload, "audio", NewCallerKey())).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await StartAsync(anyone, otherPayload, "audio", caller)).StatusCode);

        var list = await (await alice.GetAsync($"/api/v1/codes/{code.GetProperty("id").GetString()}/blocks")).ReadJsonAsync();
        Assert.Equal(block.GetProperty("blockId").GetString(), Assert.Single(list.EnumerateArray()).GetProperty("blockId").GetString());
        Assert.Equal(HttpStatusCode.NoContent,
            (await alice.DeleteAsync($"/api/v1/codes/{code.GetProperty("id").GetString()}/blocks/{block.GetProperty("blockId").GetString()}")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await StartAsync(anyone, payload, "audio", caller)).StatusCode);
    }

    [Fact]
    public async Task BlockCaller_Errors_AreProblemDetailsWithStableCodes()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var anonymousCall = (await host.Client().StartCallAsync(payload, "audio")).GetProperty("callId").GetString()!;
        var keyedCall = (await (await StartAsync(host.Client(), payload, "audio", NewCallerKey())).ReadJsonAsync()).GetProperty("callId").GetString()!;

        await (await alice.PostAsync($"/api/v1/calls/{anonymousCall}/block", null)).AssertProblemAsync(HttpStatusCode.Conflict, "caller_unknown");
        await (await host.Client(owner: "mallory").PostAsync($"/api/v1/calls/{keyedCall}/block", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await host.Client().PostAsync($"/api/v1/calls/{keyedCall}/block", null)).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await alice.PostAsync("/api/v1/calls/call_nope/block", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await alice.GetAsync("/api/v1/codes/c_nope/blocks")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await alice.DeleteAsync("/api/v1/codes/c_nope/blocks/b_nope")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
    }

    [Theory]
    [InlineData("\"short\"")]
    [InlineData("\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"")]
    [InlineData("\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/\"")]
    [InlineData("\"\"")]
    [InlineData("42")]
    public async Task ScanAndStart_BadCallerKey_Is400InvalidRequest(string callerKeyJson)
    {
        await using var host = await TestHost.StartAsync();
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;

        await (await host.Client().PostAsync("/api/v1/scan", Http.Raw($"{{\"payload\":\"{payload}\",\"callerKey\":{callerKeyJson}}}")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await host.Client().PostAsync("/api/v1/calls", Http.Raw($"{{\"payload\":\"{payload}\",\"media\":\"audio\",\"callerKey\":{callerKeyJson}}}")))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Scan_V1Client_GetsCallsAllowedWithoutQuietUntil()
    {
        await using var host = await TestHost.StartAsync();
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;

        var scan = await (await ScanAsync(host.Client(), payload)).ReadJsonAsync();

        Assert.True(scan.GetProperty("callsAllowed").GetBoolean());
        Assert.False(scan.GetProperty("chatOnly").GetBoolean());
        Assert.False(scan.TryGetProperty("quietUntil", out _));
    }

    [Fact]
    public async Task ChatOnly_ScanSaysSo_VoiceIs403ChatOnly_ChatStarts()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync(new { label = "Car", maxScans = 3 });
        var id = code.GetProperty("id").GetString()!;
        var payload = code.GetProperty("payload").GetString()!;

        var put = await alice.PutAsync($"/api/v1/codes/{id}/availability", Http.Json(new { chatOnly = true }));

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var availability = await put.ReadJsonAsync();
        Assert.True(availability.GetProperty("chatOnly").GetBoolean());
        Assert.Equal(JsonValueKind.Null, availability.GetProperty("quietHours").ValueKind);
        Assert.False(availability.GetProperty("now").GetProperty("callsAllowed").GetBoolean());
        var scan = await (await ScanAsync(host.Client(), payload)).ReadJsonAsync();
        Assert.False(scan.GetProperty("callsAllowed").GetBoolean());
        Assert.True(scan.GetProperty("chatOnly").GetBoolean());
        await (await StartAsync(host.Client(), payload, "video")).AssertProblemAsync(HttpStatusCode.Forbidden, "chat_only");
        Assert.Equal(HttpStatusCode.Created, (await StartAsync(host.Client(), payload, "chat")).StatusCode);
        var listed = (await (await alice.GetAsync("/api/v1/codes")).ReadJsonAsync()).EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);
        Assert.Equal(1, listed.GetProperty("scanCount").GetInt32()); // the refused video call spent nothing
    }

    [Fact]
    public async Task QuietHours_InTheOwnersZone_RefuseVoiceUntilTheyEnd()
    {
        // 22:30 in Berlin (CET, +01:00) on Wednesday 2 December 2026.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 21, 30, 0, TimeSpan.Zero));
        await using var host = await TestHost.StartAsync(time: time);
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync(new { label = "Door" });
        var id = code.GetProperty("id").GetString()!;
        var payload = code.GetProperty("payload").GetString()!;
        var quietHours = new { start = "22:00", end = "07:00", days = new[] { "mon", "tue", "wed", "thu", "fri" }, timeZone = "Europe/Berlin" };

        var put = await (await alice.PutAsync($"/api/v1/codes/{id}/availability", Http.Json(new { quietHours }))).ReadJsonAsync();

        Assert.Equal("22:00", put.GetProperty("quietHours").GetProperty("start").GetString());
        Assert.Equal(["mon", "tue", "wed", "thu", "fri"], put.GetProperty("quietHours").GetProperty("days").EnumerateArray().Select(d => d.GetString()));
        var until = new DateTimeOffset(2026, 12, 3, 6, 0, 0, TimeSpan.Zero); // 07:00 in Berlin
        Assert.Equal(until, put.GetProperty("now").GetProperty("quietUntil").GetDateTimeOffset());
        var scan = await (await ScanAsync(host.Client(), payload)).ReadJsonAsync();
        Assert.Equal("2026-12-03T06:00:00Z", scan.GetProperty("quietUntil").GetString());
        Assert.False(scan.GetProperty("callsAllowed").GetBoolean());
        await (await StartAsync(host.Client(), payload, "audio")).AssertProblemAsync(HttpStatusCode.Forbidden, "quiet_hours");
        Assert.Equal(HttpStatusCode.Created, (await StartAsync(host.Client(), payload, "chat")).StatusCode);

        time.SetUtcNow(until);
        var morning = await (await ScanAsync(host.Client(), payload)).ReadJsonAsync();
        Assert.True(morning.GetProperty("callsAllowed").GetBoolean());
        Assert.False(morning.TryGetProperty("quietUntil", out _));
        Assert.Equal(HttpStatusCode.Created, (await StartAsync(host.Client(), payload, "audio")).StatusCode);
        var get = await (await alice.GetAsync($"/api/v1/codes/{id}/availability")).ReadJsonAsync();
        Assert.Equal("Europe/Berlin", get.GetProperty("quietHours").GetProperty("timeZone").GetString());
    }

    [Theory]
    [InlineData("{\"quietHours\":{\"start\":\"22:00\",\"end\":\"07:00\",\"timeZone\":\"Mars/Olympus\"}}")]
    [InlineData("{\"quietHours\":{\"start\":\"25:00\",\"end\":\"07:00\",\"timeZone\":\"UTC\"}}")]
    [InlineData("{\"quietHours\":{\"start\":\"7pm\",\"end\":\"07:00\",\"timeZone\":\"UTC\"}}")]
    [InlineData("{\"quietHours\":{\"start\":\"07:00\",\"end\":\"07:00\",\"timeZone\":\"UTC\"}}")]
    [InlineData("{\"quietHours\":{\"start\":\"22:00\",\"end\":\"07:00\",\"days\":[],\"timeZone\":\"UTC\"}}")]
    [InlineData("{\"quietHours\":{\"start\":\"22:00\",\"end\":\"07:00\",\"days\":[\"someday\"],\"timeZone\":\"UTC\"}}")]
    [InlineData("{\"quietHours\":{\"start\":\"22:00\",\"end\":\"07:00\"}}")]
    [InlineData("{\"chatOnly\":\"yes\"}")]
    public async Task PutAvailability_BadInput_Is400InvalidRequest(string body)
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var id = (await alice.IssueCodeAsync()).GetProperty("id").GetString()!;

        await (await alice.PutAsync($"/api/v1/codes/{id}/availability", Http.Raw(body))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        Assert.False((await (await alice.GetAsync($"/api/v1/codes/{id}/availability")).ReadJsonAsync()).GetProperty("chatOnly").GetBoolean());
    }

    [Fact]
    public async Task Availability_OtherOwnerOrNoAuth_IsRefused()
    {
        await using var host = await TestHost.StartAsync();
        var id = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("id").GetString()!;

        await (await host.Client(owner: "mallory").PutAsync($"/api/v1/codes/{id}/availability", Http.Json(new { chatOnly = true })))
            .AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await host.Client(owner: "mallory").GetAsync($"/api/v1/codes/{id}/availability")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await host.Client().GetAsync($"/api/v1/codes/{id}/availability")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Logs_NeverHoldTheCallerKey()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var caller = NewCallerKey();
        var callId = (await (await StartAsync(host.Client(), payload, "audio", caller)).ReadJsonAsync()).GetProperty("callId").GetString()!;
        await alice.PostAsync($"/api/v1/calls/{callId}/block", null);
        await ScanAsync(host.Client(), payload, caller);
        await StartAsync(host.Client(), payload, "audio", caller);
        await ScanAsync(host.Client(), payload, caller[..^1] + "!");

        Assert.Contains("a caller was blocked", host.Logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(caller, host.Logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(caller[..20], host.Logs.AllText, StringComparison.Ordinal);
    }
}
