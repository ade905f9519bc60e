using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>TURN credentials are short-lived (per call, Turn:CredentialLifetime): before an ICE restart both pages take
/// fresh ones from GET /ice-servers, and the relayed call comes back.</summary>
[Collection(BrowserCollection.Name)]
public sealed class TurnRefreshTests(BrowserFixture browser)
{
    private const string TurnUsername = "() => window.qrcallingDebug.pc.getConfiguration().iceServers.find(s => [s.urls].flat().some(u => u.startsWith('turn:'))).username";

    [Fact]
    public async Task RelayedCall_IceRestart_BothSidesUseFreshTurnCredentialsAndReconnect()
    {
        using var turn = await CoturnServer.StartAsync();
        await using var server = await SampleHostServer.StartAsync(
            $"--QrCalling:Turn:Urls=turn:127.0.0.1:{turn.Port}?transport=udp",
            $"--QrCalling:Turn:SharedSecret={turn.Secret}",
            "--QrCalling:Turn:CredentialLifetime=00:01:00");
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, caller);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Relay refresh", "audio", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.WaitConnectedAsync(owner, caller);
        await Expect(caller.GetByTestId("direct-prompt")).ToBeHiddenAsync(); // TURN: nothing to ask
        var callerBefore = await caller.EvaluateAsync<string>(TurnUsername);
        var ownerBefore = await owner.EvaluateAsync<string>(TurnUsername);

        await caller.EvaluateAsync("() => window.qrcallingDebug.session.restartIce()");

        await caller.WaitForFunctionAsync($"(before) => ({TurnUsername})() !== before", callerBefore);
        await owner.WaitForFunctionAsync($"(before) => ({TurnUsername})() !== before", ownerBefore, new() { Timeout = 10_000 });
        await WebApp.WaitConnectedAsync(owner, caller);
        await WebApp.AssertAudioFlowsAsync(owner, "owner after the ICE restart");
        await WebApp.AssertAudioFlowsAsync(caller, "caller after the ICE restart");
        Assert.Equal("relay", await caller.EvaluateAsync<string>("() => window.qrcallingDebug.pc.getConfiguration().iceTransportPolicy"));
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }
}
