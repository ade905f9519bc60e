using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>Issue 14, "Who may call, and when", in the web app at phone (390x844) and desktop (1280x800) sizes: the owner
/// blocks the caller of a ringing call (with a confirmation), that browser then finds the code not available while
/// another browser can still call, and the owner unblocks it under "Who may call"; chat-only mode and quiet hours set on
/// the owner page are what the caller page shows before calling, with the call quota.</summary>
[Collection(BrowserCollection.Name)]
public sealed class WhoMayCallTests(BrowserFixture browser)
{
    private const string Unavailable = "This code is not available (unknown, withdrawn, expired or used up).";

    /// <summary>Page errors, without the browser's own console line for the 404 a blocked scan gets (expected here).</summary>
    private static string[] Unexpected(IEnumerable<string> errors) =>
        [.. errors.Where(e => !e.StartsWith("Failed to load resource: the server responded with a status of 404", StringComparison.Ordinal))];

    private Task<IBrowserContext> NewContextAsync(string viewport, string baseUrl) =>
        viewport == "phone" ? browser.NewPhoneContextAsync(baseUrl) : browser.NewDesktopContextAsync(baseUrl);

    private static ILocator Row(IPage owner, string label) =>
        owner.GetByTestId("code-row").Filter(new()
        {
            Has = owner.Locator("[data-testid=code-name]", new() { HasTextRegex = new Regex("^" + Regex.Escape(label) + "$") }),
        });

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task BlockRingingCaller_ThatBrowserSeesUnavailable_OthersCanCall_UnblockLetsItBack(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await NewContextAsync(viewport, server.BaseUrl);
        await using var callerContext = await NewContextAsync(viewport, server.BaseUrl);
        await using var otherContext = await NewContextAsync(viewport, server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var other = await otherContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, caller, other);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Front gate", "audio", "chat");

        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Front gate");
        await caller.GetByTestId("call-chat").ClickAsync();
        var ring = owner.GetByTestId("incoming-call");
        await Expect(ring).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await ring.GetByTestId("ring-block").ClickAsync();
        await Expect(owner.GetByTestId("confirm-dialog")).ToBeVisibleAsync();
        await Expect(owner.GetByTestId("confirm-dialog")).ToContainTextAsync("You will not learn who they are");
        await WebApp.ScreenshotAsync(owner, $"block-confirm-{viewport}", fullPage: false);
        await owner.GetByTestId("confirm-ok").ClickAsync();

        await Expect(owner.GetByTestId("history-status")).ToHaveTextAsync("The caller was blocked on “Front gate”.");
        await Expect(ring).ToBeHiddenAsync(); // declined as well
        await caller.GotoAsync("about:blank");
        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("scan-error")).ToHaveTextAsync(Unavailable);
        await Expect(caller.GetByTestId("code")).ToBeHiddenAsync();
        await WebApp.ScreenshotAsync(caller, $"block-caller-sees-unavailable-{viewport}");
        // Another browser (another caller key) still reaches the owner.
        await other.GotoAsync(link);
        await Expect(other.GetByTestId("code-label")).ToHaveTextAsync("Front gate");
        await Expect(other.GetByTestId("call-audio")).ToBeVisibleAsync();
        // The blocked browser keeps its one caller key across reloads (that is what the block is bound to).
        Assert.Matches("^[A-Za-z0-9_-]{43}$", await caller.EvaluateAsync<string>("() => localStorage.getItem('qrcalling.caller.key')"));

        await Row(owner, "Front gate").GetByTestId("who-may-call").ClickAsync();
        var dialog = owner.GetByTestId("who-dialog");
        await Expect(dialog.GetByTestId("who-block")).ToHaveCountAsync(1);
        await Expect(dialog.GetByTestId("who-block")).ToContainTextAsync("A caller blocked on");
        await WebApp.ScreenshotAsync(owner, $"block-list-{viewport}", fullPage: false);
        await dialog.GetByTestId("unblock").ClickAsync();
        await Expect(dialog.GetByTestId("who-blocks-empty")).ToBeVisibleAsync();
        await Expect(owner.GetByTestId("codes-status")).ToHaveTextAsync("The caller was unblocked: they can call this code again.");
        await dialog.GetByTestId("who-close").ClickAsync();

        await caller.GotoAsync("about:blank");
        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Front gate");
        Assert.Empty(Unexpected(errors));
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task BlockFromHistory_AsksFirst_ThenTheCallerSeesUnavailable(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await NewContextAsync(viewport, server.BaseUrl);
        await using var callerContext = await NewContextAsync(viewport, server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, caller);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Side door", "chat");

        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await owner.GetByTestId("reject").ClickAsync();
        await owner.Locator("#refresh-history").ClickAsync();
        var entry = owner.GetByTestId("history").Locator("li").First;
        await Expect(entry).ToContainTextAsync("Side door");

        await entry.GetByTestId("block-caller").ClickAsync();
        await owner.GetByTestId("confirm-cancel").ClickAsync(); // nothing happens without a yes
        await caller.GotoAsync("about:blank");
        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Side door");
        await entry.GetByTestId("block-caller").ClickAsync();
        await owner.GetByTestId("confirm-ok").ClickAsync();
        await Expect(owner.GetByTestId("history-status")).ToHaveTextAsync("The caller was blocked on “Side door”.");
        await WebApp.ScreenshotAsync(owner, $"block-history-{viewport}");

        await caller.GotoAsync("about:blank");
        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("scan-error")).ToHaveTextAsync(Unavailable);
        Assert.Empty(Unexpected(errors));
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task ChatOnlyAndQuietHours_CallerSeesWhatIsPossibleBeforeCalling(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await NewContextAsync(viewport, server.BaseUrl);
        await using var callerContext = await NewContextAsync(viewport, server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, caller);
        await WebApp.SignUpAsync(owner);
        await owner.Locator("#code-max-scans").FillAsync("5");
        var link = await WebApp.CreateCodeAsync(owner, "Blue van", "audio", "video", "chat");

        await Row(owner, "Blue van").GetByTestId("who-may-call").ClickAsync();
        var dialog = owner.GetByTestId("who-dialog");
        await Expect(dialog.GetByTestId("who-quota")).ToHaveTextAsync("Calls: 0 of 5 calls used (5 left).");
        await Expect(dialog.GetByTestId("who-now")).ToHaveTextAsync("Callers can reach you now with everything this code allows.");
        await dialog.GetByTestId("who-chat-only").CheckAsync();
        await dialog.GetByTestId("who-save").ClickAsync();
        await Expect(dialog.GetByTestId("who-now")).ToHaveTextAsync("Chats only: callers cannot start voice or video calls.");

        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("code-policy")).ToHaveTextAsync("The owner takes chats only right now.");
        await Expect(caller.GetByTestId("call-audio")).ToBeHiddenAsync();
        await Expect(caller.GetByTestId("call-video")).ToBeHiddenAsync();
        await Expect(caller.GetByTestId("call-chat")).ToBeVisibleAsync();
        await WebApp.ScreenshotAsync(caller, $"dnd-chat-only-caller-{viewport}");

        // Quiet hours from an hour ago to two hours ahead, in this browser's time zone (the dialog's default).
        await dialog.GetByTestId("who-chat-only").UncheckAsync();
        await dialog.GetByTestId("who-quiet").CheckAsync();
        var times = await owner.EvaluateAsync<string[]>("""
            () => {
              const at = (minutes) => { const d = new Date(Date.now() + minutes * 60000); return d; };
              const hhmm = (d) => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
              const end = at(120);
              return [hhmm(at(-60)), hhmm(end), end.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })];
            }
            """);
        var (start, end, until) = (times[0], times[1], times[2]);
        await dialog.GetByTestId("who-start").FillAsync(start);
        await dialog.GetByTestId("who-end").FillAsync(end);
        await dialog.GetByTestId("who-save").ClickAsync();
        await Expect(dialog.GetByTestId("who-now")).ToHaveTextAsync($"Quiet hours until {until}: no voice or video calls until then; chats still come in.");
        await WebApp.ScreenshotAsync(owner, $"dnd-owner-dialog-{viewport}", fullPage: false);
        await dialog.GetByTestId("who-close").ClickAsync();
        await Expect(Row(owner, "Blue van").GetByTestId("code-calls")).ToHaveAttributeAsync("title", "0 of 5 calls used (5 left)");

        await caller.GotoAsync("about:blank");
        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("code-policy")).ToHaveTextAsync($"Quiet hours until {until} — no voice or video calls, but you can send a chat or leave a message.");
        await Expect(caller.GetByTestId("call-audio")).ToBeHiddenAsync();
        await Expect(caller.GetByTestId("call-chat")).ToBeVisibleAsync();
        await Expect(caller.GetByTestId("leave-message")).ToBeVisibleAsync();
        await Expect(caller.GetByTestId("code-reach")).ToBeHiddenAsync(); // one line, not "can be rung now" above "quiet hours"
        await WebApp.ScreenshotAsync(caller, $"dnd-quiet-caller-{viewport}");

        // Back to everything: the caller sees voice and video again.
        await Row(owner, "Blue van").GetByTestId("who-may-call").ClickAsync();
        await Expect(dialog.GetByTestId("who-quiet")).ToBeCheckedAsync();
        await dialog.GetByTestId("who-quiet").UncheckAsync();
        await dialog.GetByTestId("who-save").ClickAsync();
        await Expect(dialog.GetByTestId("who-now")).ToHaveTextAsync("Callers can reach you now with everything this code allows.");
        await caller.GotoAsync("about:blank");
        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("call-audio")).ToBeVisibleAsync();
        await Expect(caller.GetByTestId("code-policy")).ToBeHiddenAsync();
        await Expect(caller.GetByTestId("code-reach")).ToHaveTextAsync("The owner can be rung now.");
        Assert.Empty(Unexpected(errors));
    }
}
