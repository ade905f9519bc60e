using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>A second call never silently hangs up the first: the owner sees "Busy" and chooses; the owner's other tabs stop
/// ringing when one answers.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SecondCallTests(BrowserFixture browser)
{
    private static async Task<IPage> CallerAsync(IBrowserContext context, string link, string media = "chat")
    {
        var caller = await context.NewPageAsync();
        await caller.GotoAsync(link);
        await caller.GetByTestId($"call-{media}").ClickAsync();
        return caller;
    }

    [Fact]
    public async Task SecondCallDuringACall_OwnerSeesBusyAndDeclines_FirstCallGoesOn()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var firstContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var secondContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Shop", "audio", "chat");
        var first = await CallerAsync(firstContext, link);
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.WaitChatReadyAsync(owner, first);

        var second = await CallerAsync(secondContext, link);

        var card = owner.GetByTestId("incoming-call");
        await Expect(card).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Expect(owner.GetByTestId("busy")).ToHaveTextAsync("Busy: you are in a call. Answering this one ends it.");
        await Expect(owner.GetByTestId("end-and-answer")).ToBeVisibleAsync();
        Assert.Equal("waiting", await owner.EvaluateAsync<string>("() => window.qrcallingDebug.ringTone.mode"));
        // Nothing happened to the first call.
        await Expect(owner.GetByTestId("call-state")).ToHaveTextAsync("Connected");
        await Expect(first.GetByTestId("call-state")).ToHaveTextAsync("Connected");
        await WebApp.ScreenshotAsync(owner, "busy-second-call", fullPage: false);
        // Enter on the card does not end the current call.
        await owner.Keyboard.PressAsync("Enter");
        await Expect(card).ToBeVisibleAsync();

        await owner.GetByTestId("reject").ClickAsync();

        await Expect(second.GetByTestId("call-ended")).ToHaveTextAsync("The owner declined the call.", new() { Timeout = 10_000 });
        await Expect(owner.GetByTestId("incoming")).ToBeHiddenAsync();
        await WebApp.SendChatAsync(first, owner, "still talking");
        await WebApp.SendChatAsync(owner, first, "yes");
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }

    [Fact]
    public async Task SecondCallDuringACall_EndAndAnswer_EndsTheFirstAndConnectsTheSecond()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var firstContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var secondContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Desk", "audio", "chat");
        var first = await CallerAsync(firstContext, link);
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.WaitChatReadyAsync(owner, first);

        var second = await CallerAsync(secondContext, link);
        await owner.GetByTestId("end-and-answer").ClickAsync();

        await Expect(first.GetByTestId("call-ended")).ToContainTextAsync("The other side hung up.", new() { Timeout = 10_000 });
        await WebApp.WaitChatReadyAsync(owner, second);
        await Expect(owner.GetByTestId("call-state")).ToHaveTextAsync("Connected");
        await WebApp.SendChatAsync(second, owner, "thanks for picking up");
        await Expect(owner.GetByTestId("chat-message")).ToHaveCountAsync(1); // the new call's chat only
    }

    [Fact]
    public async Task TwoTabsOfTheOwner_OneAnswers_TheOtherStopsRinging()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var tab1 = await ownerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(tab1, "Two tabs", "chat");
        var tab2 = await ownerContext.NewPageAsync();
        await tab2.GotoAsync("/"); // signed in from storage
        await WebApp.WaitOnlineAsync(tab2);
        Assert.NotEqual(
            await tab1.EvaluateAsync<string>("() => sessionStorage.getItem('qrcalling.owner.deviceId')"),
            await tab2.EvaluateAsync<string>("() => sessionStorage.getItem('qrcalling.owner.deviceId')"));

        var caller = await CallerAsync(callerContext, link);
        await Expect(tab1.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Expect(tab2.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await tab2.GetByTestId("accept").ClickAsync();

        await Expect(tab1.GetByTestId("incoming")).ToBeHiddenAsync(new() { Timeout = 10_000 });
        await Expect(tab1).ToHaveTitleAsync("QrCalling · your codes");
        Assert.False(await tab1.EvaluateAsync<bool>("() => window.qrcallingDebug.ringTone.playing"));
        await Expect(tab1.GetByTestId("call")).ToBeHiddenAsync();
        await WebApp.WaitChatReadyAsync(tab2, caller);
        await WebApp.SendChatAsync(caller, tab2, "hello, second tab");
        // Answered elsewhere is not a missed call.
        await tab1.GetByRole(AriaRole.Button, new() { Name = "Refresh call history" }).ClickAsync();
        await Expect(tab1.GetByTestId("missed")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task TwoTabsWithTheSameDeviceId_OneAnswers_TheOtherStopsRingingToo()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var tab1 = await ownerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(tab1, "Duplicated tab", "chat");
        // A duplicated tab carries the same sessionStorage, so the same device id: the tabs tell each other.
        var deviceId = await tab1.EvaluateAsync<string>("() => sessionStorage.getItem('qrcalling.owner.deviceId')");
        var credential = await tab1.EvaluateAsync<string>("() => sessionStorage.getItem('qrcalling.owner.deviceCredential')");
        Assert.StartsWith("qd_", deviceId); // issued by the server, with its credential
        var tab2 = await ownerContext.NewPageAsync();
        await tab2.AddInitScriptAsync(
            $"sessionStorage.setItem('qrcalling.owner.deviceId', '{deviceId}'); sessionStorage.setItem('qrcalling.owner.deviceCredential', '{credential}');");
        await tab2.GotoAsync("/");
        await WebApp.WaitOnlineAsync(tab2);

        var caller = await CallerAsync(callerContext, link);
        await Expect(tab1.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Expect(tab2.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await tab1.GetByTestId("accept").ClickAsync();

        await Expect(tab2.GetByTestId("incoming")).ToBeHiddenAsync(new() { Timeout = 10_000 });
        await WebApp.WaitChatReadyAsync(tab1, caller);
    }
}
