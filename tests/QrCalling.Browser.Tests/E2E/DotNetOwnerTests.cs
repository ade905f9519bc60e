using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using QrCalling.Client;
using QrCalling.Client.E2E;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests.E2E;

/// <summary>The other way round from <see cref="DotNetCallerTests"/>: the web app's caller page in Chromium rings an
/// owner whose only device is the .NET client (<see cref="QrCallingOwnerClient"/>). The .NET device accepts, answers the
/// page's key exchange as the responder, both show the same check code, and an end-to-end encrypted chat crosses each
/// way between wwwroot/js/client/e2e.js and QrCalling.Client's E2E.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DotNetOwnerTests(BrowserFixture browser)
{
    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task BrowserCaller_RingsADotNetOwner_SameCheckCode_AndChatsBothWays(string size)
    {
        await using var server = await SampleHostServer.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var ct = timeout.Token;

        // An owner account of the sample host, used only through the .NET client.
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        var user = new { username = "net" + Guid.NewGuid().ToString("N")[..12], password = "correct horse battery" };
        (await http.PostAsJsonAsync("/api/v1/account/register", user, ct)).EnsureSuccessStatusCode();
        using var login = await http.PostAsJsonAsync("/api/v1/account/login", user, ct);
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("accessToken").GetString()!;
        using var ownerHttp = new HttpClient();
        var owner = new QrCallingOwnerClient(ownerHttp, new QrCallingClientOptions
        {
            BaseAddress = new Uri(server.BaseUrl),
            OwnerAccessToken = _ => ValueTask.FromResult(token),
        });
        var code = await owner.CreateCodeAsync(new CodeSettings { Label = "Answered by .NET", Media = [CallMedia.Chat] }, ct);
        await using var device = await owner.ConnectAsync(await owner.RegisterDeviceAsync(ct), ct);

        await using var context = size == "phone" ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        var caller = await context.NewPageAsync();
        var errors = WebApp.CollectErrors(caller);
        await caller.GotoAsync("/c#" + code.Payload);
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Answered by .NET");
        await caller.GetByTestId("call-chat").ClickAsync();

        var events = device.ReadEventsAsync(ct).GetAsyncEnumerator(ct);
        E2ESession? e2e = null;
        try
        {
            while (e2e?.State != E2ESessionState.Established)
            {
                Assert.True(await events.MoveNextAsync(), "the device's events ended before the key exchange did");
                switch (events.Current)
                {
                    case IncomingCall ring:
                        Assert.Equal("Answered by .NET", ring.Label);
                        e2e = new E2ESession(E2ERole.Responder, ring.CallId);
                        await device.AcceptAsync(ring.CallId, ct);
                        break;
                    case SignalReceived { Type: "key-exchange" } signal when e2e is not null
                        && e2e.Receive(E2EMessage.Parse(signal.Data.GetRawText())).Reply is { } reply:
                        await device.SignalAsync(e2e.ContextId, "key-exchange", JsonDocument.Parse(reply.ToJson()).RootElement, ct);
                        break;
                    case CallEnded ended:
                        Assert.Fail("The call ended: " + ended.Reason);
                        break;
                }
            }
            Assert.Matches(new Regex("^[0-9]{3} [0-9]{3}$"), e2e.CheckCode!);
            await Expect(caller.GetByTestId("check-code")).ToHaveTextAsync(e2e.CheckCode!, new() { Timeout = 15_000 });

            // The page to .NET, and .NET's answer back, each encrypted end to end.
            await WebApp.WaitChatReadyAsync(caller);
            await caller.GetByTestId("chat-input").FillAsync("Hello from the browser ✓");
            await caller.GetByTestId("chat-send").ClickAsync();
            string? text = null;
            while (text is null && await events.MoveNextAsync())
            {
                if (events.Current is ChatReceived chat)
                {
                    text = e2e.Decrypt(chat.Ciphertext).Text;
                }
            }
            Assert.Equal("Hello from the browser ✓", text);
            await device.ChatAsync(e2e.ContextId, e2e.Encrypt("Hello back from a .NET app"), ct);
            await Expect(caller.Locator("[data-testid=chat-message].them").Last).ToHaveTextAsync("Hello back from a .NET app", new() { Timeout = 10_000 });
            await WebApp.ScreenshotAsync(caller, $"dotnet-owner-caller-{size}");

            await device.HangupAsync(e2e.ContextId, ct);
            await Expect(caller.GetByTestId("call-ended")).ToContainTextAsync("The other side hung up", new() { Timeout = 10_000 });
            Assert.Empty(errors);
        }
        finally
        {
            e2e?.Dispose();
            await events.DisposeAsync();
        }
    }
}
