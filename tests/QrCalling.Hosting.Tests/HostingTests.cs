using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

public sealed class HostingTests
{
    [Fact]
    public async Task SweepService_RingTimeoutPasses_EndsCallAsMissedForBothSides()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(core: o => o.SweepInterval = TimeSpan.FromSeconds(1), time: time);
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "tablet");
        var started = await host.Client().StartCallAsync(payload, "audio");
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: started.GetProperty("callToken").GetString());
        await device.WaitForAsync("IncomingCall");
        var deadline = Environment.TickCount64 + 5000;
        while (!caller.Of("CallEnded").Any() && Environment.TickCount64 < deadline)
        {
            time.Advance(TimeSpan.FromSeconds(5)); // past the 30 s ring timeout within a few ticks
            await Task.Delay(20);
        }
        Assert.Equal("missed", (await caller.WaitForAsync("CallEnded")).GetProperty("reason").GetString());
        Assert.Equal("missed", (await device.WaitForAsync("CallEnded")).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Cors_AllowListedOrigin_GetsHeadersOthersDoNot()
    {
        await using var host = await TestHost.StartAsync(hosting: o => o.CorsOrigins.Add("https://app.example.org"));
        foreach (var (origin, allowed) in new[] { ("https://app.example.org", true), ("https://evil.example.net", false) })
        {
            var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/v1/scan");
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
            var response = await host.Client().SendAsync(preflight);
            Assert.Equal(allowed, response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) && values.Single() == origin);
        }
    }

    [Fact]
    public async Task OwnerAuthenticationSchemes_NonDefaultScheme_IdentifiesOwnersAndLetsCallersThrough()
    {
        await using var host = await TestHost.StartAsync(
            hosting: o => o.OwnerAuthenticationSchemes.Add("Owners"),
            configure: b => b.Services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, HeaderHandler>("Owners", null));
        var owner = host.Client();
        owner.DefaultRequestHeaders.Add("X-Owner-Scheme", "carol");
        var payload = (await owner.IssueCodeAsync()).GetProperty("payload").GetString()!;
        Assert.Single((await (await owner.GetAsync("/api/v1/codes")).ReadJsonAsync()).EnumerateArray());
        await (await host.Client().GetAsync("/api/v1/codes")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        var started = await host.Client().StartCallAsync(payload, "audio");
        var status = await host.Client(bearer: started.GetProperty("callToken").GetString()).GetAsync($"/api/v1/calls/{started.GetProperty("callId").GetString()}");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
    }

    private sealed class HeaderHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var owner = Request.Headers["X-Owner-Scheme"].ToString();
            return Task.FromResult(owner.Length == 0
                ? AuthenticateResult.NoResult()
                : AuthenticateResult.Success(new AuthenticationTicket(
                    new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, owner)], "Owners")), "Owners")));
        }
    }
}
