using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>Issue 13 on the owner page: a code is paused and resumed from its row; while paused the row says so in words
/// and the caller's link says the code is not available; once resumed the caller can call again. Phone (390x844) and
/// desktop (1280x800).</summary>
[Collection(BrowserCollection.Name)]
public sealed class CodePauseTests(BrowserFixture browser)
{
    private Task<IBrowserContext> ContextAsync(string viewport, string baseUrl) =>
        viewport == "phone"
            ? browser.Browser.NewContextAsync(BrowserFixture.PhoneOptions(baseUrl, ["camera", "microphone"]))
            : browser.Browser.NewContextAsync(new BrowserNewContextOptions
            {
                BaseURL = baseUrl,
                ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
                Permissions = ["camera", "microphone"],
            });

    private static ILocator Row(IPage owner, string label) =>
        owner.GetByTestId("code-row").Filter(new()
        {
            Has = owner.Locator("[data-testid=code-name]", new() { HasTextRegex = new Regex("^" + Regex.Escape(label) + "$") }),
        });

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task PauseAndResume_FromTheRow_CallerSeesUnavailableThenCanScanAgain(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await ContextAsync(viewport, server.BaseUrl);
        await using var callerContext = await ContextAsync(viewport, server.BaseUrl);
        var owner = await context.NewPageAsync();
        var errors = WebApp.CollectErrors(owner);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Garden gate", "audio", "chat");
        var row = Row(owner, "Garden gate");
        await Expect(row.GetByTestId("code-status")).ToHaveTextAsync("active");

        await row.GetByTestId("pause-code").ClickAsync();

        await Expect(row.GetByTestId("code-status")).ToHaveTextAsync("paused");
        await Expect(row).ToHaveAttributeAsync("data-state", "paused");
        await Expect(row.GetByTestId("paused-note")).ToContainTextAsync("nobody can call through it until you resume it");
        await Expect(owner.GetByTestId("codes-status")).ToContainTextAsync("is paused: whoever scans it is told it is not available");
        await Expect(row.GetByTestId("pause-code")).ToHaveCountAsync(0);
        await Expect(row.GetByTestId("resume-code")).ToBeVisibleAsync();
        await WebApp.ScreenshotAsync(owner, $"code-paused-{viewport}");
        var caller = await callerContext.NewPageAsync();
        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("scan-error")).ToContainTextAsync("This code is not available");
        await WebApp.ScreenshotAsync(caller, $"code-paused-caller-{viewport}");

        // The state survives a reload: it comes from the server.
        await owner.ReloadAsync();
        await WebApp.WaitOnlineAsync(owner);
        await Expect(Row(owner, "Garden gate").GetByTestId("code-status")).ToHaveTextAsync("paused");
        await Row(owner, "Garden gate").GetByTestId("resume-code").ClickAsync();

        await Expect(Row(owner, "Garden gate").GetByTestId("code-status")).ToHaveTextAsync("active");
        await Expect(owner.GetByTestId("codes-status")).ToContainTextAsync("takes calls again");
        await Expect(Row(owner, "Garden gate").GetByTestId("pause-code")).ToBeVisibleAsync();
        var again = await callerContext.NewPageAsync();
        await again.GotoAsync(link);
        await Expect(again.GetByTestId("scan-error")).ToBeEmptyAsync();
        await Expect(again.GetByText("Garden gate").First).ToBeVisibleAsync();
        Assert.Empty(errors);
    }
}
