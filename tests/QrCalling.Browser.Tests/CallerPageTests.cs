using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>The caller page: the payload leaves the address bar and the history as soon as it was read; a call survives a
/// reload of the caller's tab.</summary>
[Collection(BrowserCollection.Name)]
public sealed class CallerPageTests(BrowserFixture browser)
{
    [Fact]
    public async Task OpenedFromLink_PayloadIsRemovedFromAddressBarAndHistory()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Doorbell", "audio", "chat");

        await caller.GotoAsync("/favicon.svg"); // a page before, to go back to
        var entriesBefore = await caller.EvaluateAsync<int>("() => history.length");
        await caller.GotoAsync(link);

        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Doorbell");
        Assert.Equal(server.BaseUrl + "/c", await caller.EvaluateAsync<string>("() => location.href"));
        Assert.Equal("", await caller.EvaluateAsync<string>("() => location.hash"));
        // One new entry (the link's own, rewritten in place), not a second one holding the payload.
        Assert.Equal(entriesBefore + 1, await caller.EvaluateAsync<int>("() => history.length"));
        Assert.DoesNotContain("PQC", caller.Url, StringComparison.OrdinalIgnoreCase);
        await WebApp.ScreenshotAsync(caller, "caller-code-view");

        // Back leads to the page before; forward to the caller page without the payload. No entry holds it.
        await caller.GoBackAsync();
        Assert.EndsWith("/favicon.svg", caller.Url, StringComparison.Ordinal);
        await caller.GoForwardAsync();
        Assert.Equal(server.BaseUrl + "/c", caller.Url);
        Assert.DoesNotContain("PQC", await caller.EvaluateAsync<string>("() => location.href"), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task FragmentSetLater_IsReadAndRemovedToo()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Later", "chat");

        await caller.GotoAsync("/c");
        await Expect(caller.GetByTestId("scan")).ToBeVisibleAsync();
        await caller.EvaluateAsync("(hash) => { location.hash = hash; }", link[link.IndexOf('#', StringComparison.Ordinal)..]);

        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Later");
        Assert.Equal(server.BaseUrl + "/c", await caller.EvaluateAsync<string>("() => location.href"));
        await caller.GoBackAsync();
        Assert.DoesNotContain("PQC", await caller.EvaluateAsync<string>("() => location.href"), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task CallerReloadsDuringChat_RejoinsTheCallAndChatWorksBothWays()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Reload chat", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.WaitChatReadyAsync(owner, caller);
        await WebApp.SendChatAsync(caller, owner, "before the reload");
        var callId = await caller.EvaluateAsync<string>("() => window.qrcallingDebug.callId");

        await caller.ReloadAsync();

        await Expect(caller.GetByTestId("call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        Assert.Equal(callId, await caller.EvaluateAsync<string>("() => window.qrcallingDebug.callId"));
        await Expect(caller.GetByTestId("call-state")).ToHaveTextAsync("Connected", new() { Timeout = 10_000 });
        await WebApp.WaitChatReadyAsync(caller);
        await WebApp.SendChatAsync(owner, caller, "after the reload");
        await WebApp.SendChatAsync(caller, owner, "still here");
        await Expect(caller.GetByTestId("scan")).ToBeHiddenAsync();
        await WebApp.ScreenshotAsync(caller, "caller-rejoined-chat");

        // Hanging up ends it for both, and the tab forgets the call.
        await caller.GetByTestId("hangup").ClickAsync();
        await Expect(owner.GetByTestId("call-ended")).ToContainTextAsync("The other side hung up", new() { Timeout = 10_000 });
        await caller.WaitForFunctionAsync("() => sessionStorage.getItem('qrcalling.caller.call') === null");
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }

    [Fact]
    public async Task CallerReloadsDuringVoiceCall_RejoinsAndAudioFlowsAgain()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Reload voice", "audio", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await WebApp.AnswerDirectAsync(caller, yes: true);
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.AnswerDirectAsync(owner, yes: true);
        await WebApp.WaitConnectedAsync(owner, caller);
        await Expect(caller.GetByTestId("call-timer")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^0:0[2-9]$"), new() { Timeout = 5_000 });

        await caller.ReloadAsync();

        // The answer to the direct-connection question holds for this call: no second question.
        await WebApp.WaitConnectedAsync(caller, owner);
        await Expect(caller.GetByTestId("direct-prompt")).ToBeHiddenAsync();
        // The timer counts from the answer, not from the reload.
        Assert.Matches("^0:(0[2-9]|[1-5][0-9])$", await caller.GetByTestId("call-timer").TextContentAsync());
        await WebApp.AssertAudioFlowsAsync(caller, "caller after reload");
        await WebApp.AssertAudioFlowsAsync(owner, "owner after the caller's reload");
        await WebApp.WaitChatReadyAsync(caller);
        await WebApp.SendChatAsync(owner, caller, "I hear you again");
        await Expect(caller.GetByTestId("call-state")).ToHaveTextAsync("Connected");
    }

    [Fact]
    public async Task CallerReloadsAfterTheCallEnded_SeesItEndedNotTheCall()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Ended", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.WaitChatReadyAsync(owner, caller);
        await owner.GetByTestId("hangup").ClickAsync();
        await Expect(caller.GetByTestId("call-ended")).ToContainTextAsync("The other side hung up", new() { Timeout = 10_000 });

        await caller.ReloadAsync();

        await Expect(caller.GetByTestId("scan")).ToBeVisibleAsync();
        await Expect(caller.GetByTestId("call")).ToBeHiddenAsync();
    }
}
