using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using QrCalling.SampleHost;
using QrCalling.SampleHost.Accounts;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Browser.Tests.Accounts;

/// <summary>Issue 13, owner accounts: profile, password change, sign-out everywhere, refresh rotation, TOTP MFA, the
/// audit log and deletion, over HTTP against the sample host on a FakeTimeProvider (in-memory TestServer).</summary>
public sealed class AccountApiTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private WebApplicationFactory<Program> _factory = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("QrCalling:Sample:AccountPermitsPerMinute", "10000");
            b.ConfigureTestServices(s => s.AddSingleton<TimeProvider>(_time));
        });
        _client = _factory.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _factory.DisposeAsync();
    }

    [Fact]
    public async Task Profile_GetThenPatchDisplayName_IsKept_BadNameIs400()
    {
        var (_, token) = await NewOwnerAsync();

        var profile = await SendJsonAsync(HttpMethod.Get, "/api/v1/account", token, null, HttpStatusCode.OK);
        var patched = await SendJsonAsync(HttpMethod.Patch, "/api/v1/account", token, new { displayName = "  Alice  " }, HttpStatusCode.OK);
        var again = await SendJsonAsync(HttpMethod.Get, "/api/v1/account", token, null, HttpStatusCode.OK);
        using var tooLong = await SendAsync(HttpMethod.Patch, "/api/v1/account", token, new { displayName = new string('x', 65) });
        using var control = await SendAsync(HttpMethod.Patch, "/api/v1/account", token, new { displayName = "a\u0007b" });

        Assert.Equal(JsonValueKind.Null, profile.GetProperty("displayName").ValueKind);
        Assert.False(profile.GetProperty("mfaEnabled").GetBoolean());
        Assert.Equal(_time.GetUtcNow(), profile.GetProperty("createdAt").GetDateTimeOffset());
        Assert.Equal("Alice", patched.GetProperty("displayName").GetString());
        Assert.Equal("Alice", again.GetProperty("displayName").GetString());
        await AssertProblemAsync(tooLong, HttpStatusCode.BadRequest, "invalid_request");
        await AssertProblemAsync(control, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task ChangePassword_NeedsCurrentPassword_RevokesOldTokens_AnswersNewOnes()
    {
        var (user, token) = await NewOwnerAsync();

        using var wrong = await SendAsync(HttpMethod.Post, "/api/v1/account/password", token, new { currentPassword = "not the password", newPassword = "a new password" });
        var changed = await SendJsonAsync(HttpMethod.Post, "/api/v1/account/password", token, new { currentPassword = user.password, newPassword = "a new password" }, HttpStatusCode.OK);
        using var oldToken = await SendAsync(HttpMethod.Get, "/api/v1/account", token);
        using var newToken = await SendAsync(HttpMethod.Get, "/api/v1/account", changed.GetProperty("accessToken").GetString());
        using var oldLogin = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password });
        using var newLogin = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, password = "a new password" });
        using var shortPassword = await SendAsync(HttpMethod.Post, "/api/v1/account/password", changed.GetProperty("accessToken").GetString(),
            new { currentPassword = "a new password", newPassword = "short" });

        await AssertProblemAsync(wrong, HttpStatusCode.Forbidden, "wrong_password");
        Assert.Equal(HttpStatusCode.Unauthorized, oldToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, newToken.StatusCode);
        await AssertProblemAsync(oldLogin, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal(HttpStatusCode.OK, newLogin.StatusCode);
        await AssertProblemAsync(shortPassword, HttpStatusCode.BadRequest, "invalid_request");
        var kinds = await AuditKindsAsync((await ReadJsonAsync(newLogin)).GetProperty("accessToken").GetString()!);
        Assert.Contains("password_changed", kinds);
        Assert.Contains("login_failed", kinds);
    }

    [Fact]
    public async Task SignOutEverywhere_EveryTokenAndRefreshTokenStops_HubConnectionClosedAndRefused()
    {
        var (user, first) = await NewOwnerAsync();
        var second = await LoginAsync(user);
        await using var hub = Hub(first);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Closed += _ => { closed.TrySetResult(); return Task.CompletedTask; };
        await hub.StartAsync();
        await hub.InvokeAsync<JsonElement>("Resume", "call_unknown", 0L).ContinueWith(_ => { }); // OnConnectedAsync has run

        using var signOut = await SendAsync(HttpMethod.Post, "/api/v1/account/sign-out-everywhere", second.GetProperty("accessToken").GetString());
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var firstAfter = await SendAsync(HttpMethod.Get, "/api/v1/account", first);
        using var secondAfter = await SendAsync(HttpMethod.Get, "/api/v1/codes", second.GetProperty("accessToken").GetString());
        using var ticket = await SendAsync(HttpMethod.Post, "/api/v1/hub-tickets", first);
        using var refresh = await _client.PostAsJsonAsync("/api/v1/account/refresh", new { refreshToken = second.GetProperty("refreshToken").GetString() });
        await using var again = Hub(first);
        var refused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        again.Closed += _ => { refused.TrySetResult(); return Task.CompletedTask; };
        if (await Record.ExceptionAsync(() => again.StartAsync()) is not null)
        {
            refused.TrySetResult();
        }
        await refused.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the hub refuses the revoked token at connect
        var fresh = await LoginAsync(user);

        Assert.Equal(HttpStatusCode.NoContent, signOut.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, firstAfter.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, secondAfter.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, ticket.StatusCode);
        await AssertProblemAsync(refresh, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Contains("signed_out_everywhere", await AuditKindsAsync(fresh.GetProperty("accessToken").GetString()!));
    }

    [Fact]
    public async Task Refresh_RotatesOnce_ReuseOfAnOldTokenRevokesTheFamily()
    {
        var (user, _) = await NewOwnerAsync();
        var login = await LoginAsync(user);
        var r1 = login.GetProperty("refreshToken").GetString();

        using var first = await _client.PostAsJsonAsync("/api/v1/account/refresh", new { refreshToken = r1 });
        var rotated = await ReadJsonAsync(first);
        var r2 = rotated.GetProperty("refreshToken").GetString();
        using var works = await SendAsync(HttpMethod.Get, "/api/v1/account", rotated.GetProperty("accessToken").GetString());
        using var reuse = await _client.PostAsJsonAsync("/api/v1/account/refresh", new { refreshToken = r1 });
        using var afterReuse = await _client.PostAsJsonAsync("/api/v1/account/refresh", new { refreshToken = r2 });
        using var garbage = await _client.PostAsJsonAsync("/api/v1/account/refresh", new { refreshToken = "qrt_nothing.x" });
        using var missing = await _client.PostAsJsonAsync("/api/v1/account/refresh", new { });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.NotEqual(r1, r2);
        Assert.True(rotated.GetProperty("refreshExpiresAt").GetDateTimeOffset() > _time.GetUtcNow().AddDays(29));
        Assert.Equal(HttpStatusCode.OK, works.StatusCode);
        await AssertProblemAsync(reuse, HttpStatusCode.Unauthorized, "refresh_reused");
        await AssertProblemAsync(afterReuse, HttpStatusCode.Unauthorized, "unauthorized");
        await AssertProblemAsync(garbage, HttpStatusCode.Unauthorized, "unauthorized");
        await AssertProblemAsync(missing, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Contains("refresh_reused", await AuditKindsAsync(rotated.GetProperty("accessToken").GetString()!));
    }

    [Fact]
    public async Task Refresh_AfterItsLifetime_Refused()
    {
        var (user, _) = await NewOwnerAsync();
        var login = await LoginAsync(user);

        _time.Advance(AccountSecurity.RefreshLifetime + TimeSpan.FromMinutes(1));
        using var late = await _client.PostAsJsonAsync("/api/v1/account/refresh", new { refreshToken = login.GetProperty("refreshToken").GetString() });
        using var expiredAccess = await SendAsync(HttpMethod.Get, "/api/v1/account", login.GetProperty("accessToken").GetString());

        await AssertProblemAsync(late, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal(HttpStatusCode.Unauthorized, expiredAccess.StatusCode);
    }

    [Fact]
    public async Task Mfa_EnrolConfirmLoginWithCode_CodeNotReusable_RecoveryCodeOnce_Disable()
    {
        var (user, token) = await NewOwnerAsync();

        var enrolment = await SendJsonAsync(HttpMethod.Post, "/api/v1/account/mfa/totp", token, null, HttpStatusCode.OK);
        var secret = enrolment.GetProperty("secret").GetString()!;
        var recovery = enrolment.GetProperty("recoveryCodes").EnumerateArray().Select(c => c.GetString()!).ToArray();
        using var wrongConfirm = await SendAsync(HttpMethod.Post, "/api/v1/account/mfa/totp/confirm", token, new { code = OtherCode(secret) });
        using var confirm = await SendAsync(HttpMethod.Post, "/api/v1/account/mfa/totp/confirm", token, new { code = Code(secret) });
        var profile = await SendJsonAsync(HttpMethod.Get, "/api/v1/account", token, null, HttpStatusCode.OK);
        using var enrolAgain = await SendAsync(HttpMethod.Post, "/api/v1/account/mfa/totp", token);

        Assert.Equal(32, secret.Length);
        Assert.Contains("secret=" + secret, enrolment.GetProperty("otpauthUri").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("data:image/svg+xml;base64,", enrolment.GetProperty("qrCode").GetString(), StringComparison.Ordinal);
        Assert.Equal(8, recovery.Length);
        await AssertProblemAsync(wrongConfirm, HttpStatusCode.BadRequest, "mfa_invalid");
        Assert.Equal(HttpStatusCode.NoContent, confirm.StatusCode);
        Assert.True(profile.GetProperty("mfaEnabled").GetBoolean());
        Assert.Equal(8, profile.GetProperty("recoveryCodesLeft").GetInt32());
        await AssertProblemAsync(enrolAgain, HttpStatusCode.Conflict, "mfa_already_enabled");

        // The password alone is not enough now: mfa_required with a ticket for the second step.
        using var passwordOnly = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password });
        var required = await AssertProblemAsync(passwordOnly, HttpStatusCode.Unauthorized, "mfa_required");
        var ticket = required.GetProperty("mfaTicket").GetString();
        // The code used to confirm is spent for its step.
        using var reused = await _client.PostAsJsonAsync("/api/v1/account/login/mfa", new { mfaTicket = ticket, code = Code(secret) });
        await AssertProblemAsync(reused, HttpStatusCode.Unauthorized, "mfa_invalid");
        _time.Advance(TimeSpan.FromSeconds(30));
        using var second = await _client.PostAsJsonAsync("/api/v1/account/login/mfa", new { mfaTicket = ticket, code = Code(secret) });
        using var secondAgain = await _client.PostAsJsonAsync("/api/v1/account/login/mfa", new { mfaTicket = ticket, code = Code(secret) });
        _time.Advance(TimeSpan.FromSeconds(30));
        using var oneStep = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password, totp = Code(secret) });
        using var withRecovery = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password, totp = recovery[3].ToUpperInvariant() });
        using var recoveryAgain = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password, totp = recovery[3] });

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        await AssertProblemAsync(secondAgain, HttpStatusCode.Unauthorized, "mfa_invalid");
        Assert.Equal(HttpStatusCode.OK, oneStep.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withRecovery.StatusCode);
        await AssertProblemAsync(recoveryAgain, HttpStatusCode.Unauthorized, "mfa_invalid");
        var fresh = (await ReadJsonAsync(oneStep)).GetProperty("accessToken").GetString();
        Assert.Equal(7, (await SendJsonAsync(HttpMethod.Get, "/api/v1/account", fresh, null, HttpStatusCode.OK)).GetProperty("recoveryCodesLeft").GetInt32());

        // A ticket is short-lived.
        _time.Advance(SampleTokenIssuer.MfaTicketLifetime + TimeSpan.FromSeconds(1));
        using var lateTicket = await _client.PostAsJsonAsync("/api/v1/account/login/mfa", new { mfaTicket = ticket, code = Code(secret) });
        await AssertProblemAsync(lateTicket, HttpStatusCode.Unauthorized, "mfa_ticket_expired");

        // Turning it off needs the password and a code.
        using var noPassword = await SendAsync(HttpMethod.Delete, "/api/v1/account/mfa/totp", fresh, new { password = "wrong password", totp = Code(secret) });
        using var noCode = await SendAsync(HttpMethod.Delete, "/api/v1/account/mfa/totp", fresh, new { user.password });
        using var off = await SendAsync(HttpMethod.Delete, "/api/v1/account/mfa/totp", fresh, new { user.password, totp = Code(secret) });
        using var plainLogin = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password });
        await AssertProblemAsync(noPassword, HttpStatusCode.Forbidden, "wrong_password");
        await AssertProblemAsync(noCode, HttpStatusCode.Forbidden, "mfa_required");
        Assert.Equal(HttpStatusCode.NoContent, off.StatusCode);
        Assert.Equal(HttpStatusCode.OK, plainLogin.StatusCode);
        var kinds = await AuditKindsAsync(fresh!);
        Assert.Contains("mfa_enabled", kinds);
        Assert.Contains("mfa_disabled", kinds);
        Assert.Contains("mfa_failed", kinds);
        Assert.Contains("recovery_code_used", kinds);
    }

    [Fact]
    public async Task Mfa_FiveWrongCodes_LocksEvenTheRightOne_UntilTheWindowPasses()
    {
        var (user, token) = await NewOwnerAsync();
        var secret = await EnableMfaAsync(token);
        _time.Advance(TimeSpan.FromSeconds(30));

        for (var i = 0; i < AccountSecurity.MfaFailuresAllowed; i++)
        {
            using var wrong = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password, totp = OtherCode(secret) });
            await AssertProblemAsync(wrong, HttpStatusCode.Unauthorized, "mfa_invalid");
        }
        using var locked = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password, totp = Code(secret) });
        _time.Advance(AccountSecurity.MfaWindow);
        using var later = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password, totp = Code(secret) });

        await AssertProblemAsync(locked, HttpStatusCode.TooManyRequests, "mfa_locked");
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }

    [Fact]
    public async Task Audit_FailedLogins_OwnerSeesThemWithAKeyedClientHash_OthersDoNot()
    {
        var (user, token) = await NewOwnerAsync();
        var (_, otherToken) = await NewOwnerAsync();
        using var failed = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, password = "not the password" });

        var log = await SendJsonAsync(HttpMethod.Get, "/api/v1/account/audit", token, null, HttpStatusCode.OK);
        var others = await SendJsonAsync(HttpMethod.Get, "/api/v1/account/audit", otherToken, null, HttpStatusCode.OK);
        var issuer = _factory.Services.GetRequiredService<SampleTokenIssuer>();
        var hash = issuer.ClientHash(IPAddress.Parse("203.0.113.7"));

        var entry = Assert.Single(log.GetProperty("entries").EnumerateArray());
        Assert.Equal("login_failed", entry.GetProperty("kind").GetString());
        Assert.Empty(others.GetProperty("entries").EnumerateArray());
        Assert.DoesNotContain(user.username, log.GetRawText(), StringComparison.Ordinal);
        Assert.Matches("^[0-9a-f]{16}$", hash);
        Assert.DoesNotContain("203", hash, StringComparison.Ordinal);
        Assert.Equal(hash, issuer.ClientHash(IPAddress.Parse("::ffff:203.0.113.7")));
        Assert.NotEqual(hash, issuer.ClientHash(IPAddress.Parse("203.0.113.8")));
    }

    [Fact]
    public async Task DeleteAccount_WithPassword_ErasesAccountCodesAndCalls_LoginFails_CodeUnavailable()
    {
        var (user, token) = await NewOwnerAsync();
        var code = await SendJsonAsync(HttpMethod.Post, "/api/v1/codes", token, new { label = "Blue van", media = new[] { "audio", "chat" } }, HttpStatusCode.Created);
        var payload = code.GetProperty("payload").GetString();
        var call = await SendJsonAsync(HttpMethod.Post, "/api/v1/calls", null, new { payload, media = "audio" }, HttpStatusCode.Created);
        var storage = _factory.Services.GetRequiredService<IStorage>();
        var ownerId = (await _factory.Services.GetRequiredService<IAccountStore>().FindAsync(user.username, default))!.Id;

        using var wrong = await SendAsync(HttpMethod.Delete, "/api/v1/account", token, new { password = "not the password" });
        using var deleted = await SendAsync(HttpMethod.Delete, "/api/v1/account", token, new { user.password });
        using var login = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password });
        using var scan = await _client.PostAsJsonAsync("/api/v1/scan", new { payload });
        using var oldToken = await SendAsync(HttpMethod.Get, "/api/v1/codes", token);

        await AssertProblemAsync(wrong, HttpStatusCode.Forbidden, "wrong_password");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await AssertProblemAsync(login, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal("unavailable", (await ReadJsonAsync(scan)).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, oldToken.StatusCode);
        await foreach (var _ in storage.Codes.ListByOwnerAsync(ownerId, default))
        {
            Assert.Fail("a code is left");
        }
        await foreach (var _ in storage.Calls.ListByOwnerAsync(ownerId, 10, null, default))
        {
            Assert.Fail("a call is left");
        }
        Assert.Null(await storage.Calls.GetAsync(call.GetProperty("callId").GetString()!, default));
        Assert.Null(await _factory.Services.GetRequiredService<IAccountStore>().FindByIdAsync(ownerId, default));
    }

    [Fact]
    public async Task DeleteAccount_WithMfa_NeedsTheCode()
    {
        var (user, token) = await NewOwnerAsync();
        var secret = await EnableMfaAsync(token);
        _time.Advance(TimeSpan.FromSeconds(30));

        using var noCode = await SendAsync(HttpMethod.Delete, "/api/v1/account", token, new { user.password });
        using var wrongCode = await SendAsync(HttpMethod.Delete, "/api/v1/account", token, new { user.password, totp = OtherCode(secret) });
        using var deleted = await SendAsync(HttpMethod.Delete, "/api/v1/account", token, new { user.password, totp = Code(secret) });

        await AssertProblemAsync(noCode, HttpStatusCode.Forbidden, "mfa_required");
        await AssertProblemAsync(wrongCode, HttpStatusCode.Forbidden, "mfa_invalid");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
    }

    [Fact]
    public async Task Start_BadJwtIssuerOrAudience_PrintsOneLineNamingTheKey()
    {
        foreach (var (setting, key) in new[] { ("--QrCalling:Sample:JwtIssuer=has space", "QrCalling:Sample:JwtIssuer"), ("--QrCalling:Sample:JwtAudience=", "QrCalling:Sample:JwtAudience") })
        {
            using var error = new StringWriter();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var exitCode = await SampleHostApp.RunAsync(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=None", setting], error, timeout.Token);

            Assert.Equal(1, exitCode);
            Assert.Contains(key, Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task JwtIssuerAndAudience_Configured_TokensCarryThem_OthersRefused()
    {
        await using var custom = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("QrCalling:Sample:JwtIssuer", "https://id.example.test");
            b.UseSetting("QrCalling:Sample:JwtAudience", "qrcalling-owners");
            b.UseSetting("QrCalling:Sample:JwtKey", new string('k', 40));
        });
        await using var plain = new WebApplicationFactory<Program>().WithWebHostBuilder(b => b.UseSetting("QrCalling:Sample:JwtKey", new string('k', 40)));
        using var customClient = custom.CreateClient();
        using var plainClient = plain.CreateClient();
        var user = new { username = NewName(), password = "correct horse battery" };
        (await customClient.PostAsJsonAsync("/api/v1/account/register", user)).EnsureSuccessStatusCode();
        (await plainClient.PostAsJsonAsync("/api/v1/account/register", user)).EnsureSuccessStatusCode();
        using var login = await customClient.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password });
        var token = (await ReadJsonAsync(login)).GetProperty("accessToken").GetString()!;
        var jwt = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/codes");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var own = await customClient.SendAsync(request);
        using var elsewhere = new HttpRequestMessage(HttpMethod.Get, "/api/v1/codes");
        elsewhere.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var other = await plainClient.SendAsync(elsewhere);

        Assert.Equal("https://id.example.test", jwt.Issuer);
        Assert.Equal(["qrcalling-owners"], jwt.Audiences);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode); // same key, another issuer and audience
    }

    // ---- helpers ----

    internal static string NewName() => "u" + Guid.NewGuid().ToString("N")[..12];

    private string Code(string secret) => Totp.Compute(Base32.Decode(secret), Totp.StepAt(_time.GetUtcNow()));

    /// <summary>A 6-digit code that is none of the three accepted ones.</summary>
    private string OtherCode(string secret)
    {
        var step = Totp.StepAt(_time.GetUtcNow());
        var valid = Enumerable.Range(-1, 3).Select(d => Totp.Compute(Base32.Decode(secret), step + d)).ToHashSet();
        return Enumerable.Range(0, 10).Select(i => $"{i}{i}{i}{i}{i}{i}").First(c => !valid.Contains(c));
    }

    private async Task<string> EnableMfaAsync(string token)
    {
        var enrolment = await SendJsonAsync(HttpMethod.Post, "/api/v1/account/mfa/totp", token, null, HttpStatusCode.OK);
        var secret = enrolment.GetProperty("secret").GetString()!;
        using var confirm = await SendAsync(HttpMethod.Post, "/api/v1/account/mfa/totp/confirm", token, new { code = Code(secret) });
        Assert.Equal(HttpStatusCode.NoContent, confirm.StatusCode);
        return secret;
    }

    private async Task<((string username, string password) user, string token)> NewOwnerAsync()
    {
        var user = (username: NewName(), password: "correct horse battery");
        using var register = await _client.PostAsJsonAsync("/api/v1/account/register", new { user.username, user.password });
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        return (user, (await LoginAsync(user)).GetProperty("accessToken").GetString()!);
    }

    private async Task<JsonElement> LoginAsync((string username, string password) user)
    {
        using var login = await _client.PostAsJsonAsync("/api/v1/account/login", new { user.username, user.password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return await ReadJsonAsync(login);
    }

    private async Task<string[]> AuditKindsAsync(string token) =>
        [.. (await SendJsonAsync(HttpMethod.Get, "/api/v1/account/audit", token, null, HttpStatusCode.OK)).GetProperty("entries").EnumerateArray()
            .Select(e => e.GetProperty("kind").GetString()!)];

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

    private HubConnection Hub(string token) => new HubConnectionBuilder()
        .WithUrl(new Uri(_factory.Server.BaseAddress, SampleHostApp.HubPath + "?deviceId=test-device&access_token=" + Uri.EscapeDataString(token)), o =>
        {
            o.Transports = HttpTransportType.WebSockets;
            o.SkipNegotiation = true;
            o.WebSocketFactory = async (context, cancellationToken) =>
                await _factory.Server.CreateWebSocketClient().ConnectAsync(context.Uri, cancellationToken);
        })
        .Build();
}
