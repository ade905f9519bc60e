using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>Clear states and errors: a blocked microphone, a lost hub connection, API errors in words, and a call screen
/// in human wording (timer, mute, camera, camera switch, "Call again" and "Close" after the end).</summary>
[Collection(BrowserCollection.Name)]
public sealed class CallStatesTests(BrowserFixture browser)
{
    /// <summary>Words from the old call screen that must not show any more.</summary>
    private static readonly string[] InternalWords = ["Hub:", "media new", "· media", "ringing ·", "connecting ·", "State:", "undefined", "null"];

    private static async Task AssertNoInternalWordsAsync(IPage page)
    {
        var text = await page.EvaluateAsync<string>("() => document.body.innerText");
        foreach (var word in InternalWords)
        {
            Assert.DoesNotContain(word, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task MicrophoneBlocked_CallerSeesWhyRetriesOrChats_OwnerIsNotRungForNothing()
    {
        await using var server = await SampleHostServer.StartAsync();
        var strict = await browser.BrowserWithoutFakeUiAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        // No camera/microphone permission and no fake permission prompt: getUserMedia is refused (NotAllowedError).
        await using var callerContext = await strict.NewContextAsync(BrowserFixture.PhoneOptions(server.BaseUrl, permissions: []));
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, caller);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Blocked", "audio", "chat");

        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await Expect(caller.GetByTestId("code-problem-text")).ToContainTextAsync("Your browser blocked the microphone");
        await Expect(caller.GetByTestId("code-retry")).ToBeVisibleAsync();
        await Expect(caller.GetByTestId("code-as-chat")).ToBeVisibleAsync();
        await WebApp.ScreenshotAsync(caller, "mic-blocked-caller");
        // The owner was not rung for a call that could not work.
        await Task.Delay(1000);
        await Expect(owner.GetByTestId("incoming")).ToBeHiddenAsync();

        // Still blocked: the same clear message again.
        await caller.GetByTestId("code-retry").ClickAsync();
        await Expect(caller.GetByTestId("code-problem")).ToBeVisibleAsync();
        await Expect(caller.GetByTestId("code-problem-text")).ToContainTextAsync("Your browser blocked the microphone");

        // Allowed now (as after changing the site settings): Try again rings the owner; the caller gives up while it
        // rings, and the owner's page stops ringing.
        await callerContext.GrantPermissionsAsync(["microphone"]);
        await caller.GetByTestId("code-retry").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Expect(caller.GetByTestId("call-state")).ToHaveTextAsync("Ringing…");
        await caller.GetByTestId("hangup").ClickAsync();
        await Expect(owner.GetByTestId("incoming")).ToBeHiddenAsync(new() { Timeout = 10_000 });
        await Expect(owner).Not.ToHaveTitleAsync(new Regex("Incoming call"));
        await Expect(caller.GetByTestId("call-ended")).ToHaveTextAsync("You hung up.");
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }

    [Fact]
    public async Task MicrophoneBlocked_CallerContinuesAsChat_OwnerGetsAChat()
    {
        await using var server = await SampleHostServer.StartAsync();
        var strict = await browser.BrowserWithoutFakeUiAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await strict.NewContextAsync(BrowserFixture.PhoneOptions(server.BaseUrl, permissions: []));
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Blocked video", "video", "chat");

        await caller.GotoAsync(link);
        await caller.GetByTestId("call-video").ClickAsync();
        await Expect(caller.GetByTestId("code-problem-text")).ToContainTextAsync("Your browser blocked the microphone and camera");
        await caller.GetByTestId("code-as-chat").ClickAsync();

        await Expect(owner.GetByTestId("incoming-call")).ToContainTextAsync("Incoming chat", new() { Timeout = 10_000 });
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.WaitChatReadyAsync(owner, caller);
        await WebApp.SendChatAsync(caller, owner, "my camera is blocked, can we chat?");
        await Expect(caller.GetByTestId("mute")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task MicrophoneBlockedOnOwnerSide_OwnerContinuesInChat_CallerIsTold()
    {
        await using var server = await SampleHostServer.StartAsync();
        var strict = await browser.BrowserWithoutFakeUiAsync();
        await using var ownerContext = await strict.NewContextAsync(BrowserFixture.PhoneOptions(server.BaseUrl, permissions: []));
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, caller);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Owner blocked", "audio", "chat");

        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await WebApp.AnswerDirectAsync(caller, yes: true);
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.AnswerDirectAsync(owner, yes: true);
        await Expect(owner.GetByTestId("media-problem")).ToContainTextAsync("Your browser blocked the microphone");
        await WebApp.ScreenshotAsync(owner, "mic-blocked-owner");
        await owner.GetByTestId("media-chat").ClickAsync();

        await Expect(caller.GetByTestId("media-off")).ToContainTextAsync("The other side has no microphone or camera available", new() { Timeout = 10_000 });
        await WebApp.WaitChatReadyAsync(owner, caller);
        await WebApp.SendChatAsync(owner, caller, "no microphone here, write to me");
        await Expect(owner.GetByTestId("call-state")).ToHaveTextAsync("Connected");
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }

    [Fact]
    public async Task OwnerHubLost_BannerSaysNotReachable_RecoversAfterServerRestart()
    {
        await using var server = await SampleHostServer.StartAsync(WebApp.JwtKeySetting);
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var pageErrors = new List<string>();
        owner.PageError += (_, e) => pageErrors.Add(e);
        await WebApp.SignUpAsync(owner);
        await Expect(owner.GetByTestId("offline-banner")).ToBeHiddenAsync();

        await server.StopAsync();

        await Expect(owner.GetByTestId("offline-banner")).ToHaveTextAsync("You will not be rung while offline — reconnecting…", new() { Timeout = 10_000 });
        await Expect(owner.GetByTestId("offline-banner")).ToBeInViewportAsync();
        await WebApp.ScreenshotAsync(owner, "owner-offline-banner", fullPage: false);
        await Task.Delay(2000);

        await server.StartAgainAsync();

        await WebApp.WaitOnlineAsync(owner, 30_000);
        await Expect(owner.GetByTestId("offline-banner")).ToBeHiddenAsync();
        // Reachable again: the (restarted, in-memory) host has no codes; a new one rings this page.
        var link = await WebApp.CreateCodeAsync(owner, "After restart", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        Assert.Empty(pageErrors);
    }

    [Fact]
    public async Task ChatCall_OwnersHubClosedForGood_StartsAgain_ShowsWhatWasSentMeanwhile_AndTheCallGoesOn()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Closed for good", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.WaitChatReadyAsync(owner, caller);
        await WebApp.SendChatAsync(caller, owner, "are you there?");

        // The owner's connection closes for good (as when SignalR's own reconnects give up), and its phone goes offline
        // before the page starts it again (a second later): the page keeps trying, and gets through once it is online.
        await owner.EvaluateAsync("() => window.qrcallingDebug.hub.stop()");
        await ownerContext.SetOfflineAsync(true);
        await Expect(caller.Locator("#peer-state")).ToHaveTextAsync("The other side lost its connection…", new() { Timeout = 10_000 });
        await Expect(owner.Locator("#peer-state")).ToHaveTextAsync("Connection lost — reconnecting…");
        await Expect(owner.GetByTestId("call-state")).ToHaveTextAsync("Reconnecting…"); // a chat has no other channel
        await WebApp.ScreenshotAsync(owner, "owner-hub-closed-offline-phone", fullPage: false);
        await caller.GetByTestId("chat-input").FillAsync("sent while you were away");
        await caller.GetByTestId("chat-send").ClickAsync();
        await Expect(caller.Locator("[data-testid=chat-message].me").Last).ToHaveTextAsync("sent while you were away");
        await Task.Delay(1500);
        await ownerContext.SetOfflineAsync(false);

        // Started again, the call resumes: what was sent meanwhile shows, the caller sees the owner back, the chat goes on.
        await Expect(owner.Locator("[data-testid=chat-message].them").Last).ToHaveTextAsync("sent while you were away", new() { Timeout = 20_000 });
        await Expect(caller.Locator("#peer-state")).ToBeEmptyAsync(new() { Timeout = 10_000 });
        await Expect(owner.Locator("#peer-state")).ToBeEmptyAsync();
        await WebApp.SendChatAsync(owner, caller, "back now");
        await Expect(owner.GetByTestId("call-state")).ToHaveTextAsync("Connected");
    }

    [Fact]
    public async Task ApiErrors_OnBothPages_AreShownInWordsAndNeverUncaught()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var pageErrors = new List<string>();
        owner.PageError += (_, e) => pageErrors.Add(e);
        caller.PageError += (_, e) => pageErrors.Add(e);

        await owner.GotoAsync("/");
        await owner.GetByLabel("User name").FillAsync("nobody" + Guid.NewGuid().ToString("N")[..8]);
        await owner.GetByLabel("Password").FillAsync("wrong password");
        await owner.GetByTestId("sign-in").ClickAsync();
        await Expect(owner.GetByTestId("auth-error")).ToHaveTextAsync("Wrong user name or password.");

        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Errors", "audio", "chat");

        // A server failure, a rate limit and a lost network while creating a code. One route stays in place for all four
        // (routing and unrouting between them raced: a later create once reached the real server and succeeded).
        Func<IRoute, Task>? answerNextCreate = null;
        await owner.RouteAsync("**/api/v1/codes", async route =>
        {
            var answer = route.Request.Method == "POST" ? Interlocked.Exchange(ref answerNextCreate, null) : null;
            if (answer is not null) await answer(route); else await route.ContinueAsync();
        });
        async Task CreateFailsAsync(Func<IRoute, Task> answer, string expected)
        {
            answerNextCreate = answer;
            await owner.GetByTestId("code-label").FillAsync("Will fail");
            await owner.GetByTestId("create-code").ClickAsync();
            await Expect(owner.GetByTestId("code-error")).ToHaveTextAsync(expected);
            Assert.Null(answerNextCreate); // the failure came from this route, not from the real server
        }
        static Task Problem(IRoute route, int status, string code) => route.FulfillAsync(new()
        {
            Status = status, ContentType = "application/problem+json", Body = $"{{\"status\":{status},\"code\":\"{code}\",\"title\":\"x\"}}",
        });
        await CreateFailsAsync(r => Problem(r, 500, "internal_error"), "Could not create the code: the server has a problem. Try again in a moment.");
        await CreateFailsAsync(r => Problem(r, 429, "rate_limited"), "Could not create the code: too many attempts. Wait a minute and try again.");
        await CreateFailsAsync(r => r.AbortAsync(), "Could not create the code: no connection to the server. Check your network and try again.");
        await CreateFailsAsync(r => r.FulfillAsync(new() { Status = 502, Body = "<html>bad gateway</html>", ContentType = "text/html" }),
            "Could not create the code: the server has a problem. Try again in a moment.");
        await owner.UnrouteAllAsync();

        // Withdrawing a code while the network is gone.
        await owner.RouteAsync("**/revoke", route => route.AbortAsync());
        await owner.GetByRole(AriaRole.Button, new() { Name = "Withdraw the code Errors" }).ClickAsync();
        await owner.GetByTestId("confirm-ok").ClickAsync(); // withdrawing asks first (issue 11)
        await Expect(owner.GetByTestId("codes-error")).ToHaveTextAsync("Could not withdraw the code: no connection to the server. Check your network and try again.");
        await owner.UnrouteAllAsync();

        // The caller: a failing start of a call, then a withdrawn code.
        await caller.GotoAsync(link);
        await caller.RouteAsync("**/api/v1/calls", route => Problem(route, 503, "storage_unavailable"));
        await caller.GetByTestId("call-chat").ClickAsync();
        await Expect(caller.GetByTestId("code-error")).ToHaveTextAsync("Could not start the call: the server has a problem. Try again in a moment.");
        await Expect(caller.GetByTestId("call-chat")).ToBeEnabledAsync();
        await caller.UnrouteAllAsync();
        await owner.GetByRole(AriaRole.Button, new() { Name = "Withdraw the code Errors" }).ClickAsync();
        await owner.GetByTestId("confirm-ok").ClickAsync();
        await Expect(owner.GetByTestId("codes-error")).ToBeEmptyAsync();
        await caller.GetByTestId("call-chat").ClickAsync();
        await Expect(caller.GetByTestId("code-error")).ToHaveTextAsync("This code is not available (unknown, withdrawn, expired or used up).");
        await WebApp.ScreenshotAsync(caller, "caller-api-error");
        await WebApp.ScreenshotAsync(owner, "owner-api-error");

        foreach (var page in new[] { owner, caller })
        {
            var text = await page.EvaluateAsync<string>("() => document.body.innerText");
            Assert.DoesNotMatch(new Regex("internal_error|rate_limited|storage_unavailable|HTTP \\d|TypeError|Failed to fetch"), text);
        }
        Assert.Empty(pageErrors);
    }

    /// <summary>Two cameras (front and back on a phone): the test page lists the fake camera twice.</summary>
    private const string TwoCameras = """
        const enumerate = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
        navigator.mediaDevices.enumerateDevices = async () => {
          const devices = await enumerate();
          const camera = devices.find((d) => d.kind === 'videoinput');
          if (!camera) return devices;
          const fake = (label) => ({ deviceId: camera.deviceId, groupId: camera.groupId, kind: 'videoinput', label, toJSON() { return this; } });
          return [...devices.filter((d) => d.kind !== 'videoinput'), fake('Front camera'), fake('Back camera')];
        };
        """;

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task VideoCall_CallScreen_HumanWordsTimerMuteCameraSwitchAndEndButtons(string device)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = device == "phone"
            ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        await caller.AddInitScriptAsync(TwoCameras);
        var errors = WebApp.CollectErrors(owner, caller);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Screen", "video", "chat");

        await caller.GotoAsync(link);
        await caller.GetByTestId("call-video").ClickAsync();
        await Expect(caller.GetByTestId("call-state")).ToHaveTextAsync("Ringing…");
        await Expect(caller.Locator("#call-title")).ToHaveTextAsync("Video call · Screen");
        await AssertNoInternalWordsAsync(caller);
        await WebApp.AnswerDirectAsync(caller, yes: true);
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.AnswerDirectAsync(owner, yes: true);
        await WebApp.WaitConnectedAsync(owner, caller);

        await Expect(caller.GetByTestId("call-state")).ToHaveTextAsync("Connected");
        await Expect(caller.GetByTestId("call-timer")).ToHaveTextAsync(new Regex("^0:0\\d$"));
        var first = await caller.GetByTestId("call-timer").TextContentAsync();
        await Expect(caller.GetByTestId("call-timer")).Not.ToHaveTextAsync(first!, new() { Timeout = 3000 });
        await AssertNoInternalWordsAsync(caller);
        await AssertNoInternalWordsAsync(owner);

        // Mute: the button says what it does next, the state is shown, the track is off.
        await caller.GetByTestId("mute").ClickAsync();
        await Expect(caller.GetByTestId("mute")).ToHaveTextAsync("Unmute");
        await Expect(caller.GetByTestId("mute")).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(caller.GetByTestId("muted-badge")).ToBeVisibleAsync();
        Assert.False(await caller.EvaluateAsync<bool>("() => window.qrcallingDebug.session.localStream.getAudioTracks()[0].enabled"));

        // Camera off: a placeholder instead of the picture.
        await caller.GetByTestId("camera").ClickAsync();
        await Expect(caller.GetByTestId("camera")).ToHaveTextAsync("Camera on");
        await Expect(caller.GetByTestId("local-placeholder")).ToBeVisibleAsync();
        Assert.False(await caller.EvaluateAsync<bool>("() => window.qrcallingDebug.session.localStream.getVideoTracks()[0].enabled"));
        await caller.GetByTestId("camera").ClickAsync();
        await Expect(caller.GetByTestId("local-placeholder")).ToBeHiddenAsync();

        // Two cameras: a switch, which replaces the track that is sent.
        await Expect(caller.GetByTestId("switch-camera")).ToBeVisibleAsync();
        var before = await caller.EvaluateAsync<string>("() => window.qrcallingDebug.pc.getSenders().find(s => s.track?.kind === 'video').track.id");
        await caller.GetByTestId("switch-camera").ClickAsync();
        await Expect(caller.GetByTestId("switch-camera")).ToHaveAttributeAsync("data-camera", "1");
        var after = await caller.EvaluateAsync<string>("() => window.qrcallingDebug.pc.getSenders().find(s => s.track?.kind === 'video').track.id");
        Assert.NotEqual(before, after);
        await owner.WaitForFunctionAsync("() => document.querySelector('[data-testid=remote-video]').videoWidth > 0");

        // Several microphones (Chromium's fake devices): a choice, which replaces the track that is sent and keeps the
        // microphone muted.
        await Expect(caller.GetByTestId("mic-select")).ToBeVisibleAsync();
        var mics = await caller.GetByTestId("mic-select").Locator("option").EvaluateAllAsync<string[]>("os => os.map(o => o.value)");
        Assert.True(mics.Length >= 2, $"{mics.Length} microphones listed");
        const string SentAudio = "() => { const t = window.qrcallingDebug.pc.getSenders().find(s => s.track?.kind === 'audio').track; return [t.id, t.getSettings().deviceId, String(t.enabled)]; }";
        var micBefore = await caller.EvaluateAsync<string[]>(SentAudio);
        var otherMic = mics.First(m => m != micBefore[1]);
        await caller.GetByTestId("mic-select").SelectOptionAsync(otherMic);
        await caller.WaitForFunctionAsync($"() => window.qrcallingDebug.pc.getSenders().find(s => s.track?.kind === 'audio').track.id !== '{micBefore[0]}'");
        var micAfter = await caller.EvaluateAsync<string[]>(SentAudio);
        Assert.Equal((otherMic, "false"), (micAfter[1], micAfter[2]));
        await Expect(caller.GetByTestId("muted-badge")).ToBeVisibleAsync();
        // A speaker choice only where the browser can route audio (setSinkId) and has more than one output.
        var speakers = await caller.EvaluateAsync<int>("async () => 'setSinkId' in HTMLMediaElement.prototype ? (await navigator.mediaDevices.enumerateDevices()).filter(d => d.kind === 'audiooutput' && d.deviceId).length : 0");
        if (speakers >= 2)
        {
            await Expect(caller.GetByTestId("speaker-select")).ToBeVisibleAsync();
        }
        else
        {
            await Expect(caller.GetByTestId("speaker-select")).ToBeHiddenAsync();
        }
        await WebApp.ScreenshotAsync(caller, $"call-screen-{device}", fullPage: false);

        // The owner hangs up: the caller sees why and for how long, and only "Call again" and "Close".
        await owner.GetByTestId("hangup").ClickAsync();
        await Expect(caller.GetByTestId("call-ended")).ToHaveTextAsync(new Regex("^The other side hung up\\. · 0:\\d\\d$"), new() { Timeout = 10_000 });
        await Expect(caller.GetByTestId("call-state")).ToHaveTextAsync("Call ended");
        foreach (var gone in new[] { "hangup", "mute", "camera", "switch-camera", "mic-select", "chat-input", "call-timer", "direct-prompt" })
        {
            await Expect(caller.GetByTestId(gone)).ToBeHiddenAsync();
        }
        await Expect(caller.GetByTestId("call-again")).ToBeVisibleAsync();
        await Expect(caller.GetByTestId("call-close")).ToBeVisibleAsync();
        await Expect(owner.GetByTestId("call-again")).ToBeHiddenAsync(); // the owner cannot call a stranger back
        await Expect(owner.GetByTestId("call-close")).ToBeVisibleAsync();
        await WebApp.ScreenshotAsync(caller, $"call-ended-{device}", fullPage: false);

        // Call again rings the owner again; Close goes back to the code.
        await caller.GetByTestId("call-again").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await caller.GetByTestId("hangup").ClickAsync();
        await caller.GetByTestId("call-close").ClickAsync();
        await Expect(caller.GetByTestId("call")).ToBeHiddenAsync();
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Screen");
        await owner.GetByTestId("call-close").ClickAsync();
        await Expect(owner.GetByTestId("call")).ToBeHiddenAsync();
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }

    [Fact]
    public async Task ChatOnlyCall_HasNoMuteNoCameraNoMedia()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Chat only", "chat");

        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.WaitChatReadyAsync(owner, caller);

        foreach (var page in new[] { owner, caller })
        {
            await Expect(page.GetByTestId("call-state")).ToHaveTextAsync("Connected");
            await Expect(page.GetByTestId("call-timer")).ToBeVisibleAsync();
            foreach (var hidden in new[] { "mute", "camera", "switch-camera", "direct-prompt", "ip-notice" })
            {
                await Expect(page.GetByTestId(hidden)).ToBeHiddenAsync();
            }
            await Expect(page.Locator("#call-media")).ToBeHiddenAsync();
            await Expect(page.GetByTestId("hangup")).ToBeVisibleAsync();
            await AssertNoInternalWordsAsync(page);
        }
        Assert.Null(await caller.EvaluateAsync<object?>("() => window.qrcallingDebug.pc"));
        await WebApp.ScreenshotAsync(caller, "chat-call-caller", fullPage: false);
    }
}
