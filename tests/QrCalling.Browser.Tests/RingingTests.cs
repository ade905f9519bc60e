using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>An incoming call reaches the owner on the open page: a ring card over whatever is on screen, focus on it,
/// Enter answers and Escape declines, a ring tone, a notification when allowed, the title, and a missed-call badge.</summary>
[Collection(BrowserCollection.Name)]
public sealed class RingingTests(BrowserFixture browser)
{
    private const string BaseTitle = "QrCalling · your codes";

    /// <summary>Records notifications instead of showing them (headless Chromium has nowhere to show them), and plays a
    /// browser whose user was never asked: the permission reads "default" until the page asks for it; then the real
    /// answer (what the test granted) counts.</summary>
    private const string RecordNotifications = """
        window.__notifications = [];
        window.__permissionRequests = 0;
        const RealNotification = window.Notification;
        window.Notification = class {
          constructor(title, options) {
            this.record = { title, body: options?.body ?? '', tag: options?.tag ?? '', closed: false };
            window.__notifications.push(this.record);
          }
          close() { this.record.closed = true; }
          static get permission() { return window.__permissionRequests > 0 ? RealNotification.permission : 'default'; }
          static requestPermission(...args) { window.__permissionRequests++; return RealNotification.requestPermission(...args); }
        };
        """;

    private async Task<(SampleHostServer Server, IBrowserContext OwnerContext, IBrowserContext CallerContext, IPage Owner, IPage Caller, string Link)>
        SetUpAsync(string device, string label)
    {
        var server = await SampleHostServer.StartAsync();
        var ownerContext = device == "phone"
            ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, label, "audio", "chat");
        return (server, ownerContext, callerContext, owner, caller, link);
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task IncomingCall_PageScrolledDown_CardInViewFocusedTitleChangesRingsAndEnterAnswers(string device)
    {
        var (server, ownerContext, callerContext, owner, caller, link) = await SetUpAsync(device, "Garden gate");
        await using var _ = server;
        await using var __ = ownerContext;
        await using var ___ = callerContext;
        var errors = WebApp.CollectErrors(owner, caller);
        // The owner is somewhere down the page, typing into the form.
        await owner.GetByTestId("code-label").ClickAsync();
        await owner.EvaluateAsync("() => window.scrollTo(0, document.body.scrollHeight)");
        await Expect(owner).ToHaveTitleAsync(BaseTitle);

        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();

        var card = owner.GetByTestId("incoming-call");
        await Expect(card).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Expect(card).ToBeInViewportAsync();
        await Expect(card).ToBeFocusedAsync();
        await Expect(card).ToHaveAttributeAsync("role", "alertdialog");
        await Expect(card).ToContainTextAsync("Incoming chat");
        await Expect(card).ToContainTextAsync("Garden gate");
        await Expect(owner).ToHaveTitleAsync("(1) Incoming call — Garden gate");
        Assert.True(await owner.EvaluateAsync<bool>("() => window.qrcallingDebug.ringTone.playing && window.qrcallingDebug.ringTone.mode === 'ring'"));
        // The owner clicked on the page before: the tone can be heard.
        Assert.True(await owner.EvaluateAsync<bool>("() => window.qrcallingDebug.ringTone.audible"));
        await Task.Delay(400); // the card's slide-in
        await WebApp.ScreenshotAsync(owner, $"ringing-{device}", fullPage: false);

        await owner.Keyboard.PressAsync("Enter");

        await Expect(owner.GetByTestId("call")).ToBeVisibleAsync();
        await Expect(owner.GetByTestId("incoming")).ToBeHiddenAsync();
        await WebApp.WaitChatReadyAsync(owner, caller);
        await Expect(owner).ToHaveTitleAsync(BaseTitle);
        Assert.False(await owner.EvaluateAsync<bool>("() => window.qrcallingDebug.ringTone.playing"));
        await WebApp.SendChatAsync(caller, owner, "answered with the keyboard");
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }

    [Fact]
    public async Task IncomingCall_Escape_DeclinesAndTheCallerIsTold()
    {
        var (server, ownerContext, callerContext, owner, caller, link) = await SetUpAsync("phone", "Escape");
        await using var _ = server;
        await using var __ = ownerContext;
        await using var ___ = callerContext;

        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToBeFocusedAsync(new() { Timeout = 10_000 });
        // Tab reaches the buttons inside the card.
        await owner.Keyboard.PressAsync("Tab");
        await Expect(owner.GetByRole(AriaRole.Button, new() { Name = "Answer the voice call for Escape" })).ToBeFocusedAsync();
        await owner.Keyboard.PressAsync("Escape");

        await Expect(owner.GetByTestId("incoming")).ToBeHiddenAsync();
        await Expect(caller.GetByTestId("call-ended")).ToHaveTextAsync("The owner declined the call.", new() { Timeout = 10_000 });
        await Expect(owner).ToHaveTitleAsync(BaseTitle);
        await Expect(owner.GetByTestId("missed")).ToBeHiddenAsync(); // declined is not missed
    }

    [Fact]
    public async Task CallerGivesUpWhileRinging_OwnerStopsRingingAndSeesAMissedCall()
    {
        var (server, ownerContext, callerContext, owner, caller, link) = await SetUpAsync("phone", "Letterbox");
        await using var _ = server;
        await using var __ = ownerContext;
        await using var ___ = callerContext;

        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await caller.GetByTestId("hangup").ClickAsync();

        await Expect(owner.GetByTestId("incoming")).ToBeHiddenAsync(new() { Timeout = 10_000 });
        Assert.False(await owner.EvaluateAsync<bool>("() => window.qrcallingDebug.ringTone.playing"));
        await Expect(owner.GetByTestId("missed")).ToHaveTextAsync("1 missed call", new() { Timeout = 10_000 });
        await Expect(owner.GetByTestId("missed")).ToBeInViewportAsync(); // the bar stays on screen
        await Expect(owner).ToHaveTitleAsync("(1) Missed call — " + BaseTitle);
        await Expect(owner.GetByTestId("history")).ToContainTextAsync("missed (the caller hung up)");
        await WebApp.ScreenshotAsync(owner, "missed-call-badge", fullPage: false);

        await owner.GetByTestId("missed").ClickAsync();
        await Expect(owner.GetByTestId("missed")).ToBeHiddenAsync();
        await Expect(owner).ToHaveTitleAsync(BaseTitle);
        await Expect(owner.Locator("#history-title")).ToBeFocusedAsync();
        // Seen stays seen after a reload.
        await owner.ReloadAsync();
        await WebApp.WaitOnlineAsync(owner);
        await Expect(owner.GetByTestId("history")).ToContainTextAsync("Letterbox");
        await Expect(owner.GetByTestId("missed")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task Notifications_AskedFromTheButton_ShownWhileThePageIsNotFocusedAndClosedWhenAnswered()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        await owner.AddInitScriptAsync(RecordNotifications);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Shed", "chat");

        // Never asked on load: only from the button.
        await Expect(owner.GetByTestId("notify")).ToBeVisibleAsync();
        Assert.Equal(0, await owner.EvaluateAsync<int>("() => window.__permissionRequests"));
        await ownerContext.GrantPermissionsAsync(["notifications"]); // what the user answers
        await owner.GetByTestId("notify").ClickAsync();
        await Expect(owner.GetByTestId("notify")).ToBeHiddenAsync();
        Assert.Equal(1, await owner.EvaluateAsync<int>("() => window.__permissionRequests"));
        Assert.Equal("granted", await owner.EvaluateAsync<string>("() => Notification.permission"));

        // The owner looks at another window.
        await owner.EvaluateAsync("() => { document.hasFocus = () => false; }");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        var shown = await owner.EvaluateAsync<JsonElement>("() => window.__notifications");
        var notification = Assert.Single(shown.EnumerateArray());
        Assert.Equal("Incoming chat", notification.GetProperty("title").GetString());
        Assert.Equal("Shed", notification.GetProperty("body").GetString());
        Assert.False(notification.GetProperty("closed").GetBoolean());

        await owner.GetByTestId("accept").ClickAsync();
        await owner.WaitForFunctionAsync("() => window.__notifications[0].closed");
    }

    [Fact]
    public async Task PageOpenedWithoutAGesture_CardSaysTapToHearTheRing()
    {
        var (server, ownerContext, callerContext, owner, caller, link) = await SetUpAsync("phone", "Silent");
        await using var _ = server;
        await using var __ = ownerContext;
        await using var ___ = callerContext;
        // A reload signs in from storage: no click, so no sound yet.
        await owner.ReloadAsync();
        await WebApp.WaitOnlineAsync(owner);

        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();

        await Expect(owner.GetByTestId("tap-for-sound")).ToHaveTextAsync("Tap anywhere to hear the ring.", new() { Timeout = 10_000 });
        await owner.Mouse.ClickAsync(5, 5);
        await owner.WaitForFunctionAsync("() => window.qrcallingDebug.ringTone.audible");
        await Expect(owner).ToHaveTitleAsync(new Regex("^\\(1\\) Incoming call"));
    }
}
