using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>The owner's call survives a reload of the owner's tab, as the caller's does: the page says "Reconnecting your
/// call…", resumes the call with the same device, and the caller makes a new connection, so both sides get media again.</summary>
[Collection(BrowserCollection.Name)]
public sealed class OwnerRejoinTests(BrowserFixture browser)
{
    /// <summary>Records every text the call's state line shows, across the page's life.</summary>
    private const string RecordStates = """
        window.__callStates = [];
        new MutationObserver(() => {
          const text = document.getElementById('call-state')?.textContent;
          if (text && window.__callStates[window.__callStates.length - 1] !== text) window.__callStates.push(text);
        }).observe(document, { subtree: true, childList: true, characterData: true });
        """;

    private async Task<IBrowserContext> ContextAsync(string device, string baseUrl) => device == "phone"
        ? await browser.NewPhoneContextAsync(baseUrl) : await browser.NewDesktopContextAsync(baseUrl);

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task OwnerReloadsDuringVoiceCall_RejoinsAndMediaFlowsBothWays(string device)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await ContextAsync(device, server.BaseUrl);
        await using var callerContext = await ContextAsync(device, server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        await owner.AddInitScriptAsync(RecordStates);
        var errors = WebApp.CollectErrors(owner, caller);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Owner reload", "audio", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await WebApp.AnswerDirectAsync(caller, yes: true);
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.AnswerDirectAsync(owner, yes: true);
        await WebApp.WaitConnectedAsync(owner, caller);
        var callId = await caller.EvaluateAsync<string>("() => window.qrcallingDebug.callId");
        await Expect(owner.GetByTestId("call-timer")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^0:0[2-9]$"), new() { Timeout = 5_000 });
        var callerPcBefore = await caller.EvaluateAsync<string>("() => window.qrcallingDebug.session.pcId");

        await owner.ReloadAsync();

        // Back in the same call, without a second direct-connection question; the caller made a new connection.
        await Expect(owner.GetByTestId("call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        Assert.Equal(callId, await owner.EvaluateAsync<string>("() => window.qrcallingDebug.session.callId"));
        await WebApp.WaitConnectedAsync(owner, caller);
        await Expect(owner.GetByTestId("direct-prompt")).ToBeHiddenAsync();
        Assert.NotEqual(callerPcBefore, await caller.EvaluateAsync<string>("() => window.qrcallingDebug.session.pcId"));
        await WebApp.AssertAudioFlowsAsync(owner, "owner after its reload");
        await WebApp.AssertAudioFlowsAsync(caller, "caller after the owner's reload");
        await Expect(owner.GetByTestId("call-state")).ToHaveTextAsync("Connected", new() { Timeout = 10_000 });
        await Expect(caller.GetByTestId("call-state")).ToHaveTextAsync("Connected", new() { Timeout = 10_000 });
        Assert.Contains("Reconnecting your call…", await owner.EvaluateAsync<string[]>("() => window.__callStates"));
        // The timer counts from when the call was answered, not from the reload.
        Assert.Matches("^0:(0[2-9]|[1-5][0-9])$", await owner.GetByTestId("call-timer").TextContentAsync());
        // The chat key was exchanged again: messages go both ways.
        await WebApp.WaitChatReadyAsync(owner, caller);
        await WebApp.SendChatAsync(caller, owner, "can you hear me again?");
        await WebApp.SendChatAsync(owner, caller, "yes, I reloaded");
        await WebApp.ScreenshotAsync(owner, $"owner-rejoined-{device}");

        // Hanging up ends it for both, and the owner's tab forgets the call: a reload now shows no call.
        await owner.GetByTestId("hangup").ClickAsync();
        await Expect(caller.GetByTestId("call-ended")).ToContainTextAsync("The other side hung up", new() { Timeout = 10_000 });
        await owner.WaitForFunctionAsync("() => sessionStorage.getItem('qrcalling.owner.call') === null");
        await owner.ReloadAsync();
        await WebApp.WaitOnlineAsync(owner);
        await Expect(owner.GetByTestId("call")).ToBeHiddenAsync();
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }
}
