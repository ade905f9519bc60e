using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests.JsClient;

/// <summary>The JavaScript client module on its own: the minimal example page (wwwroot/examples/minimal-caller.html, which
/// uses nothing but qrcalling-client.js and SignalR's browser client) calls an owner on the normal owner page, and the two
/// exchange end-to-end encrypted chat messages both ways with the same check code.</summary>
[Collection(BrowserCollection.Name)]
public sealed class MinimalCallerExampleTests(BrowserFixture browser)
{
    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task MinimalExamplePage_CallsOwnerPage_ChatFlowsBothWaysWithOneCheckCode(string device)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = device == "phone"
            ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, caller);
        var scripts = new List<string>();
        caller.Request += (_, request) => { if (request.ResourceType == "script") scripts.Add(new Uri(request.Url).AbsolutePath); };
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Example desk", "chat");

        await caller.GotoAsync("/examples/minimal-caller.html");
        await caller.GetByTestId("link").FillAsync(link);
        await caller.GetByTestId("scan").ClickAsync();
        await Expect(caller.GetByTestId("status")).ToHaveTextAsync("Example desk takes chat.");
        await caller.GetByTestId("start").ClickAsync();
        await Expect(caller.GetByTestId("status")).ToHaveTextAsync("Calling…");

        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.WaitChatReadyAsync(owner);
        await Expect(caller.GetByTestId("status")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^Encrypted\. Check code: \d{3} ?\d{3}$"), new() { Timeout = 10_000 });
        var ownerCode = (await owner.GetByTestId("check-code").TextContentAsync())!;
        var callerStatus = (await caller.GetByTestId("status").TextContentAsync())!;
        Assert.Equal(ownerCode.Replace(" ", "", StringComparison.Ordinal), callerStatus["Encrypted. Check code: ".Length..].Replace(" ", "", StringComparison.Ordinal));

        await caller.GetByTestId("message").FillAsync("hello from the module");
        await caller.GetByTestId("send").ClickAsync();
        await Expect(owner.Locator("[data-testid=chat-message].them").Last).ToHaveTextAsync("hello from the module", new() { Timeout = 10_000 });
        await Expect(caller.Locator("[data-testid=log] li.me").Last).ToHaveTextAsync("You: hello from the module");

        await owner.GetByTestId("chat-input").FillAsync("hello from the owner page");
        await owner.GetByTestId("chat-send").ClickAsync();
        await Expect(caller.Locator("[data-testid=log] li.them").Last).ToHaveTextAsync("Owner: hello from the owner page", new() { Timeout = 10_000 });

        await WebApp.ScreenshotAsync(caller, $"minimal-caller-{device}");
        await caller.GetByTestId("hangup").ClickAsync();
        await Expect(owner.GetByTestId("call-ended")).ToContainTextAsync("The other side hung up.", new() { Timeout = 10_000 });
        await Expect(caller.GetByTestId("status")).ToHaveTextAsync("The call ended.");

        // Only the module (and what it imports) and SignalR ran on the example page: none of the sample's page scripts.
        Assert.Contains("/js/qrcalling-client.js", scripts);
        Assert.DoesNotContain(scripts, s => s is "/js/call.js" or "/js/caller.js" or "/js/api.js" or "/js/owner.js");
        Assert.Empty(errors);
    }
}
