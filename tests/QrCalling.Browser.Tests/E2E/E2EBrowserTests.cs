using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using QrCalling.Client.E2E;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests.E2E;

/// <summary>The web app's end-to-end encryption (docs/e2e.md, wwwroot/js/e2e.js) in Chromium: the shared test vectors,
/// the same check code on both pages, a different one when the relay substitutes a key, the DTLS fingerprints in the
/// code of a voice call, and a server that only ever received ciphertext.</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class E2EBrowserTests(BrowserFixture browser) : IAsyncLifetime
{
    private readonly List<IBrowserContext> _contexts = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }
    }

    private const string CheckCodePattern = "^[0-9]{3} [0-9]{3}$";

    [Fact]
    public async Task E2EModule_SharedTestVectors_AllMatchInChromium()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await browser.NewDesktopContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        var vectors = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepositoryRoot, "tests", "vectors", "e2e-v1.json"));
        var check = (await File.ReadAllTextAsync(Path.Combine(TestPaths.RepositoryRoot, "tests", "QrCalling.Browser.Tests", "E2E", "e2e-vectors-check.js")))
            .Replace("export async function check", "async function check", StringComparison.Ordinal);

        var failures = await page.EvaluateAsync<string[]>(
            $"async (vectors) => {{ {check}\n const e2e = await import('/js/e2e.js'); return await check(e2e, JSON.parse(vectors)); }}", vectors);

        Assert.Empty(failures);
        var cases = JsonDocument.Parse(vectors).RootElement.GetProperty("cases").GetArrayLength();
        Assert.Equal(3, cases);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task E2EModule_TalksToTheDotNetClient_SameCheckCodeAndChatBothWays(bool browserIsInitiator)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await browser.NewDesktopContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        const string callId = "call_interop000000000000001";
        const string browserFp = "sha-256 0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F:20:21:22:23:24:25:26:27:28:29";
        const string dotnetFp = "sha-256 F0:F1:F2:F3:F4:F5:F6:F7:F8:F9:FA:FB:FC:FD:FE:FF:00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F";
        using var dotnet = new E2ESession(browserIsInitiator ? E2ERole.Responder : E2ERole.Initiator, callId, dotnetFp);
        // The page's session; each message crosses as JSON text, as a signal's data would.
        await page.EvaluateAsync("""
            async ([role, callId, fp]) => {
              const { E2ESession } = await import('/js/e2e.js');
              window.__e2e = new E2ESession({ role, contextId: callId, localFingerprint: fp });
            }
            """, new[] { browserIsInitiator ? "initiator" : "responder", callId, browserFp });
        async Task<string?> BrowserReceiveAsync(string json) => await page.EvaluateAsync<string?>(
            "async (json) => { const r = await window.__e2e.receive(JSON.parse(json)); return r.reply ? JSON.stringify(r.reply) : null; }", json);

        if (browserIsInitiator)
        {
            var commit = await page.EvaluateAsync<string>("async () => JSON.stringify(await window.__e2e.start())");
            var reveal = await BrowserReceiveAsync(dotnet.Receive(E2EMessage.Parse(commit)).Reply!.ToJson());
            Assert.Null(dotnet.Receive(E2EMessage.Parse(reveal!)).Reply);
        }
        else
        {
            var key = await BrowserReceiveAsync(dotnet.Start().ToJson());
            Assert.Null(await BrowserReceiveAsync(dotnet.Receive(E2EMessage.Parse(key!)).Reply!.ToJson()));
        }

        Assert.Equal(E2ESessionState.Established, dotnet.State);
        Assert.Matches(CheckCodePattern, dotnet.CheckCode!);
        Assert.Equal(dotnet.CheckCode, await page.EvaluateAsync<string>("() => window.__e2e.checkCode"));
        Assert.Equal(browserFp, dotnet.PeerFingerprint);
        Assert.Equal(dotnetFp, await page.EvaluateAsync<string>("() => window.__e2e.peerFingerprint"));
        var fromBrowser = await page.EvaluateAsync<string>("async () => await window.__e2e.encrypt('from the browser ✓')");
        Assert.Equal("from the browser ✓", dotnet.Decrypt(fromBrowser).Text);
        Assert.Equal("from .NET", await page.EvaluateAsync<string>("async (c) => (await window.__e2e.decrypt(c)).text", dotnet.Encrypt("from .NET")));
    }

    [Fact]
    public async Task ChatCall_BothPagesShowTheSameCheckCode_AndTheServerOnlyEverReceivedCiphertext()
    {
        var received = new ConcurrentQueue<(string Method, string Arguments)>();
        await using var server = await SampleHostServer.StartAsync(builder =>
            builder.Services.Configure<HubOptions>(o => o.AddFilter(new RecordHubInvocations(received))));
        var (owner, caller, errors) = await StartChatCallAsync(server, "Secret chat");

        var code = await SameCheckCodeAsync(owner, caller);
        Assert.Matches(CheckCodePattern, code);
        foreach (var page in new[] { owner, caller })
        {
            await Expect(page.GetByTestId("chat-safety")).ToContainTextAsync($"Compare this code with the other person: {code}");
            await Expect(page.GetByTestId("chat-safety")).ToContainTextAsync("It covers this chat.");
        }
        const string fromCaller = "the plaintext-canary-from-the-caller 4417";
        const string fromOwner = "the plaintext-canary-from-the-owner 9352";
        await WebApp.SendChatAsync(caller, owner, fromCaller);
        await WebApp.SendChatAsync(owner, caller, fromOwner);
        await WebApp.ScreenshotAsync(caller, "e2e-check-code-caller");

        // What the hub received from both pages: the key exchange and the chat, never a plaintext.
        var all = received.ToArray();
        Assert.DoesNotContain(all, r => r.Arguments.Contains("canary", StringComparison.Ordinal));
        var chats = all.Where(r => r.Method == "Chat").Select(r => JsonNode.Parse(r.Arguments)![1]!.GetValue<string>()).ToList();
        Assert.Equal(2, chats.Count);
        foreach (var ciphertext in chats)
        {
            var bytes = Convert.FromBase64String(ciphertext);
            Assert.Equal(1, bytes[0]); // version 1 header: version, direction, counter
            Assert.Equal(1UL, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(2)));
        }
        Assert.NotEqual(Convert.FromBase64String(chats[0])[1], Convert.FromBase64String(chats[1])[1]); // one key per direction
        var kinds = all.Where(r => r.Method == "Signal" && r.Arguments.Contains("key-exchange", StringComparison.Ordinal))
            .Select(r => JsonNode.Parse(r.Arguments)![2]!["kind"]!.GetValue<string>()).ToList();
        Assert.Equal(["commit", "key", "reveal"], kinds);
        var commit = all.First(r => r.Arguments.Contains("\"commit\"", StringComparison.Ordinal)).Arguments;
        Assert.DoesNotContain("publicKey", commit, StringComparison.Ordinal); // the caller's key stays hidden until the owner's is sent
        Assert.Empty(errors);
    }

    [Fact]
    public async Task ChatCall_RelaySubstitutesTheOwnersKey_CheckCodesDifferAndTheOwnerCannotRead()
    {
        await using var server = await SampleHostServer.StartAsync();
        // A malicious relay in front of the caller's page: the owner's public key is replaced by another valid point.
        var substituted = new StrongBox<int>();
        var (owner, caller, _) = await StartChatCallAsync(server, "Tampered", page => RouteThroughRelayAsync(page, SubstituteOwnerKey, substituted));

        var ownerCode = owner.GetByTestId("check-code");
        var callerCode = caller.GetByTestId("check-code");
        await Expect(ownerCode).ToHaveTextAsync(new Regex(CheckCodePattern), new() { Timeout = 15_000 });
        await Expect(callerCode).ToHaveTextAsync(new Regex(CheckCodePattern), new() { Timeout = 15_000 });
        Assert.True(Volatile.Read(ref substituted.Value) >= 1); // live, and again if a Resume result repeats it (the page de-duplicates by seq)
        Assert.NotEqual(await ownerCode.TextContentAsync(), await callerCode.TextContentAsync());
        await WebApp.ScreenshotAsync(caller, "e2e-substituted-caller");

        await caller.GetByTestId("chat-input").FillAsync("can you read this?");
        await caller.GetByTestId("chat-send").ClickAsync();
        await Expect(owner.GetByTestId("chat-notice")).ToHaveTextAsync("(could not decrypt)", new() { Timeout = 10_000 });
        await Expect(owner.GetByTestId("chat-message")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task ChatCall_EitherSideReloads_NewKeyExchangeAndTheOtherPageSaysTheCodeChanged()
    {
        await using var server = await SampleHostServer.StartAsync();
        var (owner, caller, errors) = await StartChatCallAsync(server, "Re-key");
        var first = await SameCheckCodeAsync(owner, caller);
        await WebApp.SendChatAsync(caller, owner, "before the reload");

        await caller.ReloadAsync();

        await Expect(owner.GetByTestId("call-note")).ToContainTextAsync("The check code changed to", new() { Timeout = 15_000 });
        var second = await SameCheckCodeAsync(owner, caller);
        Assert.NotEqual(first, second);
        await Expect(owner.GetByTestId("call-note")).ToContainTextAsync($"The check code changed to {second}");
        await Expect(owner.GetByTestId("chat-safety")).ToHaveAttributeAsync("data-changed", "true");
        await WebApp.SendChatAsync(owner, caller, "after the caller's reload");

        await owner.ReloadAsync();

        await Expect(caller.GetByTestId("call-note")).ToContainTextAsync("The check code changed to", new() { Timeout = 15_000 });
        var third = await SameCheckCodeAsync(owner, caller);
        Assert.NotEqual(second, third);
        await Expect(caller.GetByTestId("call-note")).ToContainTextAsync($"The check code changed to {third}");
        await WebApp.SendChatAsync(caller, owner, "after the owner's reload");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task AudioCall_CheckCodeCoversTheDtlsFingerprintsOfBothConnections()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, caller);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Voice", "audio", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await WebApp.AnswerDirectAsync(caller, yes: true);
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.AnswerDirectAsync(owner, yes: true);
        await WebApp.WaitConnectedAsync(owner, caller);

        var code = await SameCheckCodeAsync(owner, caller);
        Assert.Matches(CheckCodePattern, code);
        foreach (var page in new[] { owner, caller })
        {
            await Expect(page.GetByTestId("chat-safety")).ToContainTextAsync("It covers this chat and the voice/video connection.");
            // The fingerprints the key exchange carried are the ones of the connected DTLS transports, both ways.
            var fingerprints = await page.EvaluateAsync<string[]>("""
                async () => {
                  const { fingerprintFromSdp } = await import('/js/e2e.js');
                  const d = window.qrcallingDebug;
                  return [d.e2e.localFingerprint, fingerprintFromSdp(d.pc.localDescription.sdp), d.e2e.peerFingerprint, fingerprintFromSdp(d.pc.remoteDescription.sdp)];
                }
                """);
            Assert.StartsWith("sha-256 ", fingerprints[0], StringComparison.Ordinal);
            Assert.Equal(fingerprints[0], fingerprints[1]);
            Assert.Equal(fingerprints[2], fingerprints[3]);
            Assert.NotEqual(fingerprints[0], fingerprints[2]);
        }
        await WebApp.SendChatAsync(caller, owner, "voice and chat");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task AudioCall_RelaySubstitutesTheFingerprintInTheAnswer_CallerRefusesTheMedia()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var substituted = new StrongBox<int>();
        await RouteThroughRelayAsync(caller, SubstituteAnswerFingerprint, substituted);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "DTLS", "audio", "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-audio").ClickAsync();
        await WebApp.AnswerDirectAsync(caller, yes: true);
        await owner.GetByTestId("accept").ClickAsync();
        await WebApp.AnswerDirectAsync(owner, yes: true);

        await Expect(caller.GetByTestId("call-note")).ToContainTextAsync("Voice/video refused", new() { Timeout = 15_000 });
        Assert.True(Volatile.Read(ref substituted.Value) >= 1);
        Assert.Contains("fingerprint", await caller.EvaluateAsync<string[]>("() => window.qrcallingDebug.e2eRefusals ?? []"));
        // The answer was never applied: no DTLS towards a certificate the key exchange did not agree.
        Assert.Null(await caller.EvaluateAsync<string?>("() => window.qrcallingDebug.pc?.remoteDescription?.sdp ?? null"));
        Assert.NotEqual("connected", await caller.EvaluateAsync<string>("() => window.qrcallingDebug.pc?.connectionState ?? 'none'"));
        // The chat's keys are not affected (the relay changed only the SDP): the same code, and the chat works.
        await SameCheckCodeAsync(owner, caller);
        await WebApp.SendChatAsync(caller, owner, "the call did not connect");
    }

    /// <summary>Owner signs up and creates a chat code; the caller opens it and starts a chat; the owner accepts.</summary>
    private async Task<(IPage Owner, IPage Caller, ConcurrentQueue<string> Errors)> StartChatCallAsync(SampleHostServer server, string label,
        Func<IPage, Task>? prepareCaller = null)
    {
        var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        _contexts.AddRange([ownerContext, callerContext]);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        if (prepareCaller is not null)
        {
            await prepareCaller(caller);
        }
        var errors = WebApp.CollectErrors(owner, caller);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, label, "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        await Expect(owner.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await owner.GetByTestId("accept").ClickAsync();
        return (owner, caller, errors);
    }

    private static async Task<string> SameCheckCodeAsync(IPage owner, IPage caller)
    {
        await Expect(owner.GetByTestId("check-code")).ToHaveTextAsync(new Regex(CheckCodePattern), new() { Timeout = 15_000 });
        var code = (await owner.GetByTestId("check-code").TextContentAsync())!;
        await Expect(caller.GetByTestId("check-code")).ToHaveTextAsync(code, new() { Timeout = 15_000 });
        return code;
    }

    /// <summary>SignalR JSON frames (each ends with 0x1e): the <c>publicKey</c> of any <c>key-exchange</c> data of kind
    /// <c>key</c> (live Signal or in a Resume result) replaced by another valid P-256 point. The same string when nothing
    /// changed.</summary>
    private static string SubstituteOwnerKey(string text) => RewriteFrames(text, "\"key\"", o =>
    {
        if (o["type"]?.GetValueKind() != JsonValueKind.String || o["type"]!.GetValue<string>() != "key-exchange"
            || o["data"] is not JsonObject data || data["kind"]?.GetValue<string>() != "key")
        {
            return false;
        }
        data["publicKey"] = ServerPublicKey;
        return true;
    });

    /// <summary>The DTLS fingerprint of any <c>answer</c> signal's SDP replaced by another one (the relay's own
    /// certificate, as a DTLS man in the middle would need).</summary>
    private static string SubstituteAnswerFingerprint(string text) => RewriteFrames(text, "\"answer\"", o =>
    {
        if (o["type"]?.GetValueKind() != JsonValueKind.String || o["type"]!.GetValue<string>() != "answer"
            || o["data"] is not JsonObject data || data["sdp"]?.GetValue<string>() is not { } sdp)
        {
            return false;
        }
        data["sdp"] = FingerprintLine().Replace(sdp, "a=fingerprint:sha-256 " + string.Join(':', Enumerable.Repeat("EE", 32)));
        return true;
    });

    [GeneratedRegex("a=fingerprint:[^\r\n]+")]
    private static partial Regex FingerprintLine();

    /// <summary>Applies <paramref name="change"/> to every JSON object in the SignalR JSON frames of a WebSocket
    /// message; the same string when nothing changed.</summary>
    private static string RewriteFrames(string text, string mustContain, Func<JsonObject, bool> change)
    {
        if (!text.Contains(mustContain, StringComparison.Ordinal))
        {
            return text;
        }
        var frames = text.Split('\u001e');
        var changed = false;
        for (var i = 0; i < frames.Length; i++)
        {
            if (frames[i].Length == 0 || JsonNode.Parse(frames[i]) is not { } node)
            {
                continue;
            }
            if (Walk(node))
            {
                frames[i] = node.ToJsonString();
                changed = true;
            }
        }
        return changed ? string.Join('\u001e', frames) : text;

        bool Walk(JsonNode? node) => node switch
        {
            JsonObject o => change(o) | o.Select(p => p.Value).ToList().Aggregate(false, (any, child) => Walk(child) | any),
            JsonArray a => a.ToList().Aggregate(false, (any, child) => Walk(child) | any),
            _ => false,
        };
    }

    /// <summary>A relay in front of a page: every text frame from the server to the page goes through
    /// <paramref name="rewrite"/>; <paramref name="changed"/> counts the frames it changed.</summary>
    private static Task RouteThroughRelayAsync(IPage page, Func<string, string> rewrite, StrongBox<int> changed) =>
        page.RouteWebSocketAsync(new Regex("/hubs/calls"), ws =>
        {
            var hub = ws.ConnectToServer();
            ws.OnMessage(frame => { if (frame.Text is { } text) hub.Send(text); else hub.Send(frame.Binary!); });
            hub.OnMessage(frame =>
            {
                if (frame.Text is not { } text)
                {
                    ws.Send(frame.Binary!);
                    return;
                }
                var result = rewrite(text);
                if (!ReferenceEquals(result, text)) Interlocked.Increment(ref changed.Value);
                ws.Send(result);
            });
        });

    /// <summary>A valid P-256 point that is nobody's in this call (the responder key of the vectors' second case).</summary>
    private static readonly string ServerPublicKey = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "tests", "vectors", "e2e-v1.json")))
        .RootElement.GetProperty("cases")[1].GetProperty("responder").GetProperty("publicKey").GetString()!;
}
