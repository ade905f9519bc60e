using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>Without a TURN server, neither page gathers or sends host/srflx candidates (which carry IP addresses) before
/// its user agreed to a direct connection on that call; chat works without any ICE. Everything each page receives over
/// the hub is recorded (from its WebSocket frames) and searched for addresses.</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class IpPrivacyTests(BrowserFixture browser)
{
    /// <summary>Records every text frame the page receives on any WebSocket (SignalR's JSON protocol: live events and
    /// Resume results alike) and counts the RTCPeerConnections the page makes.</summary>
    private const string RecordHub = """
        window.__hub = { frames: [], pcs: 0 };
        const NativeWebSocket = window.WebSocket;
        window.WebSocket = class extends NativeWebSocket {
          constructor(...args) {
            super(...args);
            this.addEventListener('message', (e) => {
              if (typeof e.data !== 'string') return;
              for (const frame of e.data.split('\x1e')) if (frame) window.__hub.frames.push(frame);
            });
          }
        };
        const NativePeerConnection = window.RTCPeerConnection;
        window.RTCPeerConnection = class extends NativePeerConnection {
          constructor(...args) { super(...args); window.__hub.pcs++; }
        };
        """;

    [GeneratedRegex(@"\b(?:\d{1,3}\.){3}\d{1,3}\b")]
    private static partial Regex Ipv4();

    [GeneratedRegex(@"c=IN IP[46] (?<address>[^\\\s""]+)")]
    private static partial Regex ConnectionLine();

    /// <summary>What in these frames could reveal an address: any candidate at all, any IPv4 address but 0.0.0.0, an IPv6
    /// loopback or link-local address, a connection line with an address.</summary>
    private static List<string> Leaks(IEnumerable<string> frames)
    {
        var leaks = new List<string>();
        foreach (var frame in frames)
        {
            if (frame.Contains("ice-candidate", StringComparison.Ordinal) || frame.Contains("candidate:", StringComparison.Ordinal))
            {
                leaks.Add("candidate: " + frame);
            }
            leaks.AddRange(Ipv4().Matches(frame).Select(m => m.Value).Where(v => v != "0.0.0.0").Select(v => $"address {v}: {frame}"));
            if (frame.Contains("::1", StringComparison.Ordinal) || frame.Contains("fe80:", StringComparison.OrdinalIgnoreCase))
            {
                leaks.Add("IPv6 address: " + frame);
            }
            leaks.AddRange(ConnectionLine().Matches(frame).Select(m => m.Groups["address"].Value).Where(a => a is not ("0.0.0.0" or "::"))
                .Select(a => $"c= line {a}: {frame}"));
        }
        return leaks;
    }

    private static async Task<string[]> FramesAsync(IPage page) => await page.EvaluateAsync<string[]>("() => window.__hub.frames.slice()");

    private static Task MarkAsync(IPage page) => page.EvaluateAsync("() => window.__hub.frames.push('--consent--')");

    private static async Task<string[]> FramesBeforeConsentAsync(IPage page) =>
        (await FramesAsync(page)).TakeWhile(f => f != "--consent--").ToArray();

    private static Task<int> PeerConnectionsAsync(IPage page) => page.EvaluateAsync<int>("() => window.__hub.pcs");

    private async Task<(SampleHostServer Server, IBrowserContext OwnerContext, IBrowserContext CallerContext, IPage Owner, IPage Caller)> SetUpAsync()
    {
        var server = await SampleHostServer.StartAsync();
        var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        await owner.AddInitScriptAsync(RecordHub);
        await caller.AddInitScriptAsync(RecordHub);
        return (server, ownerContext, callerContext, owner, caller);
    }

    [Fact]
    public async Task NoTurn_NeitherSideAgrees_NoPeerConnectionNoAddressAndChatWorks()
    {
        var (server, ownerContext, callerContext, owner, caller) = await SetUpAsync();
        await using var _ = server;
        await using var __ = ownerContext;
        await using var ___ = callerContext;
        var errors = WebApp.CollectErrors(owner, caller);

        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Private", "audio", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await Expect(caller.GetByTestId("direct-question")).ToHaveTextAsync(
            "A direct connection shows your IP address to the other side. Connect directly?");
        await WebApp.ScreenshotAsync(caller, "ip-consent-question-caller");
        // The question has the focus, not "Connect directly": Enter alone does not agree.
        await Expect(caller.GetByTestId("direct-prompt")).ToBeFocusedAsync();
        await caller.Keyboard.PressAsync("Enter");
        await Expect(caller.GetByTestId("direct-prompt")).ToBeVisibleAsync();
        Assert.Equal(0, await PeerConnectionsAsync(caller));
        await caller.GetByTestId("direct-no").ClickAsync();
        await Expect(caller.GetByTestId("media-off")).ToContainTextAsync("A private (relay) connection is not available on this server");
        await Expect(caller.GetByTestId("mute")).ToBeHiddenAsync();

        await owner.GetByTestId("accept").ClickAsync();
        // The caller said no: the owner is told, and not asked (or no longer).
        await Expect(owner.GetByTestId("media-off")).ToContainTextAsync("The other side chose not to connect directly", new() { Timeout = 10_000 });
        await Expect(owner.GetByTestId("direct-prompt")).ToBeHiddenAsync();
        await WebApp.WaitChatReadyAsync(owner, caller);
        await WebApp.SendChatAsync(caller, owner, "are you there?");
        await WebApp.SendChatAsync(owner, caller, "yes, coming down");
        await Expect(caller.GetByTestId("call-state")).ToHaveTextAsync("Connected");
        await Expect(owner.GetByTestId("call-state")).ToHaveTextAsync("Connected");
        await WebApp.ScreenshotAsync(caller, "ip-declined-caller");
        await WebApp.ScreenshotAsync(owner, "ip-declined-owner");

        Assert.Equal(0, await PeerConnectionsAsync(caller));
        Assert.Equal(0, await PeerConnectionsAsync(owner));
        var ownerFrames = await FramesAsync(owner);
        var callerFrames = await FramesAsync(caller);
        Assert.Contains(ownerFrames, f => f.Contains("key-exchange", StringComparison.Ordinal)); // the recording works
        Assert.Empty(Leaks(ownerFrames));
        Assert.Empty(Leaks(callerFrames));
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }

    [Fact]
    public async Task NoTurn_CallerAgreesOwnerDeclines_OwnerAddressNeverReachesCallerAndChatWorks()
    {
        var (server, ownerContext, callerContext, owner, caller) = await SetUpAsync();
        await using var _ = server;
        await using var __ = ownerContext;
        await using var ___ = callerContext;

        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Half", "audio", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await WebApp.AnswerDirectAsync(caller, yes: true);
        await caller.WaitForFunctionAsync("() => window.__hub.pcs === 1");

        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.AnswerDirectAsync(owner, yes: false);
        await Expect(owner.GetByTestId("media-off")).ToContainTextAsync("A private (relay) connection is not available on this server");
        await Expect(caller.GetByTestId("media-off")).ToContainTextAsync("The other side chose not to connect directly", new() { Timeout = 10_000 });
        await WebApp.WaitChatReadyAsync(owner, caller);
        await WebApp.SendChatAsync(owner, caller, "chat only, please");

        // The caller agreed, so its candidates may reach the owner; the owner's address never reaches the caller.
        Assert.Equal(0, await PeerConnectionsAsync(owner));
        Assert.Contains(await FramesAsync(owner), f => f.Contains("ice-candidate", StringComparison.Ordinal));
        Assert.Empty(Leaks(await FramesAsync(caller)));
        Assert.Equal("closed", await caller.EvaluateAsync<string>("() => window.qrcallingDebug.pc?.connectionState ?? 'closed'"));
    }

    [Fact]
    public async Task NoTurn_BothAgree_NoAddressBeforeEachConsentThenVideoConnects()
    {
        var (server, ownerContext, callerContext, owner, caller) = await SetUpAsync();
        await using var _ = server;
        await using var __ = ownerContext;
        await using var ___ = callerContext;
        var errors = WebApp.CollectErrors(owner, caller);

        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Both", "video", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-video").ClickAsync();
        await Expect(caller.GetByTestId("direct-prompt")).ToBeVisibleAsync();
        // The owner answers and agrees first; the caller has not agreed yet.
        await owner.GetByTestId("accept").ClickAsync();
        await Expect(owner.GetByTestId("direct-prompt")).ToBeVisibleAsync();
        await owner.GetByTestId("direct-yes").ClickAsync();
        await Task.Delay(1500); // time for anything the owner's side might (wrongly) send
        Assert.Equal(0, await PeerConnectionsAsync(caller));
        Assert.Equal(0, await PeerConnectionsAsync(owner)); // the owner's connection waits for the caller's offer
        // Everything the owner received before the caller agreed, and everything the caller received before it agreed.
        var ownerFramesBeforeCallerConsent = await FramesAsync(owner);
        await MarkAsync(caller);
        await caller.GetByTestId("direct-yes").ClickAsync();

        await WebApp.WaitConnectedAsync(owner, caller);
        foreach (var page in new[] { owner, caller })
        {
            await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=remote-video]').videoWidth > 0", null, new() { Timeout = 10_000 });
            await Expect(page.GetByTestId("ip-notice")).ToBeVisibleAsync();
        }
        await WebApp.AssertAudioFlowsAsync(owner, "owner");
        await WebApp.AssertAudioFlowsAsync(caller, "caller");

        // Before the caller's consent no address went either way (the owner had agreed, but makes its connection only to
        // answer the caller's offer).
        Assert.NotEmpty(ownerFramesBeforeCallerConsent);
        Assert.Empty(Leaks(ownerFramesBeforeCallerConsent));
        Assert.Empty(Leaks(await FramesBeforeConsentAsync(caller)));
        // After both agreed, candidates did flow both ways (so the recording sees them).
        Assert.Contains(await FramesAsync(caller), f => f.Contains("ice-candidate", StringComparison.Ordinal));
        Assert.Contains(await FramesAsync(owner), f => f.Contains("ice-candidate", StringComparison.Ordinal));
        await WebApp.ScreenshotAsync(caller, "ip-consented-video-caller");
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }

    [Fact]
    public async Task Sanitizers_RelayAndHostCandidatesAndSdp_KeepNoAddressOfThisDevice()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await browser.NewPhoneContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/c");

        var result = await page.EvaluateAsync<JsonElement>("""
            async () => {
              const ice = await import('/js/ice.js');
              const relay4 = 'candidate:1 1 udp 41885439 203.0.113.7 50000 typ relay raddr 192.168.1.20 rport 61000 generation 0';
              const relay6 = 'candidate:2 1 udp 41885439 2001:db8::7 50000 typ relay raddr 2001:db8::20 rport 61000 generation 0';
              const host = 'candidate:3 1 udp 2122260223 192.168.1.20 61000 typ host generation 0';
              const srflx = 'candidate:4 1 udp 1686052607 198.51.100.9 61000 typ srflx raddr 192.168.1.20 rport 61000 generation 0';
              const sdp = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 'm=audio 61000 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 198.51.100.9',
                'a=rtcp:61001 IN IP4 198.51.100.9', 'a=' + host, 'a=' + relay4, ''].join('\r\n');
              return {
                relay4: ice.sanitizeCandidateLine(relay4, true),
                relay6: ice.sanitizeCandidateLine(relay6, true),
                hostRelayOnly: ice.sanitizeCandidateLine(host, true),
                srflxRelayOnly: ice.sanitizeCandidateLine(srflx, true),
                hostDirect: ice.sanitizeCandidateLine(host, false),
                init: ice.sanitizeCandidate({ candidate: relay4, sdpMid: '0', sdpMLineIndex: 0 }, true),
                end: ice.sanitizeCandidate({ candidate: '', sdpMid: '0' }, true),
                sdp: ice.sanitizeSdp(sdp, true),
                policyWithoutTurn: ice.icePolicy([{ urls: 'stun:stun.example.org' }]),
                policyWithTurn: ice.icePolicy([{ urls: ['turn:turn.example.org?transport=udp'], username: 'u', credential: 'c' }]),
              };
            }
            """);

        Assert.Equal("candidate:1 1 udp 41885439 203.0.113.7 50000 typ relay raddr 0.0.0.0 rport 0 generation 0", result.GetProperty("relay4").GetString());
        Assert.Equal("candidate:2 1 udp 41885439 2001:db8::7 50000 typ relay raddr :: rport 0 generation 0", result.GetProperty("relay6").GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("hostRelayOnly").ValueKind);
        Assert.Equal(JsonValueKind.Null, result.GetProperty("srflxRelayOnly").ValueKind);
        Assert.Contains("192.168.1.20", result.GetProperty("hostDirect").GetString(), StringComparison.Ordinal);
        Assert.Contains("raddr 0.0.0.0 rport 0", result.GetProperty("init").GetProperty("candidate").GetString(), StringComparison.Ordinal);
        Assert.Equal("0", result.GetProperty("init").GetProperty("sdpMid").GetString());
        Assert.Equal("", result.GetProperty("end").GetProperty("candidate").GetString());
        var cleanSdp = result.GetProperty("sdp").GetString()!;
        Assert.DoesNotContain("192.168.1.20", cleanSdp, StringComparison.Ordinal);
        Assert.DoesNotContain("198.51.100.9", cleanSdp, StringComparison.Ordinal);
        Assert.Contains("c=IN IP4 0.0.0.0", cleanSdp, StringComparison.Ordinal);
        Assert.Contains("a=rtcp:61001 IN IP4 0.0.0.0", cleanSdp, StringComparison.Ordinal);
        Assert.Contains("typ relay raddr 0.0.0.0 rport 0", cleanSdp, StringComparison.Ordinal);
        Assert.Equal("ask", result.GetProperty("policyWithoutTurn").GetString());
        Assert.Equal("relay", result.GetProperty("policyWithTurn").GetString());
    }
}
