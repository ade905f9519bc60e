using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>Issue 14, delegates, in the web app at phone (390x844) and desktop (1280x800) sizes, with two signed-in
/// accounts: the owner invites someone to answer a code too (QR and link), the other account opens the link, signs up
/// and the page says in words what it now answers; a chat call the owner does not answer rings the other account's page,
/// which answers and chats with the caller; then the owner removes them. A used invitation is refused in words.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DelegatesPageTests(BrowserFixture browser)
{
    private Task<IBrowserContext> NewContextAsync(string viewport, string baseUrl) =>
        viewport == "phone" ? browser.NewPhoneContextAsync(baseUrl) : browser.NewDesktopContextAsync(baseUrl);

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task InviteAcceptRingAnswerAndRemove_TheOtherAccountAnswersTheCode(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync("--QrCalling:SweepInterval=00:00:00.500");
        await using var ownerContext = await NewContextAsync(viewport, server.BaseUrl);
        await using var memberContext = await NewContextAsync(viewport, server.BaseUrl);
        await using var callerContext = await NewContextAsync(viewport, server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var member = await memberContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, member);
        var codeLink = await WebApp.SignUpAndCreateCodeAsync(owner, "Front door", "chat");

        await Expect(owner.GetByTestId("delegates-empty")).ToHaveTextAsync("Nobody else answers your codes yet.");
        await owner.GetByTestId("delegate-after").SelectOptionAsync("0");
        await owner.GetByTestId("delegate-invite").ClickAsync();
        await Expect(owner.GetByTestId("delegate-qr")).ToHaveAttributeAsync("src", new Regex("^data:image/svg\\+xml;base64,"));
        await Expect(owner.GetByTestId("delegate-countdown")).ToContainTextAsync("“Front door”");
        var link = await owner.GetByTestId("delegate-link").InputValueAsync();
        Assert.Matches("^" + Regex.Escape(server.BaseUrl) + "/delegate#qdi_[A-Za-z0-9_-]{43}$", link);
        await WebApp.ScreenshotAsync(owner, $"delegates-invite-{viewport}", fullPage: false);

        // The other person opens the link, is asked to sign in, signs up: the page accepts and says what it means.
        await member.GotoAsync(link);
        Assert.DoesNotContain("#", member.Url);
        await Expect(member.GetByTestId("delegate-invited")).ToContainTextAsync("Sign in (or sign up) to accept");
        await member.GetByLabel("User name").FillAsync("member" + Guid.NewGuid().ToString("N")[..10]);
        await member.GetByLabel("Password").FillAsync("correct horse battery");
        await member.GetByTestId("sign-up").ClickAsync();
        await WebApp.WaitOnlineAsync(member);
        await Expect(member.GetByTestId("delegates-status")).ToContainTextAsync("You now answer calls to “Front door” when nobody picks up at once.",
            new() { Timeout = 10_000 });
        await Expect(member.GetByTestId("delegation-row")).ToContainTextAsync("You answer “Front door”");
        await Expect(member.GetByTestId("delegate-invited")).ToBeHiddenAsync();
        await WebApp.ScreenshotAsync(member, $"delegates-accepted-{viewport}", fullPage: false);

        await owner.GetByTestId("delegate-done").ClickAsync();
        await Expect(owner.GetByTestId("delegate-row")).ToContainTextAsync("Someone answers “Front door”");

        // A chat call the owner does not answer rings the member's page too; the member answers and chats.
        await caller.GotoAsync(codeLink);
        await caller.GetByTestId("call-chat").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Expect(member.GetByTestId("incoming-call")).ToContainTextAsync("Front door", new() { Timeout = 10_000 });
        await WebApp.ScreenshotAsync(member, $"delegates-ringing-{viewport}", fullPage: false);
        await member.GetByTestId("accept").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToBeHiddenAsync(new() { Timeout = 10_000 });
        await WebApp.WaitChatReadyAsync(caller, member);
        await WebApp.SendChatAsync(caller, member, "Is anyone home?");
        await WebApp.SendChatAsync(member, caller, "Yes, coming to the door.");

        // The owner removes them (asked first).
        await owner.GetByTestId("delegate-remove").ClickAsync();
        await owner.GetByTestId("confirm-ok").ClickAsync();
        await Expect(owner.GetByTestId("delegates-status")).ToHaveTextAsync("They no longer answer “Front door”.");
        await Expect(owner.GetByTestId("delegate-row")).ToHaveCountAsync(0);

        // The invitation worked once: opened again, it is refused in words.
        await member.GotoAsync(link);
        await Expect(member.GetByTestId("delegates-error")).ToHaveTextAsync("This invitation has already been used or has expired. Ask for a new one.",
            new() { Timeout = 10_000 });
        Assert.DoesNotContain(errors, e => !e.StartsWith("Failed to load resource", StringComparison.Ordinal));
    }
}
