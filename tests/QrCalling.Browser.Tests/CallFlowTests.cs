using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>Two browser contexts (owner and caller) driving the sample web app against the sample host, WebRTC over
/// loopback only. Run inside a network namespace (see <see cref="NetworkNamespaceGuard"/>).</summary>
[Collection(BrowserCollection.Name)]
public sealed class CallFlowTests(BrowserFixture browser)
{
    private const string SelectedPair = """
        async () => {
          const stats = await window.qrcallingDebug.pc.getStats();
          let pairId = null;
          stats.forEach(r => { if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId; });
          const pair = pairId && stats.get(pairId);
          if (!pair) return JSON.stringify({ local: 'none', remote: 'none' });
          return JSON.stringify({ local: stats.get(pair.localCandidateId).candidateType, remote: stats.get(pair.remoteCandidateId).candidateType, state: pair.state });
        }
        """;

    /// <summary>Records, from the page's WebSocket frames (SignalR's JSON protocol), every ICE candidate the page received
    /// from the other side: the candidate of each <c>ice-candidate</c> signal and each <c>a=candidate</c> line of an SDP,
    /// whether it came live or in a Resume result.</summary>
    private const string RecordReceivedCandidates = """
        window.__receivedCandidates = [];
        window.__receivedIceSignals = 0;
        const collect = (node) => {
          if (Array.isArray(node)) { node.forEach(collect); return; }
          if (!node || typeof node !== 'object') return;
          if (node.type === 'ice-candidate') {
            window.__receivedIceSignals++;
            if (node.data?.candidate) window.__receivedCandidates.push(node.data.candidate);
          }
          if (typeof node.sdp === 'string') {
            for (const line of node.sdp.split(/\r?\n/)) if (line.startsWith('a=candidate:')) window.__receivedCandidates.push(line.slice(2));
          }
          Object.values(node).forEach(collect);
        };
        const NativeWebSocket = window.WebSocket;
        window.WebSocket = class extends NativeWebSocket {
          constructor(...args) {
            super(...args);
            this.addEventListener('message', (e) => {
              if (typeof e.data !== 'string') return;
              for (const frame of e.data.split('\x1e')) { if (frame) { try { collect(JSON.parse(frame)); } catch { } } }
            });
          }
        };
        """;

    [Fact]
    public async Task AudioCall_OwnerAccepts_BothConnectAndAudioFlowsThenCallerHangsUp()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var browserRequests = new ConcurrentQueue<(string Url, string? Body)>();
        caller.Request += (_, request) => browserRequests.Enqueue((request.Url, request.PostData));
        var pageErrors = new ConcurrentQueue<string>();
        foreach (var page in new[] { owner, caller })
        {
            page.PageError += (_, error) => pageErrors.Enqueue(error);
            page.Console += (_, message) => { if (message.Type == "error") pageErrors.Enqueue($"{message.Text} at {message.Location}"); };
        }

        var link = await SignUpAndCreateCodeAsync(owner, "/", "Front door");
        Assert.Contains("/c#PQC:1:", link, StringComparison.OrdinalIgnoreCase);

        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Front door");
        await caller.GetByTestId("call-audio").ClickAsync();
        // No TURN server: each side is asked before a direct connection could show its IP address.
        await WebApp.AnswerDirectAsync(caller, yes: true);
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.AnswerDirectAsync(owner, yes: true);

        await WebApp.WaitConnectedAsync(owner, caller);
        await WebApp.AssertAudioFlowsAsync(owner, "owner");
        await WebApp.AssertAudioFlowsAsync(caller, "caller");
        // No TURN server configured and both agreed: direct candidates are allowed, and both sides are told their IP address shows.
        foreach (var page in new[] { owner, caller })
        {
            await Expect(page.GetByTestId("ip-notice")).ToBeVisibleAsync();
            await Expect(page.GetByTestId("ip-notice")).ToContainTextAsync("IP address");
            Assert.Equal("all", await page.EvaluateAsync<string>("() => window.qrcallingDebug.pc.getConfiguration().iceTransportPolicy"));
        }

        // End-to-end encrypted chat: the text reaches the owner decrypted; the server only relayed ciphertext.
        await Expect(caller.GetByTestId("chat-send")).ToBeEnabledAsync(new() { Timeout = 10_000 });
        await Expect(owner.GetByTestId("chat-send")).ToBeEnabledAsync(new() { Timeout = 10_000 });
        await caller.GetByTestId("chat-input").FillAsync("hello from the door");
        await caller.GetByTestId("chat-send").ClickAsync();
        await Expect(owner.GetByTestId("chat-message")).ToHaveTextAsync("hello from the door");
        await SaveScreenshotsAsync("audio-call", owner, caller);

        // The owner's hub connection closes (the page starts it again a moment later): voice goes on peer to peer
        // meanwhile, so the call still reads Connected, with the lost connection said underneath.
        await owner.EvaluateAsync("() => window.qrcallingDebug.hub.stop()");
        var whileLost = await owner.WaitForFunctionAsync("""
            () => document.getElementById('peer-state').textContent === 'Connection lost — reconnecting…'
              && document.querySelector('[data-testid=call-state]').textContent
            """);
        Assert.Equal("Connected", await whileLost.JsonValueAsync<string>()); // the call's line, read as the loss shows
        await WebApp.AssertAudioFlowsAsync(owner, "owner while its hub is away");
        await Expect(owner.Locator("#peer-state")).ToBeEmptyAsync(new() { Timeout = 20_000 });

        await caller.GetByTestId("hangup").ClickAsync();
        await Expect(owner.GetByTestId("call-ended")).ToContainTextAsync("The other side hung up", new() { Timeout = 10_000 });
        Assert.Equal("ended", await owner.Locator("#call").GetAttributeAsync("data-state"));
        Assert.Equal("hangup", await owner.Locator("#call").GetAttributeAsync("data-end-reason"));

        // The payload travelled only in bodies: no URL the server saw, nor any URL the page requested (fragment aside), holds it.
        Assert.DoesNotContain(server.RequestTargets, target => target.Contains("PQC", StringComparison.OrdinalIgnoreCase));
        // Neither did a credential: both pages reached the hub with single-use tickets, never a JWT or a call token.
        Assert.Contains(server.RequestTargets, target => target.StartsWith("/hubs/calls", StringComparison.Ordinal) && target.Contains("access_token=qht_", StringComparison.Ordinal));
        Assert.DoesNotContain(server.RequestTargets, target => target.Contains("access_token=eyJ", StringComparison.Ordinal) || target.Contains("qct_", StringComparison.Ordinal));
        Assert.DoesNotContain(browserRequests, r => r.Url.Split('#')[0].Contains("PQC", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(browserRequests, r => r.Url.EndsWith("/api/v1/scan", StringComparison.Ordinal) && r.Body!.Contains("PQC:1:", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(browserRequests, r => r.Url.EndsWith("/api/v1/calls", StringComparison.Ordinal) && r.Body!.Contains("PQC:1:", StringComparison.OrdinalIgnoreCase));
        // No script error and no Content-Security-Policy violation on either page.
        Assert.True(pageErrors.IsEmpty, string.Join(" | ", pageErrors));
    }

    [Fact]
    public async Task AudioCall_TurnConfiguredNoRelayFlag_ConnectsOverRelayAndNoSideReceivesAnAddressCandidate()
    {
        using var turn = await CoturnServer.StartAsync();
        await using var server = await SampleHostServer.StartAsync(
            $"--QrCalling:Turn:Urls=turn:127.0.0.1:{turn.Port}?transport=udp",
            $"--QrCalling:Turn:SharedSecret={turn.Secret}");
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        await owner.AddInitScriptAsync(RecordReceivedCandidates);
        await caller.AddInitScriptAsync(RecordReceivedCandidates);

        // Plain pages and the plain link: relay-only comes from the TURN entry in the ICE servers, not from ?relay=1.
        var link = await SignUpAndCreateCodeAsync(owner, "/", "Relay");
        Assert.DoesNotContain("relay=1", link, StringComparison.Ordinal);
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await owner.GetByTestId("accept").ClickAsync();

        await WebApp.WaitConnectedAsync(owner, caller);
        foreach (var page in new[] { owner, caller })
        {
            Assert.Equal("relay", await page.EvaluateAsync<string>("() => window.qrcallingDebug.pc.getConfiguration().iceTransportPolicy"));
            using var pair = JsonDocument.Parse(await page.EvaluateAsync<string>(SelectedPair));
            Assert.Equal("relay", pair.RootElement.GetProperty("local").GetString());
            Assert.Equal("relay", pair.RootElement.GetProperty("remote").GetString());
            await Expect(page.GetByTestId("ip-notice")).ToBeHiddenAsync();
        }
        // What each side received from the other: at least one ice-candidate signal, and relay candidates only.
        foreach (var (page, who) in new[] { (owner, "owner"), (caller, "caller") })
        {
            Assert.True(await page.EvaluateAsync<int>("() => window.__receivedIceSignals") > 0, $"{who} received no ice-candidate signal.");
            var candidates = await page.EvaluateAsync<string[]>("() => window.__receivedCandidates");
            Assert.NotEmpty(candidates);
            Assert.All(candidates, c =>
            {
                var type = System.Text.RegularExpressions.Regex.Match(c, @" typ (\w+)").Groups[1].Value;
                Assert.True(type == "relay", $"{who} received a {type} candidate: {c}");
                // A relay candidate's related address would be the sender's own address as the TURN server saw it: redacted.
                var related = System.Text.RegularExpressions.Regex.Match(c, @" raddr (\S+)").Groups[1].Value;
                Assert.True(related is "" or "0.0.0.0" or "::", $"{who} received a relay candidate with a related address: {c}");
            });
        }
        await WebApp.AssertAudioFlowsAsync(caller, "caller over TURN");
        await SaveScreenshotsAsync("relay-call", owner, caller);
        await caller.GetByTestId("hangup").ClickAsync();
        await Expect(owner.GetByTestId("call-ended")).ToContainTextAsync("The other side hung up", new() { Timeout = 10_000 });
    }

    [Fact]
    public async Task CallerPage_RelayFlagWithoutTurn_UsesRelayPolicyAndShowsNoIpNotice()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();

        var link = await SignUpAndCreateCodeAsync(owner, "/", "Forced relay");
        await caller.GotoAsync(link.Replace("/c#", "/c?relay=1#", StringComparison.Ordinal));
        await caller.GetByTestId("call-audio").ClickAsync();

        // The caller makes its RTCPeerConnection (early offer) while it rings.
        await caller.WaitForFunctionAsync("() => window.qrcallingDebug?.pc != null", null, new() { Timeout = 10_000 });
        Assert.Equal("relay", await caller.EvaluateAsync<string>("() => window.qrcallingDebug.pc.getConfiguration().iceTransportPolicy"));
        await Expect(caller.GetByTestId("ip-notice")).ToBeHiddenAsync();
        await caller.GetByTestId("hangup").ClickAsync();
    }

    [Theory]
    [InlineData("fragment")]
    [InlineData("paste")]
    public async Task CallerPage_UndecodableText_ShowsNotAQrCallingCode(string how)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await browser.NewPhoneContextAsync(server.BaseUrl);
        var caller = await context.NewPageAsync();
        var pageErrors = new ConcurrentQueue<string>();
        caller.PageError += (_, error) => pageErrors.Enqueue(error);

        if (how == "fragment")
        {
            await caller.GotoAsync("/c#%E0%A4%A");
        }
        else
        {
            await caller.GotoAsync("/c");
            await caller.GetByLabel("Or paste the code or link").FillAsync("https://example.invalid/c#PQC:1:%ZZ");
            await caller.GetByRole(AriaRole.Button, new() { Name = "Use this code" }).ClickAsync();
        }

        await Expect(caller.GetByTestId("scan-error")).ToHaveTextAsync("That is not a QrCalling code.");
        await Expect(caller.GetByTestId("scan")).ToBeVisibleAsync();
        Assert.True(pageErrors.IsEmpty, string.Join(" | ", pageErrors));
        // Nothing undecodable was sent to the server.
        Assert.DoesNotContain(server.RequestTargets, t => t.StartsWith("/api/v1/scan", StringComparison.Ordinal));
    }

    [Fact]
    public async Task QrImage_DownloadedPng_DecodesWithZbarToALinkThatStartsAVideoCall()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();

        var link = await SignUpAndCreateCodeAsync(owner, "/", "Printed");
        var folder = TestPaths.Results("qr");
        var download = await owner.RunAndWaitForDownloadAsync(() => owner.GetByTestId("download-png").ClickAsync());
        var pngPath = Path.Combine(folder, "downloaded.png");
        await download.SaveAsAsync(pngPath);
        var shownPath = Path.Combine(folder, "shown.png");
        await owner.GetByTestId("qr-image").ScreenshotAsync(new() { Path = shownPath });

        var decoded = await WebApp.ZbarAsync(pngPath);
        Assert.Equal(decoded, await WebApp.ZbarAsync(shownPath));
        // The link form (spec v1.1), so that a phone's own camera app opens the caller page.
        Assert.Matches("^http://127\\.0\\.0\\.1:\\d+/c#PQC:1:[A-Z2-7]{52}:[A-Z2-7]{7}$", decoded);
        Assert.Equal(link, decoded);

        // The caller page's fallback decoder (jsQR, for browsers without BarcodeDetector) reads the same image.
        await caller.GotoAsync($"{server.BaseUrl}/c");
        var dataUrl = "data:image/png;base64," + Convert.ToBase64String(await File.ReadAllBytesAsync(pngPath));
        var inBrowser = await caller.EvaluateAsync<string>("""
            async (src) => {
              const img = new Image();
              img.src = src;
              await img.decode();
              const canvas = document.createElement('canvas');
              canvas.width = img.width; canvas.height = img.height;
              const context = canvas.getContext('2d');
              context.drawImage(img, 0, 0);
              const data = context.getImageData(0, 0, img.width, img.height);
              return window.jsQR(data.data, data.width, data.height)?.data ?? '';
            }
            """, dataUrl);
        Assert.Equal(decoded, inBrowser);

        await caller.GotoAsync(decoded);
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Printed");
        await caller.GetByTestId("call-video").ClickAsync();
        await WebApp.AnswerDirectAsync(caller, yes: true);
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.AnswerDirectAsync(owner, yes: true);
        await WebApp.WaitConnectedAsync(owner, caller);
        // The fake camera's frames arrive on both sides.
        foreach (var page in new[] { owner, caller })
        {
            await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=remote-video]').videoWidth > 0", null, new() { Timeout = 10_000 });
        }
        await SaveScreenshotsAsync("video-call", owner, caller);
        await owner.GetByTestId("hangup").ClickAsync();
        await Expect(caller.GetByTestId("call-ended")).ToContainTextAsync("The other side hung up", new() { Timeout = 10_000 });
    }

    [Fact]
    public async Task Chat_CallerHubDropsWhileOwnerWrites_ResumeAfterReconnectDeliversTheMissedMessage()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        // Keep a handle on the page's WebSockets so the test can drop one as a network blip would.
        await caller.AddInitScriptAsync("""
            window.__sockets = [];
            const NativeWebSocket = window.WebSocket;
            window.WebSocket = class extends NativeWebSocket {
              constructor(...args) { super(...args); window.__sockets.push(this); }
            };
            """);
        var link = await SignUpAndCreateCodeAsync(owner, "/", "Blip");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await WebApp.AnswerDirectAsync(caller, yes: true);
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.AnswerDirectAsync(owner, yes: true);
        await WebApp.WaitConnectedAsync(owner, caller);
        await Expect(caller.GetByTestId("chat-send")).ToBeEnabledAsync(new() { Timeout = 10_000 });
        await Expect(owner.GetByTestId("chat-send")).ToBeEnabledAsync(new() { Timeout = 10_000 });

        // A network blip on the caller's signaling: its WebSocket drops and reconnecting fails until the route is lifted.
        await caller.RouteAsync("**/hubs/calls/negotiate**", route => route.AbortAsync());
        Assert.Equal(1, await caller.EvaluateAsync<int>("() => { const open = window.__sockets.filter(s => s.readyState === 1); open.forEach(s => s.close(4000, 'blip')); return open.length; }"));
        await Expect(caller.Locator("body")).ToHaveAttributeAsync("data-hub", "reconnecting", new() { Timeout = 10_000 });
        await Expect(caller.GetByTestId("conn-banner")).ToBeVisibleAsync();
        await owner.GetByTestId("chat-input").FillAsync("written while you were away");
        await owner.GetByTestId("chat-send").ClickAsync();
        await Expect(owner.Locator("[data-testid=chat-message].me")).ToHaveTextAsync("written while you were away");
        await caller.UnrouteAllAsync();

        await WebApp.WaitOnlineAsync(caller, 15_000);
        await Expect(caller.GetByTestId("conn-banner")).ToBeHiddenAsync();
        await Expect(caller.GetByTestId("chat-message")).ToHaveTextAsync("written while you were away", new() { Timeout = 10_000 });
        Assert.Equal("connected", await caller.EvaluateAsync<string>("() => window.qrcallingDebug.pc.connectionState"));
    }

    private static async Task<string> SignUpAndCreateCodeAsync(IPage owner, string path, string label)
    {
        await owner.GotoAsync(path);
        await owner.GetByLabel("User name").FillAsync("owner" + Guid.NewGuid().ToString("N")[..10]);
        await owner.GetByLabel("Password").FillAsync("correct horse battery");
        await owner.GetByTestId("sign-up").ClickAsync();
        await WebApp.WaitOnlineAsync(owner);
        await owner.GetByTestId("code-label").FillAsync(label);
        await owner.GetByTestId("create-code").ClickAsync();
        await Expect(owner.GetByTestId("qr-image")).ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("^blob:"));
        return (await owner.GetByTestId("qr-link").TextContentAsync())!;
    }

    private static async Task SaveScreenshotsAsync(string name, IPage owner, IPage caller)
    {
        await WebApp.ScreenshotAsync(owner, $"{name}-owner");
        await WebApp.ScreenshotAsync(caller, $"{name}-caller");
    }

}
