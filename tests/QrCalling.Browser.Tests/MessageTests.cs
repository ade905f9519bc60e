using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>Presence and leave-a-message in the web app, at phone and desktop sizes: the caller sees whether the owner
/// can be rung; with the owner's page closed it leaves a message sealed in its browser; the owner opens the page, reads
/// the text decrypted in its own browser, and deletes it.</summary>
[Collection(BrowserCollection.Name)]
public sealed class MessageTests(BrowserFixture browser)
{
    private const string Text = "Your car's lights are on. — parked at gate 3 🚗";

    private Task<IBrowserContext> NewContextAsync(string viewport, string baseUrl) =>
        viewport == "phone" ? browser.NewPhoneContextAsync(baseUrl) : browser.NewDesktopContextAsync(baseUrl);

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task OwnerPageClosed_CallerSeesNotReachableAndLeavesAMessage_OwnerReadsAndDeletesIt(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await NewContextAsync(viewport, server.BaseUrl);
        await using var callerContext = await NewContextAsync(viewport, server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, caller);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Blue van", "audio", "chat");
        await Expect(owner.GetByTestId("messages-empty")).ToBeVisibleAsync(); // this browser's key is registered
        Assert.Equal("none", await owner.GetByTestId("messages-empty").EvaluateAsync<string>("e => getComputedStyle(e).listStyleType")); // not "1."

        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("code-reach")).ToHaveTextAsync("The owner can be rung now.");
        await Expect(caller.GetByTestId("leave-message")).ToBeHiddenAsync();

        await owner.CloseAsync();
        // The server hears of the closed page at once; a new scan preview tells.
        for (var i = 0; i < 20 && await ReachableAsync(caller, link) != "false"; i++)
        {
            await Task.Delay(250);
        }
        await Expect(caller.GetByTestId("code-reach")).ToHaveTextAsync("The owner is not reachable right now: you can leave a message.");
        await WebApp.ScreenshotAsync(caller, $"message-caller-unreachable-{viewport}");

        await caller.GetByTestId("leave-message").ClickAsync();
        await Expect(caller.GetByTestId("message-box")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Expect(caller.GetByTestId("message-limit")).ToContainTextAsync("characters left");
        await caller.GetByTestId("message-text").FillAsync(Text);
        await caller.GetByTestId("message-send").ClickAsync();
        await Expect(caller.GetByTestId("message-status")).ToHaveTextAsync("Message sent. Only the owner can read it.");
        await WebApp.ScreenshotAsync(caller, $"message-caller-sent-{viewport}");
        // One message per call: the box stays closed for more.
        await Expect(caller.GetByTestId("message-send")).ToBeDisabledAsync();

        var ownerAgain = await ownerContext.NewPageAsync();
        var ownerErrors = WebApp.CollectErrors(ownerAgain);
        await ownerAgain.GotoAsync("/");
        var message = ownerAgain.GetByTestId("message");
        await Expect(message).ToHaveCountAsync(1, new() { Timeout = 10_000 });
        await Expect(message.GetByTestId("message-body")).ToHaveTextAsync(Text);
        await Expect(message).ToContainTextAsync("From a caller on Blue van");
        await message.ScrollIntoViewIfNeededAsync();
        await WebApp.ScreenshotAsync(ownerAgain, $"message-owner-list-{viewport}");

        await message.GetByTestId("message-delete").ClickAsync();
        await Expect(ownerAgain.GetByTestId("messages-empty")).ToBeVisibleAsync();
        await ownerAgain.ReloadAsync();
        await Expect(ownerAgain.GetByTestId("messages-empty")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        Assert.Empty(errors);
        Assert.Empty(ownerErrors);
    }

    [Fact]
    public async Task OwnerDeclines_CallerLeavesAMessageAfterTheCall_OwnerReadsIt()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Front door", "chat");
        await Expect(owner.GetByTestId("messages-empty")).ToBeVisibleAsync();

        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        await owner.GetByTestId("reject").ClickAsync();
        await Expect(caller.GetByTestId("call-ended")).ToHaveTextAsync("The owner declined the call.");
        await Expect(caller.GetByTestId("message-box")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await caller.GetByTestId("message-text").FillAsync("Please call me back about the parcel.");
        await caller.GetByTestId("message-send").ClickAsync();
        await Expect(caller.GetByTestId("message-status")).ToHaveTextAsync("Message sent. Only the owner can read it.");

        await owner.GetByRole(AriaRole.Button, new() { Name = "Refresh messages" }).ClickAsync();
        await Expect(owner.GetByTestId("message-body")).ToHaveTextAsync("Please call me back about the parcel.");
        await WebApp.ScreenshotAsync(owner, "message-owner-after-decline");
    }

    /// <summary>Opens the link again (a fresh scan preview) and returns what the page shows as reachable.</summary>
    private static async Task<string?> ReachableAsync(IPage caller, string link)
    {
        await caller.GotoAsync("about:blank");
        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Blue van");
        return await caller.GetByTestId("code-reach").GetAttributeAsync("data-reachable");
    }
}
