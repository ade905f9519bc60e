using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests.E2E;

/// <summary>End-to-end encrypted files in the call chat (docs/e2e.md section 9, wwwroot/js/client/files.js) in Chromium:
/// the shared vectors and a tampering relay against the module, files sent both ways through the relay and over the data
/// channel of a voice call (the bytes saved are the bytes sent, the sender sees "saved", the server only received
/// ciphertext), a file over the cap refused in words, and a declined offer.</summary>
[Collection(BrowserCollection.Name)]
public sealed class FileTransferTests(BrowserFixture browser) : IAsyncLifetime
{
    private const string Canary = "file-plaintext-canary-5521";
    private readonly List<IBrowserContext> _contexts = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }
    }

    [Fact]
    public async Task FilesModule_SharedVectorsAndATamperingRelay_NeverASilentlyCorruptFile()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await browser.NewDesktopContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        var vectors = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepositoryRoot, "tests", "vectors", "files-v1.json"));
        var check = (await File.ReadAllTextAsync(Path.Combine(TestPaths.RepositoryRoot, "tests", "QrCalling.Browser.Tests", "E2E", "files-check.js")))
            .Replace("export async function check", "async function check", StringComparison.Ordinal);

        var failures = await page.EvaluateAsync<string[]>(
            $"async (vectors) => {{ {check}\n const files = await import('/js/client/files.js'); return await check(files, JSON.parse(vectors)); }}", vectors);

        Assert.Empty(failures);
        Assert.Equal(3, JsonDocument.Parse(vectors).RootElement.GetProperty("cases").GetArrayLength());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ChatCall_FilesBothWaysThroughTheRelay_SavedBytesAreTheSentBytes_SenderSeesSaved_ServerSawCiphertextOnly(bool phone)
    {
        var received = new ConcurrentQueue<(string Method, string Arguments)>();
        await using var server = await SampleHostServer.StartAsync(builder =>
            builder.Services.Configure<HubOptions>(o => o.AddFilter(new RecordHubInvocations(received))));
        var (owner, caller, errors) = await StartCallAsync(server, phone, "Files", "chat");
        await WebApp.WaitChatReadyAsync(owner, caller);

        var toOwner = FileBytes(300_000, 1);
        await SendAndSaveAsync(caller, owner, "holiday-photo.jpg", "image/jpeg", toOwner, phone ? "files-relay-caller-phone" : "files-relay-caller-desktop");
        var toCaller = FileBytes(70_000, 2);
        await SendAndSaveAsync(owner, caller, "notes from the owner.txt", "text/plain", toCaller, null);
        await Expect(caller.GetByTestId("file-card").First).ToHaveAttributeAsync("data-via", "relay");

        // What the hub received: file frames, none of them readable.
        var all = received.ToArray();
        Assert.DoesNotContain(all, r => r.Arguments.Contains(Canary, StringComparison.Ordinal));
        Assert.DoesNotContain(all, r => r.Arguments.Contains("holiday-photo", StringComparison.Ordinal) || r.Arguments.Contains("notes from", StringComparison.Ordinal));
        var frames = all.Where(r => r.Method == "Signal" && JsonNode.Parse(r.Arguments)![1]!.GetValue<string>() == "file")
            .Select(r => JsonNode.Parse(r.Arguments)![2]!.AsObject()).ToList();
        var chunks = frames.Count(f => f.ContainsKey("c"));
        Assert.True(chunks >= 10 + 3, $"{chunks} relayed chunks"); // 300,000 and 70,000 bytes in 32 KiB chunks
        Assert.All(frames, f => Assert.True(f.Count == 1 && (f.ContainsKey("c") || f.ContainsKey("m"))));
        foreach (var frame in frames.Where(f => f.ContainsKey("m")))
        {
            Assert.Equal(1, Convert.FromBase64String(frame["m"]!.GetValue<string>())[0]); // an E2E v1 message
        }
        Assert.Empty(errors);
    }

    [Fact]
    public async Task ChatCall_TooBigFileRefusedInWords_AndADeclinedOfferSendsNothing()
    {
        var received = new ConcurrentQueue<(string Method, string Arguments)>();
        await using var server = await SampleHostServer.StartAsync(builder =>
            builder.Services.Configure<HubOptions>(o => o.AddFilter(new RecordHubInvocations(received))));
        var (owner, caller, errors) = await StartCallAsync(server, phone: true, "Big files", "chat");
        await WebApp.WaitChatReadyAsync(owner, caller);

        await caller.GetByTestId("file-input").SetInputFilesAsync(WebApp.TooBigFile);
        await Expect(caller.Locator("#chat-error")).ToHaveTextAsync("huge.mov is 26 MB: files can be at most 25 MB.");
        await Expect(caller.GetByTestId("file-card")).ToHaveCountAsync(0);
        await WebApp.ScreenshotAsync(caller, "files-too-big-caller");

        await caller.GetByTestId("file-input").SetInputFilesAsync(new FilePayload { Name = "unwanted.pdf", MimeType = "application/pdf", Buffer = FileBytes(50_000, 3) });
        await Expect(owner.GetByTestId("file-card")).ToContainTextAsync("The other person wants to send you unwanted.pdf (49 KB).", new() { Timeout = 10_000 });
        await owner.GetByTestId("file-decline").ClickAsync();
        await Expect(owner.GetByTestId("file-card")).ToHaveTextAsync("You declined unwanted.pdf.");
        await Expect(caller.GetByTestId("file-card")).ToHaveTextAsync("The other person declined unwanted.pdf.", new() { Timeout = 10_000 });
        var chunks = received.Count(r => r.Method == "Signal" && r.Arguments.Contains("\"file\"", StringComparison.Ordinal) && r.Arguments.Contains("\"c\"", StringComparison.Ordinal));
        Assert.Equal(0, chunks);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task AudioCall_FileGoesOverTheDataChannel_PeerToPeer_ServerRelaysNoChunk()
    {
        var received = new ConcurrentQueue<(string Method, string Arguments)>();
        await using var server = await SampleHostServer.StartAsync(builder =>
            builder.Services.Configure<HubOptions>(o => o.AddFilter(new RecordHubInvocations(received))));
        var (owner, caller, errors) = await StartCallAsync(server, phone: true, "Voice files", "audio", direct: true);
        await WebApp.WaitConnectedAsync(owner, caller);
        await WebApp.WaitChatReadyAsync(owner, caller);
        await caller.WaitForFunctionAsync("() => window.qrcallingDebug.session.files.channel?.readyState === 'open'", null, new() { Timeout = 10_000 });

        var bytes = FileBytes(200_000, 4);
        await SendAndSaveAsync(caller, owner, "voice-memo.m4a", "audio/mp4", bytes, "files-direct-caller");
        await Expect(caller.GetByTestId("file-card")).ToHaveAttributeAsync("data-via", "direct");

        var all = received.ToArray();
        Assert.DoesNotContain(all, r => r.Arguments.Contains(Canary, StringComparison.Ordinal));
        var fileSignals = all.Where(r => r.Method == "Signal" && r.Arguments.Contains("\"file\"", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(fileSignals); // the control messages (offer, accept, progress, done, saved) took the relay
        Assert.DoesNotContain(fileSignals, r => JsonNode.Parse(r.Arguments)![2]!.AsObject().ContainsKey("c"));
        Assert.Empty(errors);
    }

    /// <summary>The sender attaches a file; the receiver sees the offer in words and chooses Save; the download holds the
    /// same bytes, and the sender's page says the other person saved it.</summary>
    private static async Task SendAndSaveAsync(IPage from, IPage to, string name, string type, byte[] bytes, string? screenshot)
    {
        var before = await to.GetByTestId("file-card").CountAsync();
        await from.GetByTestId("file-input").SetInputFilesAsync(new FilePayload { Name = name, MimeType = type, Buffer = bytes });
        var offer = to.GetByTestId("file-card").Nth(before);
        try
        {
            await Expect(offer).ToContainTextAsync($"The other person wants to send you {name} (", new() { Timeout = 10_000 });
        }
        catch (PlaywrightException e)
        {
            var state = await from.EvaluateAsync<string>("() => JSON.stringify({ error: document.getElementById('chat-error')?.textContent, refused: window.qrcallingDebug.e2eRefusals, cards: document.querySelectorAll('[data-testid=file-card]').length, ready: window.qrcallingDebug.session?.chatReady })");
            var toState = await to.EvaluateAsync<string>("() => JSON.stringify({ refused: window.qrcallingDebug.e2eRefusals, events: window.qrcallingDebug.events?.slice(-8), log: document.getElementById('chat-log')?.textContent })");
            throw new InvalidOperationException($"no offer: sender {state}; receiver {toState}", e);
        }
        if (screenshot is not null)
        {
            await WebApp.ScreenshotAsync(to, screenshot + "-offer");
        }
        var download = await to.RunAndWaitForDownloadAsync(() => offer.GetByTestId("file-accept").ClickAsync(), new() { Timeout = 60_000 });
        Assert.Equal(name, download.SuggestedFilename);
        var path = await download.PathAsync();
        Assert.Equal(bytes, await File.ReadAllBytesAsync(path!));
        await Expect(offer).ToContainTextAsync($"Received {name}");
        var sent = from.Locator($"[data-testid=file-card][data-direction=send]").Last;
        await Expect(sent.GetByTestId("file-saved")).ToHaveTextAsync($"The other person saved {name}.", new() { Timeout = 10_000 });
        await Expect(sent.GetByTestId("file-text")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex($"^Sent {System.Text.RegularExpressions.Regex.Escape(name)} \\("));
        if (screenshot is not null)
        {
            await WebApp.ScreenshotAsync(from, screenshot + "-saved");
        }
    }

    /// <summary>Random bytes with the canary text in them (so a plaintext anywhere on the server would show).</summary>
    private static byte[] FileBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        var canary = System.Text.Encoding.ASCII.GetBytes(Canary);
        for (var at = 0; at + canary.Length <= length; at += 10_000)
        {
            canary.CopyTo(bytes, at);
        }
        return bytes;
    }

    private async Task<(IPage Owner, IPage Caller, ConcurrentQueue<string> Errors)> StartCallAsync(SampleHostServer server, bool phone, string label, string media, bool direct = false)
    {
        var ownerContext = phone ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        var callerContext = phone ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        _contexts.AddRange([ownerContext, callerContext]);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, caller);
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
        return (owner, caller, errors);
    }
}
