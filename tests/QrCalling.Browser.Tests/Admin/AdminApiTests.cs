using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Browser.Tests.Accounts;
using QrCalling.Calls;
using QrCalling.SampleHost.Admin;
using Xunit;

namespace QrCalling.Browser.Tests.Admin;

/// <summary>Issue 13, admin console: admin-only routes, the dashboard's counts, runtime settings (maintenance mode enforced
/// by the library, call duration, registration, feedback), feedback and waitlist, the analytics export and the
/// operations log, over HTTP against the sample host on a FakeTimeProvider (in-memory TestServer).</summary>
public sealed class AdminApiTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 5, 4, 10, 20, 0, TimeSpan.Zero));
    private readonly string _adminName = AccountApiTests.NewName();
    private WebApplicationFactory<Program> _factory = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _factory = NewFactory("10000");
        _client = _factory.CreateClient();
        return Task.CompletedTask;
    }

    private WebApplicationFactory<Program> NewFactory(string publicPermits) => new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
    {
        b.UseSetting("QrCalling:Sample:AccountPermitsPerMinute", "10000");
        b.UseSetting("QrCalling:Sample:PublicPermitsPerMinute", publicPermits);
        b.UseSetting("QrCalling:Sample:Admins", "someone-else, " + _adminName);
        // These tests are about the console; Console_AdminWithoutTwoStep_… covers the default that requires it.
        b.UseSetting("QrCalling:Sample:AdminsRequireTwoStep", "false");
        // The fake clock jumps by days (retention): at the default 5 s the call and message sweeps' periodic timers
        // would fire about 1.5 million times per 91 days.
        b.UseSetting("QrCalling:SweepInterval", "01:00:00");
        b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(_time));
    });

    [Fact]
    public async Task Console_AdminWithoutTwoStep_Is403AdminMfaRequired_UntilItIsOn()
    {
        await using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("QrCalling:Sample:AccountPermitsPerMinute", "10000");
            b.UseSetting("QrCalling:Sample:Admins", _adminName);
            b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(_time));
        });
        using var client = factory.CreateClient();
        var user = new { username = _adminName, password = "correct horse battery" };
        using (var register = await client.PostAsJsonAsync("/api/v1/account/register", user))
        {
            Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        }
        using var login = await client.PostAsJsonAsync("/api/v1/account/login", user);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await ReadJsonAsync(login)).GetProperty("accessToken").GetString());

        using var closed = await client.GetAsync("/api/v1/admin/stats");
        await AssertProblemAsync(closed, HttpStatusCode.Forbidden, "admin_mfa_required");
        using var closedSettings = await client.PutAsJsonAsync("/api/v1/admin/settings", new { maintenanceMode = true });
        await AssertProblemAsync(closedSettings, HttpStatusCode.Forbidden, "admin_mfa_required");

        using var enrol = await client.PostAsync("/api/v1/account/mfa/totp", null);
        var secret = (await ReadJsonAsync(enrol)).GetProperty("secret").GetString()!;
        var code = QrCalling.SampleHost.Accounts.Totp.Compute(QrCalling.SampleHost.Accounts.Base32.Decode(secret),
            QrCalling.SampleHost.Accounts.Totp.StepAt(_time.GetUtcNow()));
        using var confirm = await client.PostAsJsonAsync("/api/v1/account/mfa/totp/confirm", new { code });
        Assert.Equal(HttpStatusCode.NoContent, confirm.StatusCode);

        using var open = await client.GetAsync("/api/v1/admin/stats");
        Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        Assert.False((await factory.Services.GetRequiredService<AdminRuntime>().GetSettingsAsync(default)).MaintenanceMode);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task Stats_Admin200_OtherOwner403_Anonymous401()
    {
        var admin = await SignInAsync(_adminName);
        var owner = await SignInAsync(AccountApiTests.NewName());

        var stats = await SendJsonAsync(HttpMethod.Get, "/api/v1/admin/stats", admin, null, HttpStatusCode.OK);
        using var forbidden = await SendAsync(HttpMethod.Get, "/api/v1/admin/stats", owner);
        using var anonymous = await SendAsync(HttpMethod.Get, "/api/v1/admin/stats", null);
        using var settingsForbidden = await SendAsync(HttpMethod.Put, "/api/v1/admin/settings", owner, new { maintenanceMode = true });

        Assert.Equal(0, stats.GetProperty("activeCalls").GetInt64());
        Assert.True(stats.GetProperty("settings").GetProperty("registrationOpen").GetBoolean());
        await AssertProblemAsync(forbidden, HttpStatusCode.Forbidden, "admin_required");
        await AssertProblemAsync(anonymous, HttpStatusCode.Unauthorized, "unauthorized");
        await AssertProblemAsync(settingsForbidden, HttpStatusCode.Forbidden, "admin_required");
        Assert.False((await _factory.Services.GetRequiredService<AdminRuntime>().GetSettingsAsync(default)).MaintenanceMode);
    }

    [Fact]
    public async Task Stats_CountCodesScansCallsEndsSetupTimeAndHubConnections_FromTheMeter()
    {
        var admin = await SignInAsync(_adminName);
        var owner = await SignInAsync(AccountApiTests.NewName());
        var payload = await NewCodeAsync(owner);
        await _client.PostAsJsonAsync("/api/v1/scan", new { payload });
        await _client.PostAsJsonAsync("/api/v1/scan", new { payload = "pqc:1:nonsense" });
        var call = await SendJsonAsync(HttpMethod.Post, "/api/v1/calls", null, new { payload, media = "chat" }, HttpStatusCode.Created);
        var callId = call.GetProperty("callId").GetString()!;
        var callToken = call.GetProperty("callToken").GetString()!;
        var ringing = await SendJsonAsync(HttpMethod.Get, "/api/v1/admin/stats", admin, null, HttpStatusCode.OK);
        var calls = _factory.Services.GetRequiredService<CallService>();
        var ownerId = (await _factory.Services.GetRequiredService<QrCalling.SampleHost.Accounts.IAccountStore>().FindAsync(owner.Name, default))!.Id;
        _time.Advance(TimeSpan.FromSeconds(3));
        var accepted = await calls.AcceptAsync(CallActor.OwnerDevice(ownerId, "d1"), callId, default);
        var during = await SendJsonAsync(HttpMethod.Get, "/api/v1/admin/stats", admin, null, HttpStatusCode.OK);
        var hangup = await calls.HangupAsync((await calls.AuthenticateCallerAsync(callToken, default))!, callId, default);

        var after = await SendJsonAsync(HttpMethod.Get, "/api/v1/admin/stats", admin, null, HttpStatusCode.OK);

        Assert.Equal(1, after.GetProperty("codesIssued").GetInt64());
        Assert.Equal(2, after.GetProperty("scans").GetProperty("ok").GetInt64()); // the scan and the call start
        Assert.Equal(1, after.GetProperty("scans").GetProperty("malformed").GetInt64());
        Assert.Equal(1, after.GetProperty("callsStarted").GetProperty("chat").GetInt64());
        Assert.Equal(0, ringing.GetProperty("activeCalls").GetInt64()); // active: accepted and not ended
        Assert.Equal(1, during.GetProperty("activeCalls").GetInt64());
        Assert.True(accepted.IsSuccess && hangup.IsSuccess);
        Assert.Equal(1, after.GetProperty("callsEnded").GetProperty("hangup").GetInt64());
        Assert.Equal(0, after.GetProperty("activeCalls").GetInt64());
        var setup = after.GetProperty("setupTime");
        Assert.Equal(1, setup.GetProperty("count").GetInt64());
        Assert.Equal(3.0, setup.GetProperty("sumSeconds").GetDouble());
        Assert.Equal([0L, 0, 1, 0, 0, 0, 0, 0], setup.GetProperty("buckets").EnumerateArray().Select(b => b.GetProperty("count").GetInt64()));
        Assert.Equal(JsonValueKind.Null, setup.GetProperty("buckets")[7].GetProperty("leSeconds").ValueKind);
        Assert.DoesNotContain(callToken, after.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(callId, after.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Maintenance_On_NewCallsAre503Maintenance_RunningCallGoesOn_Off_Restores()
    {
        var admin = await SignInAsync(_adminName);
        var owner = await SignInAsync(AccountApiTests.NewName());
        var payload = await NewCodeAsync(owner);
        var running = await SendJsonAsync(HttpMethod.Post, "/api/v1/calls", null, new { payload, media = "chat" }, HttpStatusCode.Created);
        var runningId = running.GetProperty("callId").GetString();
        var runningToken = running.GetProperty("callToken").GetString();

        var on = await SendJsonAsync(HttpMethod.Put, "/api/v1/admin/settings", admin, new { maintenanceMode = true }, HttpStatusCode.OK);
        using var refused = await _client.PostAsJsonAsync("/api/v1/calls", new { payload, media = "chat" });
        using var stillThere = await SendAsync(HttpMethod.Get, $"/api/v1/calls/{runningId}", runningToken);
        var calls = _factory.Services.GetRequiredService<CallService>();
        var hangup = await calls.HangupAsync((await calls.AuthenticateCallerAsync(runningToken, default))!, runningId!, default);
        var off = await SendJsonAsync(HttpMethod.Put, "/api/v1/admin/settings", admin, new { maintenanceMode = false }, HttpStatusCode.OK);
        using var again = await _client.PostAsJsonAsync("/api/v1/calls", new { payload, media = "chat" });

        Assert.True(on.GetProperty("maintenanceMode").GetBoolean());
        await AssertProblemAsync(refused, HttpStatusCode.ServiceUnavailable, "maintenance");
        Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);
        Assert.True(hangup.IsSuccess, hangup.Error?.Code); // the running call went on and ended normally
        Assert.False(off.GetProperty("maintenanceMode").GetBoolean());
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
    }

    [Fact]
    public async Task MaxCallDuration_Set_ShortensNewCalls_ZeroRestoresTheHostMaximum_OutOfRangeIs400()
    {
        var admin = await SignInAsync(_adminName);
        var payload = await NewCodeAsync(await SignInAsync(AccountApiTests.NewName()));

        var set = await SendJsonAsync(HttpMethod.Put, "/api/v1/admin/settings", admin, new { maxCallDurationMinutes = 5 }, HttpStatusCode.OK);
        var shortCall = await SendJsonAsync(HttpMethod.Post, "/api/v1/calls", null, new { payload, media = "chat" }, HttpStatusCode.Created);
        var reset = await SendJsonAsync(HttpMethod.Put, "/api/v1/admin/settings", admin, new { maxCallDurationMinutes = 0 }, HttpStatusCode.OK);
        var normalCall = await SendJsonAsync(HttpMethod.Post, "/api/v1/calls", null, new { payload, media = "chat" }, HttpStatusCode.Created);
        using var tooLong = await SendAsync(HttpMethod.Put, "/api/v1/admin/settings", admin, new { maxCallDurationMinutes = 100_000 });
        using var notJson = await SendRawAsync(HttpMethod.Put, "/api/v1/admin/settings", admin, "{maintenanceMode:", "application/json");

        Assert.Equal(5, set.GetProperty("maxCallDurationMinutes").GetInt32());
        Assert.Equal(_time.GetUtcNow().AddMinutes(5), shortCall.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, reset.GetProperty("maxCallDurationMinutes").ValueKind);
        Assert.Equal(_time.GetUtcNow().AddHours(2), normalCall.GetProperty("expiresAt").GetDateTimeOffset()); // QrCalling:MaxCallDuration's default
        await AssertProblemAsync(tooLong, HttpStatusCode.BadRequest, "invalid_request");
        await AssertProblemAsync(notJson, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Registration_Closed_RegisterIs403RegistrationClosed_Reopened_Works_SettingsPersistInTheStore()
    {
        var admin = await SignInAsync(_adminName);

        await SendJsonAsync(HttpMethod.Put, "/api/v1/admin/settings", admin, new { registrationOpen = false }, HttpStatusCode.OK);
        using var closed = await _client.PostAsJsonAsync("/api/v1/account/register", new { username = AccountApiTests.NewName(), password = "correct horse battery" });
        var stored = await _factory.Services.GetRequiredService<IAdminStore>().GetSettingsAsync(default);
        await SendJsonAsync(HttpMethod.Put, "/api/v1/admin/settings", admin, new { registrationOpen = true }, HttpStatusCode.OK);
        using var open = await _client.PostAsJsonAsync("/api/v1/account/register", new { username = AccountApiTests.NewName(), password = "correct horse battery" });

        await AssertProblemAsync(closed, HttpStatusCode.Forbidden, "registration_closed");
        Assert.False(stored.RegistrationOpen);
        Assert.Equal(HttpStatusCode.Created, open.StatusCode);
    }

    [Fact]
    public async Task Feedback_Anyone201_AdminLists_ContactEmptyByDefault_CapsAndSwitch()
    {
        var admin = await SignInAsync(_adminName);

        using var plain = await _client.PostAsJsonAsync("/api/v1/feedback", new { message = "  Works well  " });
        using var withContact = await _client.PostAsJsonAsync("/api/v1/feedback", new { message = "Please call back", contact = "me@example.com" });
        using var empty = await _client.PostAsJsonAsync("/api/v1/feedback", new { message = "   " });
        using var tooLong = await _client.PostAsJsonAsync("/api/v1/feedback", new { message = new string('x', AdminLimits.FeedbackMessageMax + 1) });
        using var tooBig = await _client.PostAsync("/api/v1/feedback", new StringContent(
            JsonSerializer.Serialize(new { message = "x", padding = new string('y', AdminEndpoints.PublicBodyMax) }), Encoding.UTF8, "application/json"));
        var list = await SendJsonAsync(HttpMethod.Get, "/api/v1/admin/feedback", admin, null, HttpStatusCode.OK);
        await SendJsonAsync(HttpMethod.Put, "/api/v1/admin/settings", admin, new { feedbackEnabled = false }, HttpStatusCode.OK);
        using var closed = await _client.PostAsJsonAsync("/api/v1/feedback", new { message = "anyone there?" });
        var firstId = list[0].GetProperty("id").GetString();
        using var deleted = await SendAsync(HttpMethod.Delete, "/api/v1/admin/feedback/" + firstId, admin);
        using var deletedAgain = await SendAsync(HttpMethod.Delete, "/api/v1/admin/feedback/" + firstId, admin);

        Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
        Assert.Equal(HttpStatusCode.Created, withContact.StatusCode);
        await AssertProblemAsync(empty, HttpStatusCode.BadRequest, "invalid_request");
        await AssertProblemAsync(tooLong, HttpStatusCode.BadRequest, "invalid_request");
        await AssertProblemAsync(tooBig, HttpStatusCode.RequestEntityTooLarge, "too_large");
        Assert.Equal(["Please call back", "Works well"], list.EnumerateArray().Select(f => f.GetProperty("message").GetString()));
        Assert.Equal("me@example.com", list[0].GetProperty("contact").GetString());
        Assert.Equal(JsonValueKind.Null, list[1].GetProperty("contact").ValueKind);
        await AssertProblemAsync(closed, HttpStatusCode.Forbidden, "feedback_closed");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await AssertProblemAsync(deletedAgain, HttpStatusCode.NotFound, "not_found");
    }

    [Fact]
    public async Task Waitlist_Anyone201_EvenTwice_AdminListsAndDeletes_RetentionSweepDeletesOld()
    {
        await SignInAsync(_adminName);

        using var first = await _client.PostAsJsonAsync("/api/v1/waitlist", new { email = "ann@example.com" });
        using var twice = await _client.PostAsJsonAsync("/api/v1/waitlist", new { email = "ANN@example.com" });
        using var bad = await _client.PostAsJsonAsync("/api/v1/waitlist", new { email = "not an address" });
        _time.Advance(TimeSpan.FromDays(60));
        using var second = await _client.PostAsJsonAsync("/api/v1/waitlist", new { email = "bob@example.com" });
        var list = await SendJsonAsync(HttpMethod.Get, "/api/v1/admin/waitlist", await LoginAsync(_adminName), null, HttpStatusCode.OK);
        _time.Advance(TimeSpan.FromDays(31)); // ann's address is 91 days old, bob's 31 (retention: 90 days)
        var admin = await LoginAsync(_adminName); // access tokens last 12 hours
        // The host's background service may run the sweep first on this clock jump; either way ann's address goes.
        await _factory.Services.GetRequiredService<AdminRetention>().SweepAsync(default);
        var sweptAgain = await _factory.Services.GetRequiredService<AdminRetention>().SweepAsync(default);
        var afterSweep = await SendJsonAsync(HttpMethod.Get, "/api/v1/admin/waitlist", admin, null, HttpStatusCode.OK);
        using var deleted = await SendAsync(HttpMethod.Delete, "/api/v1/admin/waitlist/" + afterSweep[0].GetProperty("id").GetString(), admin);
        var empty = await SendJsonAsync(HttpMethod.Get, "/api/v1/admin/waitlist", admin, null, HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, twice.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        await AssertProblemAsync(bad, HttpStatusCode.BadRequest, "invalid_request");
        Assert.Equal(["bob@example.com", "ann@example.com"], list.EnumerateArray().Select(w => w.GetProperty("email").GetString()));
        Assert.Equal(0, sweptAgain.Waitlist); // nothing left past its retention
        Assert.Equal(["bob@example.com"], afterSweep.EnumerateArray().Select(w => w.GetProperty("email").GetString()));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(0, empty.GetArrayLength());
    }

    [Fact]
    public async Task FeedbackAndWaitlist_OverThePerClientLimit_Are429RateLimited()
    {
        await using var factory = NewFactory("3");
        using var client = factory.CreateClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await client.PostAsJsonAsync("/api/v1/feedback", new { message = "hello " + i });
            statuses.Add(response.StatusCode);
        }
        using var waitlist = await client.PostAsJsonAsync("/api/v1/waitlist", new { email = "ann@example.com" });

        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.TooManyRequests], statuses);
        await AssertProblemAsync(waitlist, HttpStatusCode.TooManyRequests, "rate_limited");
    }

    [Fact]
    public async Task Analytics_ExportJsonAndCsv_CountsPerHourAndOutcome_NoIdentifiers_OffStopsCounting()
    {
        var admin = await SignInAsync(_adminName);
        var owner = await SignInAsync(AccountApiTests.NewName());
        var payload = await NewCodeAsync(owner);
        await _client.PostAsJsonAsync("/api/v1/scan", new { payload });
        var call = await SendJsonAsync(HttpMethod.Post, "/api/v1/calls", null, new { payload, media = "chat" }, HttpStatusCode.Created);

        var json = await SendJsonAsync(HttpMethod.Get, "/api/v1/admin/analytics", admin, null, HttpStatusCode.OK);
        using var csv = await SendAsync(HttpMethod.Get, "/api/v1/admin/analytics?format=csv&hours=24", admin);
        var csvText = await csv.Content.ReadAsStringAsync();
        await SendJsonAsync(HttpMethod.Put, "/api/v1/admin/settings", admin, new { analyticsEnabled = false }, HttpStatusCode.OK);
        await _client.PostAsJsonAsync("/api/v1/scan", new { payload });
        var off = await SendJsonAsync(HttpMethod.Get, "/api/v1/admin/analytics", admin, null, HttpStatusCode.OK);
        using var badHours = await SendAsync(HttpMethod.Get, "/api/v1/admin/analytics?hours=abc", admin);
        using var badFormat = await SendAsync(HttpMethod.Get, "/api/v1/admin/analytics?format=xml", admin);

        var hour = "2026-05-04T10:00:00Z";
        Assert.Contains(json.GetProperty("buckets").EnumerateArray(), b =>
            b.GetProperty("metric").GetString() == "scans" && b.GetProperty("outcome").GetString() == "ok" && b.GetProperty("count").GetInt64() == 2
            && b.GetProperty("hour").GetDateTimeOffset() == DateTimeOffset.Parse(hour, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("hour,metric,outcome,count\n", csvText, StringComparison.Ordinal);
        Assert.Contains($"{hour},scans,ok,2\n", csvText, StringComparison.Ordinal);
        Assert.Contains($"{hour},calls_started,chat,1\n", csvText, StringComparison.Ordinal);
        Assert.Equal(2, off.GetProperty("buckets").EnumerateArray().Single(b => b.GetProperty("metric").GetString() == "scans" && b.GetProperty("outcome").GetString() == "ok")
            .GetProperty("count").GetInt64());
        var ownerId = (await _factory.Services.GetRequiredService<QrCalling.SampleHost.Accounts.IAccountStore>().FindAsync(owner.Name, default))!.Id;
        foreach (var secret in new[] { payload, call.GetProperty("callId").GetString()!, call.GetProperty("callToken").GetString()!, call.GetProperty("callerId").GetString()!, ownerId, owner.Name })
        {
            Assert.DoesNotContain(secret, json.ToString(), StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(secret, csvText, StringComparison.OrdinalIgnoreCase);
        }
        await AssertProblemAsync(badHours, HttpStatusCode.BadRequest, "invalid_request");
        await AssertProblemAsync(badFormat, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task OpsLog_ShowsRecentWarnings_ScrubbedOfTokensAddressesAndIds_AdminOnly()
    {
        var admin = await SignInAsync(_adminName);
        var owner = await SignInAsync(AccountApiTests.NewName());
        var logger = _factory.Services.GetRequiredService<ILoggerFactory>().CreateLogger("QrCalling.Tests.Ops");
        const string Token = "qct_Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA";
#pragma warning disable CA1848, CA2254 // a test writes a raw message on purpose: it is what a careless log line would hold
        logger.LogWarning($"Relay failed for {Token} from 203.0.113.7 and 2001:db8::1 on call c_4f5a6b7c8d9e0f1a owner u_0123456789abcdef0123456789abcdef");
        logger.LogInformation("not kept: information");
#pragma warning restore CA1848, CA2254

        var entries = await SendJsonAsync(HttpMethod.Get, "/api/v1/admin/ops-log", admin, null, HttpStatusCode.OK);
        using var forbidden = await SendAsync(HttpMethod.Get, "/api/v1/admin/ops-log", owner.Token);

        var entry = entries.EnumerateArray().First(e => e.GetProperty("category").GetString() == "QrCalling.Tests.Ops");
        var message = entry.GetProperty("message").GetString()!;
        Assert.Equal("Warning", entry.GetProperty("level").GetString());
        Assert.Equal("Relay failed for [token] from [ip] and [ip] on call [id] owner [id]", message);
        Assert.DoesNotContain(entries.EnumerateArray(), e => e.GetProperty("message").GetString()!.Contains("not kept", StringComparison.Ordinal));
        await AssertProblemAsync(forbidden, HttpStatusCode.Forbidden, "admin_required");
    }

    private sealed record Owner(string Name, string Token)
    {
        public static implicit operator string(Owner owner) => owner.Token;
    }

    private async Task<Owner> SignInAsync(string name)
    {
        using var register = await _client.PostAsJsonAsync("/api/v1/account/register", new { username = name, password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        return new Owner(name, await LoginAsync(name));
    }

    private async Task<string> LoginAsync(string name)
    {
        using var login = await _client.PostAsJsonAsync("/api/v1/account/login", new { username = name, password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return (await ReadJsonAsync(login)).GetProperty("accessToken").GetString()!;
    }

    private async Task<string> NewCodeAsync(string token) =>
        (await SendJsonAsync(HttpMethod.Post, "/api/v1/codes", token, new { label = "Blue van", media = new[] { "audio", "chat" } }, HttpStatusCode.Created))
            .GetProperty("payload").GetString()!;

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        return await _client.SendAsync(request);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, string? token, string body, string contentType)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await _client.SendAsync(request);
    }

    private async Task<JsonElement> SendJsonAsync(HttpMethod method, string path, string? token, object? body, HttpStatusCode expected)
    {
        using var response = await SendAsync(method, path, token, body);
        var json = await ReadJsonAsync(response);
        Assert.True(expected == response.StatusCode, $"{method} {path}: {response.StatusCode} {json}");
        return json;
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var json = await ReadJsonAsync(response);
        Assert.True(status == response.StatusCode, $"{response.StatusCode} {json}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(code, json.GetProperty("code").GetString());
        return json;
    }
}
