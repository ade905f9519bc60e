using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests.E2E;

/// <summary>Call-chat files under failure in Chromium (docs/e2e.md section 9, wwwroot/js/client/files.js): a page that
/// loses its connection in the middle of a relayed transfer (its hub WebSocket drops and the browser is offline for a few
/// seconds) shows it in words, reconnects, and the transfer resumes from the last confirmed chunk and completes intact;
/// and the data channel of a voice call closing mid-transfer, after which the rest goes over the relay.</summary>
[Collection(BrowserCollection.Name)]
public sealed class FileTransferFailureTests(BrowserFixture browser) : IAsyncLifetime
{
    private const int FileSize = 1_500_000; // 46 chunks of 32 KiB
    private readonly List<IBrowserContext> _contexts = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }
    }

    // Phone size here, desktop size for the receiver's case below (the path under test does not depend on the size;
    // one size each keeps the browser suite's time down).
    [Theory]
    [InlineData(true)]
    public async Task ChatCall_SenderLosesItsConnectionMidTransfer_TryingAgainIsShown_ThenTheSavedBytesAreTheSentBytes(bool phone)
    {
        var received = new ConcurrentQueue<(string Method, string Arguments)>();
        await using var server = await SampleHostServer.StartAsync(builder =>
            builder.Services.Configure<HubOptions>(o => o.AddFilter(new RecordHubInvocations(received))));
        var (owner, caller, callerHub, _) = await StartCallAsync(server, phone, "Files, sender drops", "chat");
        await WebApp.WaitChatReadyAsync(owner, caller);
        var bytes = FileBytes(FileSize, 11);

        var (download, offer) = await OfferAndAcceptAsync(caller, owner, "film-night.mp4", "video/mp4", bytes);
        await WaitConfirmedAsync(caller, 8);
        await callerHub.LoseConnectionAsync();

        var sent = caller.Locator("[data-testid=file-card][data-direction=send]");
        await Expect(sent.GetByTestId("file-text")).ToHaveTextAsync("Sending film-night.mp4: connection lost, trying again…", new() { Timeout = 10_000 });
        await Expect(caller.Locator("#peer-state")).ToHaveTextAsync("Connection lost — reconnecting…");
        await WebApp.ScreenshotAsync(caller, phone ? "files-sender-lost-phone" : "files-sender-lost-desktop");
        await Task.Delay(3000); // a few seconds without a network
        await callerHub.ComeBackAsync();

        await SavedIntactAsync(download, offer, sent, "film-night.mp4", bytes);
        await Expect(caller.Locator("#peer-state")).ToBeEmptyAsync();
        Assert.True(callerHub.Connections >= 2, "the page did not reconnect on a new WebSocket");
        // Every chunk went through the relay (the one lost with the connection, or more, sent again after it).
        Assert.Equal(46, RelayedChunks(received).Distinct().Count());
        if (phone)
        {
            await WebApp.ScreenshotAsync(caller, "files-sender-lost-then-saved-phone");
        }
    }

    [Theory]
    [InlineData(false)]
    public async Task ChatCall_ReceiverLosesItsConnectionMidTransfer_ItsCardSaysSo_ThenTheSavedBytesAreTheSentBytes(bool phone)
    {
        await using var server = await SampleHostServer.StartAsync();
        var (owner, caller, _, ownerHub) = await StartCallAsync(server, phone, "Files, receiver drops", "chat");
        await WebApp.WaitChatReadyAsync(owner, caller);
        var bytes = FileBytes(FileSize, 12);

        var (download, offer) = await OfferAndAcceptAsync(caller, owner, "scans.pdf", "application/pdf", bytes);
        await WaitConfirmedAsync(caller, 8);
        await ownerHub.LoseConnectionAsync();

        await Expect(offer.GetByTestId("file-text")).ToHaveTextAsync("Receiving scans.pdf: connection lost, trying again…", new() { Timeout = 10_000 });
        await WebApp.ScreenshotAsync(owner, phone ? "files-receiver-lost-phone" : "files-receiver-lost-desktop");
        await Task.Delay(3000);
        await ownerHub.ComeBackAsync();

        var sent = caller.Locator("[data-testid=file-card][data-direction=send]");
        await SavedIntactAsync(download, offer, sent, "scans.pdf", bytes);
        Assert.True(ownerHub.Connections >= 2, "the page did not reconnect on a new WebSocket");
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task AudioCall_DataChannelClosesMidTransfer_TheRestGoesOverTheRelay_SavedBytesAreTheSentBytes(bool phone, bool senderCloses)
    {
        var received = new ConcurrentQueue<(string Method, string Arguments)>();
        await using var server = await SampleHostServer.StartAsync(builder =>
            builder.Services.Configure<HubOptions>(o => o.AddFilter(new RecordHubInvocations(received))));
        var (owner, caller, _, _) = await StartCallAsync(server, phone, "Voice files, channel closes", "audio", direct: true);
        await WebApp.WaitConnectedAsync(owner, caller);
        await WebApp.WaitChatReadyAsync(owner, caller);
        foreach (var page in new[] { owner, caller })
        {
            await page.WaitForFunctionAsync("() => window.qrcallingDebug.session.files.channel?.readyState === 'open'", null, new() { Timeout = 10_000 });
        }
        var bytes = FileBytes(FileSize, 13);

        var (download, offer) = await OfferAndAcceptAsync(caller, owner, "voice-notes.m4a", "audio/mp4", bytes);
        var sent = caller.Locator("[data-testid=file-card][data-direction=send]");
        await Expect(sent).ToHaveAttributeAsync("data-via", "direct");
        await WaitConfirmedAsync(caller, 8);
        // One side's end of the channel closes (the peer-to-peer path is gone; the call's hub connection is not): the
        // receiver's (the sender learns it from the close event), or the sender's own (with chunks still buffered).
        await (senderCloses ? caller : owner).EvaluateAsync("() => window.qrcallingDebug.session.files.channel.close()");

        await SavedIntactAsync(download, offer, sent, "voice-notes.m4a", bytes);
        await Expect(sent).ToHaveAttributeAsync("data-via", "relay");
        var chunks = RelayedChunks(received);
        Assert.NotEmpty(chunks); // the rest went over the relay...
        Assert.True(chunks.Distinct().Count() < chunkCount(FileSize), $"{chunks.Distinct().Count()} chunks relayed"); // ...not the start
        Assert.Equal("closed", await caller.EvaluateAsync<string>("() => window.qrcallingDebug.session.files.channel?.readyState ?? 'closed'"));
        await WebApp.ScreenshotAsync(caller, phone ? "files-channel-closed-phone" : "files-channel-closed-desktop");

        static int chunkCount(int size) => (size + 32 * 1024 - 1) / (32 * 1024);
    }

    [Fact]
    public async Task FilesModule_ReceiversProgressAndDoneLostWithItsConnection_SaidAgainOnReconnect_NoStall()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await browser.NewDesktopContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");

        // Two FileTransfers joined by an in-order relay (control messages in clear text: the E2E layer is not the
        // point here). The receiver's sends fail ("offline") twice: when its progress after chunk 6 would go out (the
        // sender's window of 4 is then full: it waits for that progress) and when its done would go out.
        var result = await page.EvaluateAsync<JsonElement>("""
            async () => {
              const files = await import('/js/client/files.js');
              const errors = [];
              let down = false;
              const relay = (target) => {
                let chain = Promise.resolve();
                return async (frame) => {
                  const copy = JSON.parse(JSON.stringify(frame));
                  chain = chain.then(() => target().receiveFrame(copy)).catch((e) => errors.push(String(e?.message)));
                };
              };
              const toReceiver = relay(() => receiver);
              const toSender = relay(() => sender);
              const clear = { encrypt: async (t) => t, decrypt: async (t) => t };
              const sender = new files.FileTransfers({ ...clear, send: toReceiver, chunkBytes: 1024, window: 4 });
              const receiver = new files.FileTransfers({ ...clear, chunkBytes: 1024, send: async (frame) => {
                if (down) throw new Error('offline');
                return toSender(frame);
              } });
              const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
              const bytes = crypto.getRandomValues(new Uint8Array(20 * 1024));
              let cut = 0;
              receiver.addEventListener('offer', (e) => receiver.accept(e.detail.transfer.id));
              receiver.addEventListener('progress', (e) => {
                const t = e.detail.transfer;
                if ((t.next === 6 && cut === 0) || (t.next === t.chunks && cut === 1)) { cut++; down = true; }
              });
              let blob = null;
              receiver.addEventListener('complete', (e) => { blob = e.detail.blob; });
              let delivered = false;
              sender.addEventListener('delivered', () => { delivered = true; });
              const t = await sender.offer({ name: 'a.bin', type: 'application/octet-stream', bytes });
              await settle();
              const stalled = { acked: t.acked, state: t.state, received: [...receiver.transfers.values()][0].next };
              down = false;
              await receiver.reconnected();
              await settle();
              const stalledAtDone = { state: t.state, complete: blob !== null };
              down = false;
              await receiver.reconnected();
              await settle();
              const got = blob ? new Uint8Array(await blob.arrayBuffer()) : new Uint8Array();
              return { stalled, stalledAtDone, delivered, state: t.state, intact: got.length === bytes.length && got.every((x, i) => x === bytes[i]), cut, errors };
            }
            """);

        Assert.Equal(2, result.GetProperty("cut").GetInt32());
        // Without the reconnect, each loss stalls the transfer.
        var stalled = result.GetProperty("stalled");
        Assert.Equal("sending", stalled.GetProperty("state").GetString());
        Assert.Equal(4, stalled.GetProperty("acked").GetInt32());
        Assert.Equal(8, stalled.GetProperty("received").GetInt32());
        Assert.Equal("sending", result.GetProperty("stalledAtDone").GetProperty("state").GetString());
        Assert.True(result.GetProperty("stalledAtDone").GetProperty("complete").GetBoolean());
        // After it, the file arrived intact and the sender knows.
        Assert.True(result.GetProperty("delivered").GetBoolean());
        Assert.Equal("delivered", result.GetProperty("state").GetString());
        Assert.True(result.GetProperty("intact").GetBoolean());
        Assert.All(result.GetProperty("errors").EnumerateArray(), e => Assert.Equal("offline", e.GetString()));
    }

    [Fact]
    public async Task FilesModule_DataChannelBreaksWithChunksInIt_TheRelayGoesOnFromTheLastConfirmedChunk_FileIntact()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await browser.NewDesktopContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");

        // A data channel that breaks as when the connection under it fails: it delivers chunks 0-5, loses 6 and 7 (they
        // were in its buffer), then reports itself closed; its close event comes only later. The sender must not go on
        // through the relay from chunk 8 (the receiver would see a gap and throw the file away as corrupt).
        var result = await page.EvaluateAsync<JsonElement>("""
            async () => {
              const files = await import('/js/client/files.js');
              const relay = (target) => {
                let chain = Promise.resolve();
                return async (frame) => { const copy = JSON.parse(JSON.stringify(frame)); chain = chain.then(() => target().receiveFrame(copy)); };
              };
              const clear = { encrypt: async (t) => t, decrypt: async (t) => t };
              const sender = new files.FileTransfers({ ...clear, send: relay(() => receiver), chunkBytes: 1024, window: 4 });
              const receiver = new files.FileTransfers({ ...clear, send: relay(() => sender), chunkBytes: 1024 });
              const channel = new EventTarget();
              channel.readyState = 'open';
              channel.bufferedAmount = 0;
              let sends = 0;
              channel.send = (data) => {
                if (channel.readyState !== 'open') throw new DOMException('The channel is closed.', 'InvalidStateError');
                const n = sends++;
                if (n < 6) { const copy = new Uint8Array(data).slice(); setTimeout(() => receiver.receiveChunk(copy)); }
                if (n === 7) channel.readyState = 'closed';
              };
              sender.useChannel(channel);
              const refused = [];
              receiver.addEventListener('refused', (e) => refused.push(e.detail.reason));
              const failed = [];
              receiver.addEventListener('failed', (e) => failed.push(e.detail.reason));
              receiver.addEventListener('offer', (e) => receiver.accept(e.detail.transfer.id));
              let blob = null;
              receiver.addEventListener('complete', (e) => { blob = e.detail.blob; });
              const bytes = crypto.getRandomValues(new Uint8Array(12 * 1024));
              const t = await sender.offer({ name: 'b.bin', type: 'application/octet-stream', bytes });
              await new Promise((resolve) => setTimeout(resolve, 500));
              channel.dispatchEvent(new Event('close'));
              await new Promise((resolve) => setTimeout(resolve, 200));
              const got = blob ? new Uint8Array(await blob.arrayBuffer()) : new Uint8Array();
              return { sends, state: t.state, via: t.via, failed, refused, intact: got.length === bytes.length && got.every((x, i) => x === bytes[i]) };
            }
            """);

        Assert.Equal(8, result.GetProperty("sends").GetInt32()); // 0-7 went into the channel; the rest did not
        Assert.Empty(result.GetProperty("failed").EnumerateArray());
        Assert.DoesNotContain(result.GetProperty("refused").EnumerateArray(), r => r.GetString() is "order" or "size" or "hash");
        Assert.True(result.GetProperty("intact").GetBoolean());
        Assert.Equal("delivered", result.GetProperty("state").GetString());
        Assert.Equal("relay", result.GetProperty("via").GetString());
    }

    // ---- steps ----

    /// <summary>Attaches a file on <paramref name="from"/>, and chooses Save on <paramref name="to"/>; returns the pending
    /// download and the receiver's card.</summary>
    private static async Task<(Task<IDownload> Download, ILocator Offer)> OfferAndAcceptAsync(IPage from, IPage to, string name, string type, byte[] bytes)
    {
        await from.GetByTestId("file-input").SetInputFilesAsync(new FilePayload { Name = name, MimeType = type, Buffer = bytes });
        var offer = to.Locator("[data-testid=file-card][data-direction=receive]").Last;
        await Expect(offer).ToContainTextAsync($"The other person wants to send you {name} (1.4 MB).", new() { Timeout = 10_000 });
        var download = to.WaitForDownloadAsync(new() { Timeout = 90_000 });
        await offer.GetByTestId("file-accept").ClickAsync();
        return (download, offer);
    }

    /// <summary>Waits until the receiver confirmed at least <paramref name="chunks"/> chunks of the file being sent.</summary>
    private static Task WaitConfirmedAsync(IPage sender, int chunks) =>
        sender.WaitForFunctionAsync(
            "(n) => [...window.qrcallingDebug.session.files.transfers.values()].some(t => t.direction === 'send' && t.state === 'sending' && t.acked >= n)",
            chunks, new() { Timeout = 20_000, PollingInterval = 10 });

    /// <summary>The download holds the bytes sent; the receiver's card says it was received, the sender's that it was
    /// sent and saved.</summary>
    private static async Task SavedIntactAsync(Task<IDownload> pending, ILocator offer, ILocator sent, string name, byte[] bytes)
    {
        var download = await pending;
        Assert.Equal(name, download.SuggestedFilename);
        Assert.Equal(bytes, await File.ReadAllBytesAsync((await download.PathAsync())!));
        await Expect(offer.GetByTestId("file-text")).ToHaveTextAsync($"Received {name} (1.4 MB). Saved to your downloads.");
        await Expect(sent.GetByTestId("file-text")).ToHaveTextAsync($"Sent {name} (1.4 MB).", new() { Timeout = 10_000 });
        await Expect(sent.GetByTestId("file-saved")).ToHaveTextAsync($"The other person saved {name}.", new() { Timeout = 10_000 });
    }

    /// <summary>The chunk frames the hub relayed (their base64 text, so a chunk sent twice appears twice).</summary>
    private static List<string> RelayedChunks(ConcurrentQueue<(string Method, string Arguments)> received) =>
        [.. received.Where(r => r.Method == "Signal")
            .Select(r => JsonNode.Parse(r.Arguments)!.AsArray())
            .Where(a => a[1]!.GetValue<string>() == "file" && a[2]!.AsObject().ContainsKey("c"))
            .Select(a => a[2]!["c"]!.GetValue<string>()[..40])]; // version, file id and index (the header), and a little more

    /// <summary>Random bytes.</summary>
    private static byte[] FileBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private async Task<(IPage Owner, IPage Caller, HubLine CallerHub, HubLine OwnerHub)> StartCallAsync(SampleHostServer server, bool phone, string label, string media, bool direct = false)
    {
        var ownerContext = phone ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        var callerContext = phone ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        _contexts.AddRange([ownerContext, callerContext]);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var ownerHub = await HubLine.RouteAsync(owner);
        var callerHub = await HubLine.RouteAsync(caller);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, label, media, "chat");
        await caller.GotoAsync(link);
        await caller.GetByTestId($"call-{media}").ClickAsync();
        if (direct)
        {
            await WebApp.AnswerDirectAsync(caller, yes: true);
        }
        await Expect(owner.GetByTestId("incoming-call")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await owner.GetByTestId("accept").ClickAsync();
        if (direct)
        {
            await WebApp.AnswerDirectAsync(owner, yes: true);
        }
        return (owner, caller, callerHub, ownerHub);
    }

    /// <summary>A page's hub WebSockets, passed through to the server, that can be cut: the page loses its network (the
    /// browser context goes offline, so reconnecting fails) and its WebSocket drops, as when a phone leaves Wi-Fi.</summary>
    private sealed class HubLine
    {
        private readonly IPage _page;
        private readonly List<IWebSocketRoute> _sockets = [];

        private HubLine(IPage page) => _page = page;

        /// <summary>WebSockets the page opened to the call hub.</summary>
        public int Connections { get { lock (_sockets) { return _sockets.Count; } } }

        public static async Task<HubLine> RouteAsync(IPage page)
        {
            var line = new HubLine(page);
            await page.RouteWebSocketAsync(new Regex("/hubs/calls"), ws =>
            {
                ws.ConnectToServer();
                lock (line._sockets)
                {
                    line._sockets.Add(ws);
                }
            });
            return line;
        }

        public async Task LoseConnectionAsync()
        {
            await _page.Context.SetOfflineAsync(true);
            IWebSocketRoute[] open;
            lock (_sockets)
            {
                open = [.. _sockets];
            }
            foreach (var ws in open)
            {
                await ws.CloseAsync(new() { Code = 1011, Reason = "network lost" });
            }
        }

        public Task ComeBackAsync() => _page.Context.SetOfflineAsync(false);
    }
}
