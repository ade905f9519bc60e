using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>Issue 11, code management on the owner page: the QR shown again from this device's encrypted vault (and only
/// there), confirmations, rotate, edit, delete, share/copy, live counts, one code per double-click, label rules; and
/// the sample host's landing text, favicon and human 404 page. Phone (390x844) and desktop (1280x800).</summary>
[Collection(BrowserCollection.Name)]
public sealed class CodeManagementTests(BrowserFixture browser)
{
    private const string Password = "correct horse battery";

    private Task<IBrowserContext> ContextAsync(string viewport, string baseUrl, params string[] extraPermissions) =>
        viewport == "phone"
            ? browser.Browser.NewContextAsync(BrowserFixture.PhoneOptions(baseUrl, ["camera", "microphone", .. extraPermissions]))
            : browser.Browser.NewContextAsync(new BrowserNewContextOptions
            {
                BaseURL = baseUrl,
                ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
                Permissions = ["camera", "microphone", .. extraPermissions],
                AcceptDownloads = true,
            });

    private static async Task<string> SignUpAsync(IPage owner)
    {
        var username = "owner" + Guid.NewGuid().ToString("N")[..10];
        await owner.GotoAsync("/");
        await owner.GetByLabel("User name").FillAsync(username);
        await owner.GetByLabel("Password").FillAsync(Password);
        await owner.GetByTestId("sign-up").ClickAsync();
        await WebApp.WaitOnlineAsync(owner);
        return username;
    }

    private static ILocator Row(IPage owner, string label) =>
        owner.GetByTestId("code-row").Filter(new()
        {
            Has = owner.Locator("[data-testid=code-name]", new() { HasTextRegex = new Regex("^" + Regex.Escape(label) + "$") }),
        });

    private static async Task<string> DecodeStickerAsync(IPage owner, string name)
    {
        await Expect(owner.GetByTestId("qr-image")).ToHaveAttributeAsync("src", new Regex("^blob:"));
        await owner.WaitForFunctionAsync("() => document.getElementById('qr-image').complete && document.getElementById('qr-image').naturalWidth > 0");
        var path = Path.Combine(TestPaths.Results("qr"), name + ".png");
        await owner.GetByTestId("sticker").ScreenshotAsync(new() { Path = path });
        return await WebApp.ZbarAsync(path);
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task ShowQr_AfterReload_DecodesToTheSameLinkAndOtherDeviceCannotShowIt(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync(viewport, server.BaseUrl);
        await using var otherDevice = await ContextAsync(viewport, server.BaseUrl);
        var owner = await context.NewPageAsync();
        var errors = WebApp.CollectErrors(owner);
        var username = await SignUpAsync(owner);
        var link = await WebApp.CreateCodeAsync(owner, "Blue van", "audio", "chat");
        await Expect(owner.GetByTestId("qr-hint")).ToContainTextAsync("This device keeps the code, encrypted");

        await owner.ReloadAsync();
        await WebApp.WaitOnlineAsync(owner);
        await Expect(owner.GetByTestId("qr-panel")).ToBeHiddenAsync();
        await Row(owner, "Blue van").GetByTestId("show-qr").ClickAsync();

        Assert.Equal(link, await DecodeStickerAsync(owner, $"reshown-{viewport}"));
        await Expect(owner.GetByTestId("qr-hint")).ToContainTextAsync("Shown again from this device");
        await WebApp.ScreenshotAsync(owner, $"codes-reshown-{viewport}");
        // At rest: no payload in clear anywhere the page stores things, and the key cannot be read out.
        var atRest = await owner.EvaluateAsync<JsonElement>("""
            async () => {
              const db = await new Promise((ok, no) => { const r = indexedDB.open('qrcalling-vault'); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
              const all = (store) => new Promise((ok) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result); });
              const records = await all('codes');
              const [key] = await all('keys');
              let exported = 'no';
              try { await crypto.subtle.exportKey('raw', key); exported = 'yes'; } catch { }
              const bytes = records.map(r => Array.from(new Uint8Array(r.ciphertext), b => String.fromCharCode(b)).join('')).join('|');
              return { count: records.length, bytes, extractable: key.extractable, exported, local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), algorithm: key.algorithm.name };
            }
            """);
        Assert.Equal(1, atRest.GetProperty("count").GetInt32());
        Assert.Equal("AES-GCM", atRest.GetProperty("algorithm").GetString());
        Assert.False(atRest.GetProperty("extractable").GetBoolean());
        Assert.Equal("no", atRest.GetProperty("exported").GetString());
        var payload = link[(link.IndexOf('#') + 1)..];
        foreach (var store in new[] { "bytes", "local", "session" })
        {
            Assert.DoesNotContain("PQC:1:", atRest.GetProperty(store).GetString()!, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(payload.Split(':')[2], atRest.GetProperty(store).GetString()!, StringComparison.OrdinalIgnoreCase);
        }

        // The same account on another device: the code is listed, its QR is not.
        var other = await otherDevice.NewPageAsync();
        await other.GotoAsync("/");
        await other.GetByLabel("User name").FillAsync(username);
        await other.GetByLabel("Password").FillAsync(Password);
        await other.GetByTestId("sign-in").ClickAsync();
        await WebApp.WaitOnlineAsync(other);
        await Expect(Row(other, "Blue van").GetByTestId("qr-elsewhere")).ToHaveTextAsync("QR available only on the device that created it");
        await Expect(Row(other, "Blue van").GetByTestId("show-qr")).ToHaveCountAsync(0);
        await WebApp.ScreenshotAsync(other, $"codes-other-device-{viewport}");
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task Rotate_ConfirmDialogByKeyboard_OldRowReplacedAndNewCodeShown(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync(viewport, server.BaseUrl);
        var owner = await context.NewPageAsync();
        var errors = WebApp.CollectErrors(owner);
        await SignUpAsync(owner);
        var oldLink = await WebApp.CreateCodeAsync(owner, "Front door");

        // Escape cancels: nothing changes.
        await Row(owner, "Front door").GetByTestId("rotate-code").ClickAsync();
        var dialog = owner.GetByTestId("confirm-dialog");
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(dialog.GetByTestId("confirm-cancel")).ToBeFocusedAsync();
        await WebApp.ScreenshotAsync(owner, $"codes-confirm-rotate-{viewport}", fullPage: false);
        await owner.Keyboard.PressAsync("Escape");
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(owner.GetByTestId("code-row")).ToHaveCountAsync(1);
        await Expect(Row(owner, "Front door").GetByTestId("rotate-code")).ToBeFocusedAsync();

        // Enter alone on the focused Cancel does nothing harmful; Tab to the confirm button and Enter replaces.
        await Row(owner, "Front door").GetByTestId("rotate-code").ClickAsync();
        await Expect(dialog.GetByTestId("confirm-cancel")).ToBeFocusedAsync();
        await owner.Keyboard.PressAsync("Tab");
        await Expect(dialog.GetByTestId("confirm-ok")).ToBeFocusedAsync();
        await owner.Keyboard.PressAsync("Enter");
        await Expect(dialog).ToBeHiddenAsync();

        await Expect(owner.GetByTestId("code-row")).ToHaveCountAsync(2);
        var oldRow = owner.Locator("[data-testid=code-row][data-state=replaced]");
        var newRow = owner.Locator("[data-testid=code-row][data-state=active]");
        await Expect(oldRow.GetByTestId("code-status")).ToContainTextAsync("Replaced");
        await Expect(oldRow.GetByTestId("rotate-code")).ToHaveCountAsync(0);
        await Expect(newRow).ToHaveClassAsync(new Regex("just-created"));
        await Expect(newRow.GetByTestId("show-qr")).ToBeVisibleAsync();
        var newLink = await DecodeStickerAsync(owner, $"rotated-{viewport}");
        Assert.NotEqual(oldLink, newLink);
        Assert.Equal(newLink, (await owner.GetByTestId("qr-link").TextContentAsync())!);
        await WebApp.ScreenshotAsync(owner, $"codes-rotated-{viewport}");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Revoke_CancelKeepsTheCodeConfirmWithdrawsIt()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync("phone", server.BaseUrl);
        var owner = await context.NewPageAsync();
        await SignUpAsync(owner);
        var link = await WebApp.CreateCodeAsync(owner, "Gate");
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        var payload = link[(link.IndexOf('#') + 1)..];

        await Row(owner, "Gate").GetByTestId("revoke-code").ClickAsync();
        await Expect(owner.GetByTestId("confirm-dialog")).ToContainTextAsync("Withdraw this code?");
        await owner.GetByTestId("confirm-cancel").ClickAsync();
        await Expect(Row(owner, "Gate")).ToHaveAttributeAsync("data-state", "active");
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("/api/v1/scan", new { payload })).StatusCode);

        await Row(owner, "Gate").GetByTestId("revoke-code").ClickAsync();
        await owner.GetByTestId("confirm-ok").ClickAsync();

        await Expect(Row(owner, "Gate")).ToHaveAttributeAsync("data-state", "withdrawn");
        await Expect(Row(owner, "Gate").GetByTestId("show-qr")).ToHaveCountAsync(0);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsJsonAsync("/api/v1/scan", new { payload })).StatusCode);
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task Edit_LabelAndMedia_SavedAndTheCallerSeesThem(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync(viewport, server.BaseUrl);
        await using var callerContext = await ContextAsync(viewport, server.BaseUrl);
        var owner = await context.NewPageAsync();
        var errors = WebApp.CollectErrors(owner);
        await SignUpAsync(owner);
        var link = await WebApp.CreateCodeAsync(owner, "Blue van");

        await Row(owner, "Blue van").GetByTestId("edit-code").ClickAsync();
        var dialog = owner.GetByTestId("edit-dialog");
        await Expect(dialog.GetByTestId("edit-label")).ToBeFocusedAsync();
        await dialog.GetByTestId("edit-label").FillAsync("");
        await dialog.GetByTestId("edit-save").ClickAsync();
        await Expect(dialog.GetByTestId("edit-error")).ToContainTextAsync("Add a label");
        await dialog.GetByTestId("edit-label").FillAsync("Red van, driver side");
        await dialog.GetByTestId("edit-media-video").UncheckAsync();
        await WebApp.ScreenshotAsync(owner, $"codes-edit-{viewport}", fullPage: false);
        await dialog.GetByTestId("edit-save").ClickAsync();

        await Expect(dialog).ToBeHiddenAsync();
        await Expect(Row(owner, "Red van, driver side")).ToHaveCountAsync(1);
        await Expect(owner.GetByTestId("codes-status")).ToContainTextAsync("was saved");
        var caller = await callerContext.NewPageAsync();
        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Red van, driver side");
        await Expect(caller.GetByTestId("call-video")).ToBeHiddenAsync();
        await Expect(caller.GetByTestId("call-audio")).ToBeVisibleAsync();
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task Delete_Confirmed_RowGoesAndTheLinkSaysTheCodeIsUnavailable(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync(viewport, server.BaseUrl);
        await using var callerContext = await ContextAsync(viewport, server.BaseUrl);
        var owner = await context.NewPageAsync();
        await SignUpAsync(owner);
        var link = await WebApp.CreateCodeAsync(owner, "Old bike");
        await WebApp.CreateCodeAsync(owner, "Kept bike");

        await Row(owner, "Old bike").GetByTestId("delete-code").ClickAsync();
        await Expect(owner.GetByTestId("confirm-dialog")).ToContainTextAsync("Delete this code?");
        await owner.GetByTestId("confirm-ok").ClickAsync();

        await Expect(Row(owner, "Old bike")).ToHaveCountAsync(0);
        await Expect(Row(owner, "Kept bike")).ToHaveCountAsync(1);
        await Expect(owner.GetByTestId("codes-status")).ToContainTextAsync("was deleted");
        var vaultCount = await owner.EvaluateAsync<int>("""
            async () => {
              const db = await new Promise((ok) => { const r = indexedDB.open('qrcalling-vault'); r.onsuccess = () => ok(r.result); });
              return await new Promise((ok) => { const r = db.transaction('codes').objectStore('codes').count(); r.onsuccess = () => ok(r.result); });
            }
            """);
        Assert.Equal(1, vaultCount);
        var caller = await callerContext.NewPageAsync();
        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("scan-error")).ToContainTextAsync("This code is not available");
        await WebApp.ScreenshotAsync(caller, $"codes-deleted-caller-{viewport}");
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task CreateCode_DoubleClick_CreatesOneCode(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync(viewport, server.BaseUrl);
        var owner = await context.NewPageAsync();
        await SignUpAsync(owner);
        var posts = 0;
        owner.Request += (_, request) =>
        {
            if (request.Method == "POST" && request.Url.EndsWith("/api/v1/codes", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref posts);
            }
        };
        // A slow server makes the second click land while the first request is still pending.
        await owner.RouteAsync("**/api/v1/codes", async route =>
        {
            if (route.Request.Method == "POST")
            {
                await Task.Delay(700);
            }
            await route.ContinueAsync();
        });

        await owner.GetByTestId("code-label").FillAsync("Mailbox");
        await owner.GetByTestId("create-code").DblClickAsync();
        await Expect(owner.GetByTestId("create-code")).ToBeDisabledAsync();
        await Expect(owner.GetByTestId("qr-image")).ToHaveAttributeAsync("src", new Regex("^blob:"));
        await Expect(owner.GetByTestId("create-code")).ToBeEnabledAsync();
        await owner.WaitForTimeoutAsync(500);

        Assert.Equal(1, posts);
        await Expect(owner.GetByTestId("code-row")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task CreateCode_EmptyOrTooLongLabel_SaysWhyAndNeverCutsIt()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync("desktop", server.BaseUrl);
        var owner = await context.NewPageAsync();
        await SignUpAsync(owner);

        await owner.GetByTestId("code-label").FillAsync("   ");
        await owner.GetByTestId("create-code").ClickAsync();
        await Expect(owner.GetByTestId("code-error")).ToContainTextAsync("Add a label");
        await Expect(owner.GetByTestId("code-label")).ToBeFocusedAsync();

        var longLabel = new string('x', 85);
        await owner.GetByTestId("code-label").FillAsync(longLabel);
        await Expect(owner.GetByTestId("code-label-count")).ToHaveTextAsync("85 / 80 characters: 5 too many");
        Assert.Equal(85, (await owner.GetByTestId("code-label").InputValueAsync()).Length);
        await owner.GetByTestId("create-code").ClickAsync();
        await Expect(owner.GetByTestId("code-error")).ToContainTextAsync("the limit is 80");
        await Expect(owner.GetByTestId("code-row")).ToHaveCountAsync(0);
        await Expect(owner.GetByTestId("max-calls-hint")).ToContainTextAsync("Each call started from the code counts once");
        await Expect(owner.GetByText("Maximum calls (empty: no limit)")).ToBeVisibleAsync();
        await WebApp.ScreenshotAsync(owner, "codes-label-too-long-desktop");

        await owner.GetByTestId("code-label").FillAsync(new string('y', 80));
        await Expect(owner.GetByTestId("code-label-count")).ToHaveTextAsync("80 / 80 characters");
        await owner.GetByTestId("create-code").ClickAsync();
        await Expect(owner.GetByTestId("code-row")).ToHaveCountAsync(1);
        await Expect(owner.GetByTestId("code-name")).ToHaveTextAsync(new string('y', 80));
    }

    [Theory]
    [InlineData("phone", true)]
    [InlineData("desktop", false)]
    public async Task ShareLink_SharesWhereTheBrowserCanElseCopiesWithFeedback(string viewport, bool canShare)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync(viewport, server.BaseUrl, "clipboard-read", "clipboard-write");
        // Both paths on purpose, whatever this Chromium build offers: a recorded navigator.share, or none at all.
        await context.AddInitScriptAsync(canShare
            ? "navigator.share = async (data) => { window.sharedData = data; };"
            : "delete Navigator.prototype.share; delete navigator.share;");
        var owner = await context.NewPageAsync();
        await SignUpAsync(owner);
        var link = await WebApp.CreateCodeAsync(owner, "Garage");

        var share = Row(owner, "Garage").GetByTestId("share-link");
        await Expect(share).ToHaveTextAsync(canShare ? "Share link" : "Copy link");
        await share.ClickAsync();

        if (canShare)
        {
            await Expect(owner.GetByTestId("codes-status")).ToContainTextAsync("was shared");
            Assert.Equal(link, await owner.EvaluateAsync<string>("() => window.sharedData.url"));
        }
        else
        {
            await Expect(owner.GetByTestId("codes-status")).ToContainTextAsync("was copied");
            await Expect(share).ToHaveTextAsync("Copied ✓");
            Assert.Equal(link, await owner.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        }
    }

    [Fact]
    public async Task Counts_CallStarted_RowUpdatesWithoutReloadAndOtherRowsAreNotRedrawn()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync("desktop", server.BaseUrl);
        var owner = await context.NewPageAsync();
        await SignUpAsync(owner);
        var link = await WebApp.CreateCodeAsync(owner, "Busy door");
        await WebApp.CreateCodeAsync(owner, "Quiet door");
        await Expect(Row(owner, "Busy door").GetByTestId("code-dates")).ToContainTextAsync("no calls yet");
        await Row(owner, "Quiet door").EvaluateAsync("row => row.dataset.mark = 'same-node'");
        await Row(owner, "Busy door").EvaluateAsync("row => row.dataset.mark = 'old-node'");

        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        using var started = await http.PostAsJsonAsync("/api/v1/calls", new { payload = link[(link.IndexOf('#') + 1)..], media = "chat" });
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);

        await Expect(Row(owner, "Busy door").GetByTestId("code-calls")).ToHaveTextAsync("1", new() { Timeout = 10_000 });
        await Expect(Row(owner, "Busy door").GetByTestId("code-dates")).ToContainTextAsync("last call");
        await Expect(Row(owner, "Busy door")).Not.ToHaveAttributeAsync("data-mark", "old-node");
        await Expect(Row(owner, "Quiet door")).ToHaveAttributeAsync("data-mark", "same-node");
    }

    [Fact]
    public async Task VoiceOnlyCode_NeitherPageOffersChatInTheCall()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync("phone", server.BaseUrl);
        await using var callerContext = await ContextAsync("phone", server.BaseUrl);
        var owner = await context.NewPageAsync();
        await SignUpAsync(owner);
        var link = await WebApp.CreateCodeAsync(owner, "Doorbell", "audio");
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(caller);

        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("call-chat")).ToBeHiddenAsync();
        await caller.GetByTestId("call-audio").ClickAsync();

        await Expect(caller.GetByTestId("call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Expect(caller.Locator("#call .chat")).ToBeHiddenAsync();
        await Expect(caller.GetByTestId("chat-input")).ToBeHiddenAsync();
        await WebApp.ScreenshotAsync(caller, "voice-only-call-phone");
        // The owner's side too: IncomingCall's codeMedia says the code allows no chat.
        await owner.GetByTestId("accept").ClickAsync(new() { Timeout = 10_000 });
        await Expect(owner.GetByTestId("call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Expect(owner.Locator("#call .chat")).ToBeHiddenAsync();
        await Expect(owner.GetByTestId("chat-input")).ToBeHiddenAsync();
        await WebApp.ScreenshotAsync(owner, "voice-only-call-owner-phone");
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task LandingPage_SaysWhatTheProductIsAndShowsTheRulesFirst(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync(viewport, server.BaseUrl);
        var page = await context.NewPageAsync();
        var errors = WebApp.CollectErrors(page);

        await page.GotoAsync("/");

        var intro = page.GetByTestId("intro");
        await Expect(intro).ToBeVisibleAsync();
        await Expect(intro).ToContainTextAsync("Whoever scans it with a phone camera can call");
        await Expect(intro).ToContainTextAsync("nobody learns anybody's phone number, name or IP address");
        await Expect(page.GetByTestId("how-it-works").Locator("li")).ToHaveCountAsync(3);
        await Expect(page.GetByTestId("username-rules")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("username-rules")).ToContainTextAsync("3 to 32 characters");
        await Expect(page.GetByTestId("password-rules")).ToContainTextAsync("At least 8 characters");
        Assert.Equal("", await page.GetByTestId("auth-error").TextContentAsync());
        await WebApp.ScreenshotAsync(page, $"landing-{viewport}");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task FaviconAndUnknownPaths_IconServedBrowsersGetAPageApiGetsProblemDetails()
    {
        await using var server = await SampleHostServer.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };

        using var icon = await http.GetAsync("/favicon.ico");
        Assert.Equal(HttpStatusCode.OK, icon.StatusCode);
        Assert.Contains("icon", icon.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Equal(new byte[] { 0, 0, 1, 0 }, (await icon.Content.ReadAsByteArrayAsync())[..4]);

        foreach (var (path, accept) in new[] { ("/api/v1/nope", "text/html,application/xhtml+xml"), ("/nope", "application/json") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("Accept", accept);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("not_found", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }

        await using var context = await ContextAsync("phone", server.BaseUrl);
        var page = await context.NewPageAsync();
        var errors = WebApp.CollectErrors(page);
        var shown = await page.GotoAsync("/nope");
        Assert.Equal(404, shown!.Status);
        Assert.StartsWith("text/html", shown.Headers["content-type"], StringComparison.Ordinal);
        await Expect(page.GetByTestId("not-found")).ToContainTextAsync("This page does not exist");
        await Expect(page.GetByTestId("home-link")).ToHaveAttributeAsync("href", "/");
        await WebApp.ScreenshotAsync(page, "not-found-phone");
        // The page itself runs under the CSP without a violation; Chromium logs the 404 of the document it asked for.
        Assert.All(errors, e => Assert.StartsWith("Failed to load resource: the server responded with a status of 404", e, StringComparison.Ordinal));
        var iconInPage = await page.EvaluateAsync<int>("async () => (await fetch('/favicon.ico')).status");
        Assert.Equal(200, iconInPage);
    }
}
