using System.Collections.Concurrent;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>The sample's pages send a strict Content-Security-Policy (same origin only, no inline scripts) and the other
/// security headers, /scalar and /openapi included; in Chromium a page load requests nothing from another origin, breaks
/// no policy, and SignalR's WebSocket connects under <c>connect-src 'self'</c>.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SecurityHeadersTests(BrowserFixture browser)
{
    /// <summary>Records Content-Security-Policy violations as the page sees them.</summary>
    private const string RecordViolations = """
        window.__violations = [];
        document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
        """;

    private static Dictionary<string, string> Directives(string csp) =>
        csp.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => d.Split(' ', 2))
            .ToDictionary(d => d[0], d => d.Length > 1 ? d[1] : "");

    [Theory]
    [InlineData("/", "page")]
    [InlineData("/index.html", "page")]
    [InlineData("/c", "page")]
    [InlineData("/js/caller.js", "page")]
    [InlineData("/css/app.css", "page")]
    [InlineData("/api/v1/codes", "page")]
    [InlineData("/scalar", "scalar")]
    [InlineData("/scalar/", "scalar")]
    [InlineData("/scalar/scalar.js", "scalar")]
    [InlineData("/openapi/v1.json", "document")]
    public async Task Response_AnyPath_CarriesSecurityHeaders(string path, string kind)
    {
        await using var server = await SampleHostServer.StartAsync();
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(server.BaseUrl) };

        using var response = await http.GetAsync(path);

        string Header(string name) => response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
            : response.Content.Headers.TryGetValues(name, out var contentValues) ? string.Join(",", contentValues) : "";
        Assert.Equal("nosniff", Header("X-Content-Type-Options"));
        Assert.Equal("DENY", Header("X-Frame-Options"));
        Assert.Equal("no-referrer", Header("Referrer-Policy"));
        var csp = Directives(Header("Content-Security-Policy"));
        Assert.Equal("'none'", csp["frame-ancestors"]);
        switch (kind)
        {
            case "page":
                Assert.Equal("'self'", csp["default-src"]);
                Assert.Equal("'self'", csp["script-src"]);
                Assert.Equal("'self'", csp["style-src"]);
                Assert.Equal("'self'", csp["connect-src"]);
                Assert.Equal("'self'", csp["font-src"]);
                Assert.Equal("'none'", csp["object-src"]);
                break;
            case "scalar":
                // Relaxed for Scalar only: a nonce for its inline start-up script, inline styles; still nothing foreign.
                Assert.Matches("^'self'( 'nonce-[A-Za-z0-9_+/=-]+')?$", csp["script-src"]);
                Assert.Equal("'self' 'unsafe-inline'", csp["style-src"]);
                Assert.Equal("'self'", csp["connect-src"]);
                Assert.DoesNotContain("http", string.Join(" ", csp.Values), StringComparison.Ordinal);
                break;
            default:
                Assert.Equal("'none'", csp["default-src"]);
                break;
        }
    }

    [Fact]
    public async Task ScalarPage_Nonce_IsFreshPerRequestAndOnItsScripts()
    {
        await using var server = await SampleHostServer.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };

        var nonces = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            using var response = await http.GetAsync("/scalar/");
            var csp = Directives(string.Join(",", response.Headers.GetValues("Content-Security-Policy")));
            var nonce = csp["script-src"].Split(' ').Single(s => s.StartsWith("'nonce-", StringComparison.Ordinal))[7..^1];
            var html = await response.Content.ReadAsStringAsync();
            Assert.Contains($"nonce=\"{nonce}\"", html, StringComparison.Ordinal);
            Assert.DoesNotContain("fonts.scalar.com", html, StringComparison.Ordinal);
            nonces.Add(nonce);
        }
        Assert.NotEqual(nonces[0], nonces[1]);
    }

    private sealed record Recorded(ConcurrentQueue<string> Requests, ConcurrentQueue<IWebSocket> OpenSockets, ConcurrentQueue<string> Errors)
    {
        public IEnumerable<string> Sockets => OpenSockets.Select(s => s.Url);
    }

    private static Recorded Record(IPage page)
    {
        var recorded = new Recorded(new(), new(), WebApp.CollectErrors(page));
        page.Request += (_, request) => recorded.Requests.Enqueue(request.Url);
        page.WebSocket += (_, socket) => recorded.OpenSockets.Enqueue(socket);
        return recorded;
    }

    private static async Task AssertSameOriginOnlyAsync(IPage page, Recorded recorded, string baseUrl, params string[] expectedViolations)
    {
        var origin = new Uri(baseUrl);
        var foreign = recorded.Requests.Concat(recorded.Sockets)
            .Where(url => !url.StartsWith("data:", StringComparison.Ordinal) && !url.StartsWith("blob:", StringComparison.Ordinal))
            .Where(url => new Uri(url).Authority != origin.Authority)
            .ToList();
        Assert.True(foreign.Count == 0, "Requests to other origins: " + string.Join(", ", foreign));
        Assert.Equal(expectedViolations, (await page.EvaluateAsync<string[]>("() => window.__violations")).Distinct());
        Assert.True(recorded.Errors.IsEmpty, string.Join(" | ", recorded.Errors));
    }

    [Fact]
    public async Task OwnerAndCallerPages_UnderTheirCsp_LoadSameOriginOnlyAndConnectTheHubOverWebSocket()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        await owner.AddInitScriptAsync(RecordViolations);
        await caller.AddInitScriptAsync(RecordViolations);
        var ownerLog = Record(owner);
        var callerLog = Record(caller);

        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Strict", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.WaitChatReadyAsync(owner, caller);
        await WebApp.SendChatAsync(caller, owner, "under a strict policy");

        // SignalR uses its WebSocket transport under connect-src 'self' (no fallback to long polling or server-sent
        // events: the only plain HTTP request to the hub is negotiate), and the socket is still open.
        var hubSocket = server.BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/hubs/calls";
        foreach (var (page, log) in new[] { (owner, ownerLog), (caller, callerLog) })
        {
            Assert.Contains(log.OpenSockets, s => s.Url.StartsWith(hubSocket, StringComparison.Ordinal) && !s.IsClosed);
            Assert.All(log.Requests.Where(url => url.Contains("/hubs/calls", StringComparison.Ordinal)),
                url => Assert.Contains("/hubs/calls/negotiate", url, StringComparison.Ordinal));
            Assert.Equal("online", await page.Locator("body").GetAttributeAsync("data-hub"));
        }
        await AssertSameOriginOnlyAsync(owner, ownerLog, server.BaseUrl);
        await AssertSameOriginOnlyAsync(caller, callerLog, server.BaseUrl);
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task ScalarPage_InChromium_RendersWithNoForeignRequestAndNoViolation(string device)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = device == "phone"
            ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await page.AddInitScriptAsync(RecordViolations);
        var log = Record(page);

        await page.GotoAsync("/scalar");
        // Rendered: the reference lists the operations (Scalar renders the first ones at once, the rest as they scroll
        // into view, so look for one of the first: the account group comes first).
        await Expect(page.GetByText("/api/v1/account/login").First).ToBeAttachedAsync(new() { Timeout = 20_000 });
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await WebApp.ScreenshotAsync(page, $"scalar-{device}", fullPage: false);

        // Issue 11: the reference shows the hub (the document's description), the call-token scheme, and an operation of a
        // later tag with its description and security (so what Scalar loads on navigation is covered by the check below).
        await Expect(page.GetByText("Resume(callId, afterSeq)").First).ToBeAttachedAsync();
        await Expect(page.GetByText("qct_").First).ToBeAttachedAsync();
        // Later tags render collapsed: reach an operation of the last REST tag through Scalar's search (Ctrl+K).
        await page.Locator("body").ClickAsync(new() { Position = new() { X = 5, Y = 5 } });
        await page.Keyboard.PressAsync("Control+k");
        await page.Keyboard.TypeAsync("Acknowledge received entries");
        await page.GetByRole(AriaRole.Dialog).GetByText("/api/v1/calls/{callId}/events/ack").First.ClickAsync();
        await Expect(page.GetByText("Everything addressed to the asking side up to").First).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await Expect(page.GetByText("Auth Required").First).ToBeVisibleAsync();
        await WebApp.ScreenshotAsync(page, $"scalar-{device}-operation", fullPage: false);

        // Scalar's bundle (its Zod) probes once whether `Function('')` may run and falls back when it may not: that probe is
        // the one refusal, and it is wanted (no 'unsafe-eval', even on /scalar). Nothing else is refused or requested.
        await AssertSameOriginOnlyAsync(page, log, server.BaseUrl, "script-src eval");
    }
}
