using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests.SessionQr;

/// <summary>Signed session QR in the web app (js/client/session-qr.js, js/session-check.js): the shared vectors in
/// Chromium; "Meet now" on the owner page and a call from its signed link with the offline check's line; a changed or
/// expired signed link refused on the caller page before anything reaches the server; a signed room link; and a host
/// without a signing key, at phone and desktop size.</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class SignedQrPageTests(BrowserFixture browser) : IAsyncLifetime
{
    private const string NoSigningKey = "--QrCalling:SessionQr:EphemeralKey=false";
    private const string Refusal = "This QR code was not issued by this site or was changed. Do not use it: ask for a new one.";
    private readonly List<IBrowserContext> _contexts = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }
    }

    private async Task<IPage> NewPageAsync(SampleHostServer server, bool phone)
    {
        var context = phone ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        _contexts.Add(context);
        return await context.NewPageAsync();
    }

    /// <summary>"14:30": the time the pages show for Unix seconds, as the page's own clock and language put it.</summary>
    private static Task<string> TimeInPageAsync(IPage page, long unixSeconds) =>
        page.EvaluateAsync<string>("(s) => new Date(s * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })", unixSeconds);

    /// <summary>The line ending "until 14:30." (or "until 2 Dec, 14:30." when that is another day).</summary>
    private static Regex Until(string before, string time, string after) =>
        new("^" + Regex.Escape(before) + "([^,]+, )?" + Regex.Escape(time) + Regex.Escape(after) + "$");

    private static long ExpiryOf(string signed) => long.Parse(signed[(signed.LastIndexOf('#') + 1)..].Split(':')[4], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A signed payload with one character of its subject changed (still well formed).</summary>
    private static string Tamper(string link)
    {
        var parts = link.Split(':');
        var subject = parts[^2].ToCharArray();
        subject[3] = subject[3] == 'A' ? 'B' : 'A';
        parts[^2] = new string(subject);
        return string.Join(':', parts);
    }

    [Fact]
    public async Task SessionQrModule_SharedTestVectors_AllMatchInChromium()
    {
        await using var server = await SampleHostServer.StartAsync();
        var page = await NewPageAsync(server, phone: false);
        await page.GotoAsync("/");
        var vectors = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepositoryRoot, "tests", "vectors", "session-qr-v1.json"));
        var check = (await File.ReadAllTextAsync(Path.Combine(TestPaths.RepositoryRoot, "tests", "QrCalling.Browser.Tests", "SessionQr", "session-qr-vectors-check.js")))
            .Replace("export async function check", "async function check", StringComparison.Ordinal);

        // Through the client module's public exports, as an app would import it.
        var failures = await page.EvaluateAsync<string[]>(
            $"async (vectors) => {{ {check}\n const m = await import('/js/qrcalling-client.js'); return await check(m, JSON.parse(vectors)); }}", vectors);

        Assert.Empty(failures);
        var cases = JsonDocument.Parse(vectors).RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.True(cases.Count >= 20, $"{cases.Count} cases");
        Assert.Equal(["bad-signature", "expired", "malformed", "unknown-key", "valid"],
            cases.Select(c => c.GetProperty("status").GetString()!).Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task SessionQrModule_KeysOfTheHost_FetchedOnceThenCached_AndAForeignKeyIsUnknown()
    {
        await using var server = await SampleHostServer.StartAsync();
        using var owner = await WebApp.OwnerClientAsync(server.BaseUrl);
        var code = await (await owner.PostAsJsonAsync("/api/v1/codes", new { label = "Desk", media = new[] { "chat" }, signed = true })).Content.ReadFromJsonAsync<JsonElement>();
        var signedLink = code.GetProperty("signedLink").GetString()!;
        var page = await NewPageAsync(server, phone: false);
        await page.GotoAsync("/");

        var result = await page.EvaluateAsync<JsonElement>("""
            async ([link, foreign]) => {
              const m = await import('/js/qrcalling-client.js');
              let fetches = 0;
              const keys = new m.SessionQrKeys({ fetch: (...a) => { fetches++; return fetch(...a); } });
              const first = await m.verifySessionQr(link, { keys });
              const second = await m.verifySessionQr(link.toLowerCase(), { keys });
              const afterTwo = fetches;
              const other = await m.verifySessionQr(foreign, { keys }); // an unknown key id: fetched once more
              return { first: first.status, second: second.status, kind: first.qr.kind, afterTwo, other: other.status, fetches };
            }
            """, new[] { signedLink, Tamper(signedLink).Replace(code.GetProperty("keyId").GetString()!, "AAAAAAAA", StringComparison.Ordinal) });

        Assert.Equal("valid", result.GetProperty("first").GetString());
        Assert.Equal("valid", result.GetProperty("second").GetString());
        Assert.Equal("MEET", result.GetProperty("kind").GetString());
        Assert.Equal(1, result.GetProperty("afterTwo").GetInt32());
        Assert.Equal("unknown-key", result.GetProperty("other").GetString());
        Assert.Equal(2, result.GetProperty("fetches").GetInt32());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MeetNow_CallerOpensTheSignedLink_SeesTheCheckedLine_AndTheOwnerGetsTheCall(bool phone)
    {
        await using var server = await SampleHostServer.StartAsync();
        var owner = await NewPageAsync(server, phone);
        var caller = await NewPageAsync(server, phone);
        var errors = WebApp.CollectErrors(owner, caller);
        var size = phone ? "phone" : "desktop";

        await WebApp.SignUpAsync(owner);
        await owner.GetByTestId("code-label").FillAsync("At the gate");
        await owner.Locator("input[name=media][value=audio]").SetCheckedAsync(false);
        await owner.Locator("input[name=media][value=video]").SetCheckedAsync(false);
        await owner.GetByTestId("meet-now").ClickAsync();
        await Expect(owner.GetByTestId("qr-image")).ToHaveAttributeAsync("src", new Regex("^blob:"));
        var link = (await owner.GetByTestId("qr-link").TextContentAsync())!;
        Assert.Matches(new Regex("^http://127\\.0\\.0\\.1:\\d+/c#PQS:1:MEET:[A-Z2-7]{8}:[0-9]+:[A-Z2-7]{52}:[A-Z2-7]{103}$"), link);
        var until = await TimeInPageAsync(owner, ExpiryOf(link));
        await Expect(owner.GetByTestId("qr-valid")).ToHaveTextAsync(Until("Signed by this site: valid until ", until, ", then the code and its QR stop working."));
        // The QR on screen is the signed link.
        var shown = Path.Combine(TestPaths.Results("qr"), $"meet-now-{size}.png");
        await owner.GetByTestId("qr-image").ScreenshotAsync(new() { Path = shown });
        Assert.Equal(link, await WebApp.ZbarAsync(shown));
        await WebApp.ScreenshotAsync(owner, $"meet-now-owner-{size}");

        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("code-checked")).ToHaveTextAsync(Until("Checked: this QR code was issued by this site and is valid until ", until, "."));
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("At the gate");
        await WebApp.ScreenshotAsync(caller, $"meet-now-caller-checked-{size}");
        await caller.GetByTestId("call-chat").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToContainTextAsync("At the gate", new() { Timeout = 10_000 });
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.WaitChatReadyAsync(owner, caller);
        await WebApp.SendChatAsync(caller, owner, "here at the gate");

        // The signed payload stays in the fragment: no request carries it, nor its signature (random ids in other
        // requests may hold the letters "pqs" by chance, so the test looks for the payload itself).
        var signature = link[(link.LastIndexOf(':') + 1)..];
        Assert.DoesNotContain(server.RequestTargets, t => t.Contains("PQS:1", StringComparison.OrdinalIgnoreCase)
            || t.Contains("PQS%3A1", StringComparison.OrdinalIgnoreCase) || t.Contains(signature, StringComparison.OrdinalIgnoreCase));
        Assert.Contains(server.RequestTargets, t => t.StartsWith("/api/v1/verify-qr/keys", StringComparison.Ordinal));
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CallerPage_ChangedOrExpiredSignedLink_IsRefusedInWords_AndNothingIsScannedOrCalled(bool phone)
    {
        await using var server = await SampleHostServer.StartAsync();
        using var owner = await WebApp.OwnerClientAsync(server.BaseUrl);
        var code = await (await owner.PostAsJsonAsync("/api/v1/codes", new { label = "Desk", media = new[] { "chat" }, signed = true })).Content.ReadFromJsonAsync<JsonElement>();
        var link = code.GetProperty("signedLink").GetString()!;
        var caller = await NewPageAsync(server, phone);
        var errors = WebApp.CollectErrors(caller);

        await caller.GotoAsync(Tamper(link));
        await Expect(caller.GetByTestId("scan-error")).ToHaveTextAsync(Refusal);
        await Expect(caller.GetByTestId("code")).ToBeHiddenAsync();
        await Expect(caller.GetByTestId("call-chat")).ToBeHiddenAsync();
        await WebApp.ScreenshotAsync(caller, $"signed-refused-caller-{(phone ? "phone" : "desktop")}");

        // Two hours on, the genuine link has expired: refused too, with the time it was valid until.
        var later = await NewPageAsync(server, phone);
        await later.Clock.SetFixedTimeAsync(DateTime.UtcNow.AddHours(2));
        await later.GotoAsync(link);
        var until = await TimeInPageAsync(later, ExpiryOf(link));
        await Expect(later.GetByTestId("scan-error")).ToHaveTextAsync(Until("This QR code has expired: it was valid until ", until, ". Ask for a new one."));
        await Expect(later.GetByTestId("code")).ToBeHiddenAsync();

        Assert.DoesNotContain(server.RequestTargets, t => t.StartsWith("/api/v1/scan", StringComparison.Ordinal) || t.StartsWith("/api/v1/calls", StringComparison.Ordinal));
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SignedRoomLink_ByDefault_JoinsWithTheCheckedLine_AndAChangedOneIsRefused(bool phone)
    {
        await using var server = await SampleHostServer.StartAsync();
        var anna = await NewPageAsync(server, phone);
        var ben = await NewPageAsync(server, phone);
        var mallory = await NewPageAsync(server, phone);
        var errors = WebApp.CollectErrors(anna, ben, mallory);
        var size = phone ? "phone" : "desktop";

        await anna.GotoAsync("/room");
        await Expect(anna.GetByTestId("room-create-signed")).ToBeCheckedAsync();
        await anna.GetByTestId("room-create-name").FillAsync("Anna");
        await anna.GetByTestId("room-create").ClickAsync();
        await Expect(anna.GetByTestId("room-view")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        var link = (await anna.GetByTestId("room-link").TextContentAsync())!;
        Assert.Matches(new Regex("/room#PQS:1:ROOM:[A-Z2-7]{8}:[0-9]+:[A-Z2-7]{26}-[A-Z2-7]{52}:[A-Z2-7]{103}$"), link);
        var until = await TimeInPageAsync(anna, ExpiryOf(link));
        var checkedLine = Until("Checked: this QR code was issued by this site and is valid until ", until, ".");
        await Expect(anna.GetByTestId("room-checked")).ToHaveTextAsync(checkedLine);
        await Expect(anna.GetByTestId("room-qr")).ToHaveAttributeAsync("src", new Regex("^blob:"));
        await Expect(anna.GetByTestId("room-signed-note")).ToBeHiddenAsync();
        var shown = Path.Combine(TestPaths.Results("qr"), $"signed-room-{size}.png");
        await anna.GetByTestId("room-qr").ScreenshotAsync(new() { Path = shown });
        Assert.Equal(link.ToUpperInvariant(), (await WebApp.ZbarAsync(shown)).ToUpperInvariant());

        await ben.GotoAsync(link);
        await Expect(ben.GetByTestId("room-join")).ToBeVisibleAsync();
        await Expect(ben.GetByTestId("room-checked")).ToHaveTextAsync(checkedLine);
        await WebApp.ScreenshotAsync(ben, $"signed-room-join-{size}");
        await ben.GetByTestId("room-join-name").FillAsync("Ben");
        await ben.GetByTestId("room-join-button").ClickAsync();
        await Expect(ben.GetByTestId("room-view")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(anna.GetByTestId("room-notice").Filter(new() { HasText = "Ben joined." })).ToHaveCountAsync(1);
        await Expect(ben.GetByTestId("room-check-code")).ToHaveTextAsync(new Regex("^[0-9]{3} [0-9]{3}$"), new() { Timeout = 15_000 });
        await Expect(ben.GetByTestId("room-checked")).ToHaveTextAsync(checkedLine);

        await mallory.GotoAsync(Tamper(link));
        await Expect(mallory.GetByTestId("room-error")).ToHaveTextAsync(Refusal);
        await Expect(mallory.GetByTestId("room-join")).ToBeHiddenAsync();
        await Expect(mallory.GetByTestId("room-checked")).ToBeHiddenAsync();
        await WebApp.ScreenshotAsync(mallory, $"signed-room-refused-{size}");
        Assert.Equal(2, server.RequestTargets.Count(t => t.StartsWith("/api/v1/rooms/join", StringComparison.Ordinal))); // Anna and Ben only
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HostWithoutSigningKey_OwnerIsToldInASentence_AndARoomStartsWithAPlainLink(bool phone)
    {
        await using var server = await SampleHostServer.StartAsync(NoSigningKey);
        var owner = await NewPageAsync(server, phone);
        var creator = await NewPageAsync(server, phone);
        var size = phone ? "phone" : "desktop";

        await WebApp.SignUpAsync(owner);
        await owner.GetByTestId("code-label").FillAsync("Quick chat");
        await owner.GetByTestId("meet-now").ClickAsync();
        await Expect(owner.GetByTestId("meet-error")).ToHaveTextAsync(
            "This site cannot make meet-now codes: it has no key to sign their QR codes. Create an ordinary code above instead, or ask the site's operator to set up a signing key.");
        await Expect(owner.GetByTestId("qr-panel")).ToBeHiddenAsync();
        await Expect(owner.GetByTestId("codes-empty")).ToBeVisibleAsync();
        await WebApp.ScreenshotAsync(owner, $"meet-now-unavailable-{size}");

        await creator.GotoAsync("/room");
        await creator.GetByTestId("room-create").ClickAsync();
        await Expect(creator.GetByTestId("room-view")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        Assert.Matches(new Regex("/room#PQR:1:[A-Z2-7]{26}:[A-Z2-7]{52}$"), (await creator.GetByTestId("room-link").TextContentAsync())!);
        await Expect(creator.GetByTestId("room-signed-note")).ToHaveTextAsync(
            "This site cannot sign room links (it has no signing key), so this room has an ordinary link without an expiry check.");
        await Expect(creator.GetByTestId("room-checked")).ToBeHiddenAsync();
    }
}
