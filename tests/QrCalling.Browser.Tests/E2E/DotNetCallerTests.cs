using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using QrCalling.Client;
using QrCalling.Client.E2E;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests.E2E;

/// <summary>The .NET client (<see cref="QrCallingCallerClient"/>) as the caller rings the web app's owner page in
/// Chromium; the owner answers in the page, both show the same check code, and an end-to-end encrypted chat crosses each
/// way between QrCalling.Client's E2E and wwwroot/js/e2e.js.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DotNetCallerTests(BrowserFixture browser)
{
    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task DotNetCaller_RingsTheOwnerPage_SameCheckCode_AndChatsBothWays(string size)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = size == "phone" ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        var owner = await context.NewPageAsync();
        var errors = WebApp.CollectErrors(owner);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Ring from .NET", "chat");

        var callers = new QrCallingCallerClient(new HttpClient(), new QrCallingClientOptions { BaseAddress = new Uri(server.BaseUrl) });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;
        Assert.Equal("Ring from .NET", (await callers.ScanAsync(link, ct)).Label);
        var call = await callers.StartCallAsync(link, CallMedia.Chat, ct);
        await using var caller = await callers.ConnectAsync(call, ct);
        using var e2e = new E2ESession(E2ERole.Initiator, call.CallId);
        await caller.SignalAsync("key-exchange", JsonDocument.Parse(e2e.Start().ToJson()).RootElement, ct);

        await Expect(owner.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await owner.GetByTestId("accept").ClickAsync();

        var events = caller.ReadEventsAsync(ct).GetAsyncEnumerator(ct);
        var accepted = false;
        while (e2e.State != E2ESessionState.Established)
        {
            Assert.True(await events.MoveNextAsync(), "the call's events ended before the key exchange did");
            switch (events.Current)
            {
                case CallAccepted:
                    accepted = true;
                    break;
                case SignalReceived { Type: "key-exchange" } signal when e2e.Receive(E2EMessage.Parse(signal.Data.GetRawText())).Reply is { } reply:
                    await caller.SignalAsync("key-exchange", JsonDocument.Parse(reply.ToJson()).RootElement, ct);
                    break;
                case CallEnded ended:
                    Assert.Fail("The call ended: " + ended.Reason);
                    break;
            }
        }
        Assert.True(accepted);
        await Expect(owner.GetByTestId("check-code")).ToHaveTextAsync(e2e.CheckCode!, new() { Timeout = 15_000 });
        Assert.Matches(new Regex("^[0-9]{3} [0-9]{3}$"), e2e.CheckCode!);

        // .NET to the page, and the page's answer back, each encrypted end to end.
        await caller.ChatAsync(e2e.Encrypt("Hello from a .NET app ✓"), ct);
        await Expect(owner.Locator("[data-testid=chat-message].them").Last).ToHaveTextAsync("Hello from a .NET app ✓", new() { Timeout = 10_000 });
        await WebApp.WaitChatReadyAsync(owner);
        await owner.GetByTestId("chat-input").FillAsync("Hello back from the browser");
        await owner.GetByTestId("chat-send").ClickAsync();
        string? reply1 = null;
        while (reply1 is null && await events.MoveNextAsync())
        {
            if (events.Current is ChatReceived chat)
            {
                reply1 = e2e.Decrypt(chat.Ciphertext).Text;
            }
        }
        Assert.Equal("Hello back from the browser", reply1);
        await WebApp.ScreenshotAsync(owner, $"dotnet-caller-owner-{size}");

        await caller.HangupAsync(ct);
        await Expect(owner.GetByTestId("call-ended")).ToContainTextAsync("The other side hung up", new() { Timeout = 10_000 });
        await events.DisposeAsync();
        Assert.Empty(errors);
    }
}
