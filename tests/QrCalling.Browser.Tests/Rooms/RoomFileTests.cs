using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using QrCalling.Storage;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests.Rooms;

/// <summary>End-to-end encrypted files in rooms (docs/e2e.md 10.8, wwwroot/js/client/room-files.js, js/room-files.js)
/// in Chromium: three people, one file to both others, saved by both with the sent bytes and "saved" notices for the
/// sender; a declined file; a file over the cap refused in words; a hub that only ever received ciphertext, one
/// recipient per file entry; and a transfer that goes on through `rate_limited` refusals of a tiny window and leaves
/// no chunk in the room's history.</summary>
[Collection(BrowserCollection.Name)]
public sealed class RoomFileTests(BrowserFixture browser) : IAsyncLifetime
{
    private const string Canary = "room-file-plaintext-canary-8830";
    private readonly List<IBrowserContext> _contexts = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ThreePeople_AFileToBoth_BothSaveTheSentBytes_SenderSeesBothSaved_ADeclineAndATooBigFileInWords_HubSawCiphertextOnly(bool phone)
    {
        var size = phone ? "phone" : "desktop";
        var received = new ConcurrentQueue<(string Method, string Arguments, string? Error)>();
        await using var server = await SampleHostServer.StartAsync(builder =>
            builder.Services.Configure<HubOptions>(o => o.AddFilter(new RecordHubInvocations(received))));
        var anna = await NewPageAsync(server, phone);
        var ben = await NewPageAsync(server, phone);
        var cleo = await NewPageAsync(server, phone);
        var errors = WebApp.CollectErrors(anna, ben, cleo);
        var link = await RoomPageTests.StartRoomAsync(anna, "Anna");
        await RoomPageTests.JoinAsync(ben, link, "Ben");
        await RoomPageTests.JoinAsync(cleo, link, "Cleo");
        await RoomPageTests.EveryPairSameCodeAsync([anna, ben, cleo]);
        var annaId = await RoomPageTests.ParticipantIdAsync(anna);

        // Anna offers a photo to everybody: one transfer per person, each saved, each "saved" on Anna's page.
        var photo = FileBytes(300_000, 1);
        await anna.GetByTestId("file-input").SetInputFilesAsync(new FilePayload { Name = "holiday-photo.jpg", MimeType = "image/jpeg", Buffer = photo });
        var annaSent = anna.Locator("[data-testid=file-card][data-direction=send]");
        await Expect(annaSent).ToHaveCountAsync(2);
        await SaveAsync(ben, "Anna", "holiday-photo.jpg", "293 KB", photo, $"room-files-offer-{size}");
        await SaveAsync(cleo, "Anna", "holiday-photo.jpg", "293 KB", photo, null);
        await Expect(annaSent.GetByTestId("file-saved").Filter(new() { HasText = "Ben saved holiday-photo.jpg." })).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await Expect(annaSent.GetByTestId("file-saved").Filter(new() { HasText = "Cleo saved holiday-photo.jpg." })).ToHaveCountAsync(1, new() { Timeout = 15_000 });
        await Expect(annaSent.GetByTestId("file-text").Filter(new() { HasText = "Sent holiday-photo.jpg to Ben (293 KB)." })).ToHaveCountAsync(1);
        await Expect(annaSent.GetByTestId("file-text").Filter(new() { HasText = "Sent holiday-photo.jpg to Cleo (293 KB)." })).ToHaveCountAsync(1);
        await WebApp.ScreenshotAsync(anna, $"room-files-saved-{size}");

        // Ben offers minutes: Anna declines, Cleo saves; Ben sees both, per person.
        var minutes = FileBytes(50_000, 2);
        await ben.GetByTestId("file-input").SetInputFilesAsync(new FilePayload { Name = "minutes.pdf", MimeType = "application/pdf", Buffer = minutes });
        var annaOffer = anna.Locator("[data-testid=file-card][data-direction=receive]");
        await Expect(annaOffer.GetByTestId("file-text")).ToHaveTextAsync("Ben wants to send you minutes.pdf (49 KB).", new() { Timeout = 10_000 });
        await annaOffer.GetByTestId("file-decline").ClickAsync();
        await Expect(annaOffer.GetByTestId("file-text")).ToHaveTextAsync("You declined minutes.pdf.");
        await SaveAsync(cleo, "Ben", "minutes.pdf", "49 KB", minutes, null);
        var benSent = ben.Locator("[data-testid=file-card][data-direction=send]");
        await Expect(benSent.Filter(new() { HasText = "Anna declined minutes.pdf." })).ToHaveCountAsync(1, new() { Timeout = 10_000 });
        await Expect(benSent.GetByTestId("file-saved")).ToHaveTextAsync("Cleo saved minutes.pdf.", new() { Timeout = 15_000 });
        await WebApp.ScreenshotAsync(ben, $"room-files-declined-{size}");

        // Over the cap: refused in words on Cleo's page, nothing offered.
        await cleo.GetByTestId("file-input").SetInputFilesAsync(WebApp.TooBigFile);
        await Expect(cleo.GetByTestId("room-send-error")).ToHaveTextAsync("huge.mov is 26 MB: files can be at most 25 MB.");
        await Expect(cleo.Locator("[data-testid=file-card][data-direction=send]")).ToHaveCountAsync(0);
        await WebApp.ScreenshotAsync(cleo, $"room-files-too-big-{size}");

        // What the hub received: no name, no content; each file entry for one person; control messages are E2E v1
        // ciphertexts, chunk entries JSON frames; the declined file's chunks went to nobody but Cleo, none to Anna.
        var all = received.ToArray();
        Assert.DoesNotContain(all, r => r.Arguments.Contains(Canary, StringComparison.Ordinal));
        Assert.DoesNotContain(all, r => r.Arguments.Contains("holiday-photo", StringComparison.Ordinal)
            || r.Arguments.Contains("minutes", StringComparison.Ordinal) || r.Arguments.Contains("huge.mov", StringComparison.Ordinal));
        var sends = all.Where(r => r.Method == "Send").Select(r => JsonNode.Parse(r.Arguments)![0]!).ToList();
        var fileSends = sends.Where(s => RoomPageTests.Property(s, "kind")!.GetValue<string>() is "file" or "file-chunk").ToList();
        Assert.All(fileSends, s => Assert.Single(RoomPageTests.Property(s, "ciphertexts")!.AsObject()));
        var controls = fileSends.Where(s => RoomPageTests.Property(s, "kind")!.GetValue<string>() == "file")
            .Select(s => RoomPageTests.Property(s, "ciphertexts")!.AsObject().Single().Value!.GetValue<string>()).ToList();
        Assert.True(controls.Count >= 2 * 3 + 2 * 3 + 2, $"{controls.Count} control messages"); // offers, accepts, dones, saved, the decline
        Assert.All(controls, c => Assert.Equal(1, Convert.FromBase64String(c)[0])); // an E2E v1 message
        var frames = fileSends.Where(s => RoomPageTests.Property(s, "kind")!.GetValue<string>() == "file-chunk")
            .Select(s => RoomPageTests.Property(s, "ciphertexts")!.AsObject().Single())
            .Select(p => (To: p.Key, Frame: JsonNode.Parse(p.Value!.GetValue<string>())!.AsObject())).ToList();
        Assert.All(frames, f => Assert.True(f.Frame.Count == 1 && (f.Frame.ContainsKey("c") || f.Frame.ContainsKey("m"))));
        var chunks = frames.Where(f => f.Frame.ContainsKey("c")).ToList();
        Assert.True(chunks.Count >= 2 * 10 + 2, $"{chunks.Count} relayed chunks"); // 300,000 bytes to two, 50,000 to one
        Assert.DoesNotContain(chunks, c => c.To == annaId);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task ATinyWindow_TheHubRefusesWithRateLimited_TheTransferBacksOffAndCompletes_AndLeavesNoChunkInTheHistory()
    {
        var received = new ConcurrentQueue<(string Method, string Arguments, string? Error)>();
        // Room for one chunk per recipient at a time: most chunks are refused (`rate_limited`) until the receiver acks.
        await using var server = await SampleHostServer.StartAsync(
            builder => builder.Services.Configure<HubOptions>(o => o.AddFilter(new RecordHubInvocations(received))),
            "--QrCalling:Rooms:WindowBytes=66000");
        var anna = await NewPageAsync(server, phone: true);
        var ben = await NewPageAsync(server, phone: true);
        var errors = WebApp.CollectErrors(anna, ben);
        var link = await RoomPageTests.StartRoomAsync(anna, "Anna");
        await RoomPageTests.JoinAsync(ben, link, "Ben");
        await RoomPageTests.EveryPairSameCodeAsync([anna, ben]);

        var bytes = FileBytes(200_000, 3);
        await anna.GetByTestId("file-input").SetInputFilesAsync(new FilePayload { Name = "scan.png", MimeType = "image/png", Buffer = bytes });
        await SaveAsync(ben, "Anna", "scan.png", "195 KB", bytes, null);
        await Expect(anna.GetByTestId("file-saved")).ToHaveTextAsync("Ben saved scan.png.", new() { Timeout = 15_000 });

        Assert.Contains(received, r => r.Method == "Send" && r.Error?.Contains("rate_limited", StringComparison.Ordinal) == true);
        await Expect(anna.GetByTestId("room-send-error")).ToBeEmptyAsync();

        // Acknowledged chunks and progress reports left the history: what Ben may still read holds no file-chunk entry
        // and nothing of his window is taken; a late joiner and text messages go through as before the file.
        var rooms = server.Services.GetRequiredService<IStorage>().Rooms;
        var roomId = await anna.EvaluateAsync<string>("() => window.qrcallingRoomDebug.roomId");
        var benId = await RoomPageTests.ParticipantIdAsync(ben);
        IReadOnlyList<RoomDelivery> left = [];
        for (var i = 0; i < 50; i++)
        {
            left = await rooms.ReadAsync(roomId, benId, 0, 1000, 10_000_000, CancellationToken.None);
            if (left.All(e => e.Kind != "file-chunk") && await rooms.GetPendingBytesAsync(roomId, benId, CancellationToken.None) == 0)
            {
                break;
            }
            await Task.Delay(100);
        }
        Assert.DoesNotContain(left, e => e.Kind == "file-chunk");
        Assert.Contains(left, e => e.Kind == "file"); // the offer stays, like any message
        Assert.Equal(0, await rooms.GetPendingBytesAsync(roomId, benId, CancellationToken.None));
        var dan = await NewPageAsync(server, phone: false);
        await RoomPageTests.JoinAsync(dan, link, "Dan");
        await RoomPageTests.EveryPairSameCodeAsync([anna, ben, dan]);
        await RoomPageTests.SendAsync(anna, "after the file", ben, dan);
        await Expect(dan.GetByTestId("room-notice").Filter(new() { HasText = "cannot be shown" })).ToHaveCountAsync(0);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task TheReceiverReloadsMidTransfer_TheSenderIsToldInWords_AndTheNextFileArrives()
    {
        // A small window keeps the transfer slow enough to reload in the middle of it.
        await using var server = await SampleHostServer.StartAsync("--QrCalling:Rooms:WindowBytes=66000");
        var anna = await NewPageAsync(server, phone: false);
        var ben = await NewPageAsync(server, phone: true);
        var link = await RoomPageTests.StartRoomAsync(anna, "Anna");
        await RoomPageTests.JoinAsync(ben, link, "Ben");
        await RoomPageTests.EveryPairSameCodeAsync([anna, ben]);

        await anna.GetByTestId("file-input").SetInputFilesAsync(new FilePayload { Name = "archive.zip", MimeType = "application/zip", Buffer = FileBytes(1_500_000, 4) });
        var offer = ben.Locator("[data-testid=file-card][data-direction=receive]");
        await Expect(offer.GetByTestId("file-text")).ToHaveTextAsync("Anna wants to send you archive.zip (1.4 MB).", new() { Timeout = 10_000 });
        await offer.GetByTestId("file-accept").ClickAsync();
        await Expect(offer.GetByTestId("file-text")).ToHaveTextAsync("Receiving archive.zip…");
        await ben.ReloadAsync();

        var sent = anna.Locator("[data-testid=file-card][data-direction=send]");
        await Expect(sent.GetByTestId("file-text")).ToHaveTextAsync("archive.zip could not be sent to Ben: the connection was lost.", new() { Timeout = 15_000 });
        await Expect(sent).ToHaveAttributeAsync("data-state", "failed");
        await WebApp.ScreenshotAsync(anna, "room-files-receiver-reloaded");

        // The new keys carry a new file.
        await RoomPageTests.EveryPairSameCodeAsync([anna, ben]);
        var bytes = FileBytes(40_000, 5);
        await anna.GetByTestId("file-input").SetInputFilesAsync(new FilePayload { Name = "small.txt", MimeType = "text/plain", Buffer = bytes });
        await SaveAsync(ben, "Anna", "small.txt", "39 KB", bytes, null);
        await Expect(sent.Filter(new() { HasText = "small.txt" }).GetByTestId("file-saved")).ToHaveTextAsync("Ben saved small.txt.", new() { Timeout = 15_000 });
    }

    /// <summary>The receiver sees the offer in words, chooses Save; the download holds the sent bytes.</summary>
    private static async Task SaveAsync(IPage to, string from, string name, string size, byte[] bytes, string? screenshot)
    {
        var offer = to.Locator("[data-testid=file-card][data-direction=receive]").Filter(new() { HasText = name });
        await Expect(offer.GetByTestId("file-text")).ToHaveTextAsync($"{from} wants to send you {name} ({size}).", new() { Timeout = 10_000 });
        if (screenshot is not null)
        {
            await WebApp.ScreenshotAsync(to, screenshot);
        }
        var download = await to.RunAndWaitForDownloadAsync(() => offer.GetByTestId("file-accept").ClickAsync(), new() { Timeout = 60_000 });
        Assert.Equal(name, download.SuggestedFilename);
        Assert.Equal(bytes, await File.ReadAllBytesAsync((await download.PathAsync())!));
        await Expect(offer.GetByTestId("file-text")).ToHaveTextAsync($"Received {name} ({size}). Saved to your downloads.");
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

    private async Task<IPage> NewPageAsync(SampleHostServer server, bool phone)
    {
        var context = phone ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        _contexts.Add(context);
        return await context.NewPageAsync();
    }

    /// <summary>Records every hub method call the server received, with its arguments as JSON and the error it answered.</summary>
    private sealed class RecordHubInvocations(ConcurrentQueue<(string Method, string Arguments, string? Error)> received) : IHubFilter
    {
        public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
        {
            var arguments = JsonSerializer.Serialize(invocationContext.HubMethodArguments);
            try
            {
                var result = await next(invocationContext);
                received.Enqueue((invocationContext.HubMethodName, arguments, null));
                return result;
            }
            catch (Exception e)
            {
                received.Enqueue((invocationContext.HubMethodName, arguments, e.Message));
                throw;
            }
        }
    }
}
