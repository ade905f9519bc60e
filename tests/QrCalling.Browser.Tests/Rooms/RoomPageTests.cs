using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests.Rooms;

/// <summary>The room page (wwwroot/room.html, js/room.js, js/client/rooms.js and room-e2e.js) in Chromium: the rooms
/// E2E vectors, three people in a room at phone and desktop size with matching pairwise check codes and a server that
/// only ever received ciphertext, different codes under key substitution, and the failures people see (full room,
/// invalid link, leaving, reloads, a lost connection).</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class RoomPageTests(BrowserFixture browser) : IAsyncLifetime
{
    private const string CheckCodePattern = "^[0-9]{3} [0-9]{3}$";
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
    public async Task RoomE2EModule_SharedTestVectors_AllMatchInChromium()
    {
        await using var server = await SampleHostServer.StartAsync();
        var page = await NewPageAsync(server, phone: false);
        await page.GotoAsync("/room");
        var vectors = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepositoryRoot, "tests", "vectors", "room-e2e-v1.json"));
        var check = (await File.ReadAllTextAsync(Path.Combine(TestPaths.RepositoryRoot, "tests", "QrCalling.Browser.Tests", "Rooms", "room-e2e-vectors-check.js")))
            .Replace("export async function check", "async function check", StringComparison.Ordinal);

        var failures = await page.EvaluateAsync<string[]>(
            $$"""
            async (vectors) => { {{check}}
              const e2e = await import('/js/client/e2e.js');
              const rooms = await import('/js/client/room-e2e.js');
              return await check(e2e, rooms, JSON.parse(vectors));
            }
            """, vectors);

        Assert.Empty(failures);
        Assert.Equal(4, JsonDocument.Parse(vectors).RootElement.GetProperty("cases").GetArrayLength());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ThreePeople_CreateJoinAndChat_EveryPairShowsTheSameCode_AndTheServerOnlyEverReceivedCiphertext(bool phone)
    {
        var received = new ConcurrentQueue<(string Method, string Arguments)>();
        await using var server = await SampleHostServer.StartAsync(builder =>
            builder.Services.Configure<HubOptions>(o => o.AddFilter(new RecordHubInvocations(received))));
        var anna = await NewPageAsync(server, phone);
        var ben = await NewPageAsync(server, phone);
        var third = await NewPageAsync(server, phone);
        var errors = WebApp.CollectErrors(anna, ben, third);

        var link = await StartRoomAsync(anna, "Anna");
        // Signed by default (the sample host in Development signs with an ephemeral key): PQS:1:ROOM:…, see SignedQrPageTests.
        Assert.Matches(new Regex("/room#PQS:1:ROOM:[A-Z2-7]{8}:[0-9]+:[A-Z2-7]{26}-[A-Z2-7]{52}:[A-Z2-7]{103}$"), link);
        await Expect(anna.GetByTestId("room-qr")).ToHaveAttributeAsync("src", new Regex("^blob:"));
        await Expect(anna.GetByTestId("room-alone")).ToBeVisibleAsync();
        await JoinAsync(ben, link, "Ben");
        await JoinAsync(third, link, null);
        await Expect(anna.GetByTestId("room-notice").Filter(new() { HasText = "Ben joined." })).ToHaveCountAsync(1);
        await Expect(anna.GetByTestId("room-notice").Filter(new() { HasText = "Participant 3 joined." })).ToHaveCountAsync(1);

        var pages = new[] { anna, ben, third };
        var codes = await EveryPairSameCodeAsync(pages);
        Assert.Equal(3, codes.Count);
        await Expect(ben.GetByTestId("room-pair").Filter(new() { HasText = "Compare with Anna: " })).ToHaveCountAsync(1);
        await Expect(anna.GetByTestId("room-pair").Filter(new() { HasText = "Compare with Participant 3: " })).ToHaveCountAsync(1);

        await third.GetByTestId("room-input").FillAsync("typing");
        await Expect(anna.GetByTestId("room-typing")).ToHaveTextAsync("Participant 3 is typing…");
        await SendAsync(anna, "the plaintext-canary from Anna 5521", ben, third);
        await SendAsync(ben, "the plaintext-canary from Ben 7730", anna, third);
        await SendAsync(third, "the plaintext-canary from the third 1184", anna, ben);
        await Expect(ben.Locator("[data-testid=room-message].them").Filter(new() { HasText = "from Anna" }).GetByTestId("room-sender")).ToHaveTextAsync("Anna");
        await Expect(ben.Locator("[data-testid=room-message].them").Filter(new() { HasText = "from the third" }).GetByTestId("room-sender")).ToHaveTextAsync("Participant 3");
        await WebApp.ScreenshotAsync(anna, $"room-three-people-{(phone ? "phone" : "desktop")}");

        // What the hub received from the three pages: key-exchange messages and per-recipient ciphertexts, never a
        // plaintext; each text message went as two ciphertexts (one per other participant) with E2E v1 headers.
        var all = received.ToArray();
        Assert.DoesNotContain(all, r => r.Arguments.Contains("canary", StringComparison.Ordinal));
        var sends = all.Where(r => r.Method == "Send").Select(r => JsonNode.Parse(r.Arguments)![0]!).ToList();
        var texts = sends.Where(s => Property(s, "kind")?.GetValue<string>() == "text").ToList();
        Assert.Equal(3, texts.Count);
        foreach (var text in texts)
        {
            var ciphertexts = Property(text, "ciphertexts")!.AsObject();
            Assert.Equal(2, ciphertexts.Count);
            foreach (var (_, value) in ciphertexts)
            {
                var bytes = Convert.FromBase64String(value!.GetValue<string>());
                Assert.Equal(1, bytes[0]); // version, direction, counter
                Assert.Equal(1UL, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(2)));
            }
        }
        var keyKinds = sends.Where(s => Property(s, "kind")?.GetValue<string>() == "key")
            .SelectMany(s => Property(s, "ciphertexts")!.AsObject().Select(p => JsonNode.Parse(p.Value!.GetValue<string>())!["kind"]!.GetValue<string>()))
            .ToList();
        Assert.Equal(3, keyKinds.Count(k => k == "commit")); // one exchange per pair
        Assert.Equal(3, keyKinds.Count(k => k == "key"));
        Assert.Equal(3, keyKinds.Count(k => k == "reveal"));
        Assert.Empty(errors);
    }

    [Fact]
    public async Task RelaySubstitutesAKey_ThatPairsCodesDiffer_AndItsMessagesDoNotDecrypt()
    {
        await using var server = await SampleHostServer.StartAsync();
        var substituted = new StrongBox<int>();
        var anna = await NewPageAsync(server, phone: true);
        var ben = await NewPageAsync(server, phone: true);
        // A malicious relay in front of both pages: the `key` answer of every exchange (only a pair's initiator receives
        // one) carries another valid P-256 point instead of the responder's.
        await RouteThroughRelayAsync(anna, SubstituteKey, substituted);
        await RouteThroughRelayAsync(ben, SubstituteKey, substituted);
        var link = await StartRoomAsync(anna, "Anna");
        await JoinAsync(ben, link, "Ben");

        var annaCode = anna.GetByTestId("room-check-code");
        var benCode = ben.GetByTestId("room-check-code");
        await Expect(annaCode).ToHaveTextAsync(new Regex(CheckCodePattern), new() { Timeout = 15_000 });
        await Expect(benCode).ToHaveTextAsync(new Regex(CheckCodePattern), new() { Timeout = 15_000 });
        Assert.True(Volatile.Read(ref substituted.Value) >= 1);
        Assert.NotEqual(await annaCode.TextContentAsync(), await benCode.TextContentAsync());
        await WebApp.ScreenshotAsync(ben, "room-substituted-key");

        await anna.GetByTestId("room-input").FillAsync("can you read this?");
        await anna.GetByTestId("room-send").ClickAsync();
        await Expect(ben.GetByTestId("room-notice").Filter(new() { HasText = "could not be decrypted" })).ToHaveCountAsync(1, new() { Timeout = 10_000 });
        await Expect(ben.GetByTestId("room-message")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task FullRoom_TheThirdPersonIsToldInWords()
    {
        await using var server = await SampleHostServer.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        using var response = await http.PostAsJsonAsync("/api/v1/rooms", new { maxParticipants = 2 });
        response.EnsureSuccessStatusCode();
        var link = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("link").GetString()!;
        var first = await NewPageAsync(server, phone: true);
        var second = await NewPageAsync(server, phone: false);
        var late = await NewPageAsync(server, phone: true);
        await JoinAsync(first, link, "First");
        await JoinAsync(second, link, null);

        await late.GotoAsync(link);
        await late.GetByTestId("room-join-button").ClickAsync();

        await Expect(late.GetByTestId("room-error")).ToHaveTextAsync("This room is full. Ask someone in it to leave, or start a new room.");
        await Expect(late.GetByTestId("room-view")).ToBeHiddenAsync();
        await Expect(late.GetByTestId("room-join")).ToBeVisibleAsync();
        await WebApp.ScreenshotAsync(late, "room-full");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task InvalidLinks_AreExplainedInWords(bool phone)
    {
        await using var server = await SampleHostServer.StartAsync();
        var page = await NewPageAsync(server, phone);
        var errors = WebApp.CollectErrors(page);

        // Well-formed, but no such room (or a wrong secret): the server's one answer for all of them.
        await page.GotoAsync($"/room#PQR:1:{new string('A', 26)}:{new string('B', 52)}");
        await Expect(page.GetByTestId("room-join")).ToBeVisibleAsync();
        await page.GetByTestId("room-join-button").ClickAsync();
        await Expect(page.GetByTestId("room-error")).ToContainTextAsync("This room link is no longer valid");
        await WebApp.ScreenshotAsync(page, $"room-invalid-link-{(phone ? "phone" : "desktop")}");

        // Damaged (cut short): refused before anything is sent.
        await page.GotoAsync("/room#PQR:1:ABC");
        await page.ReloadAsync();
        await Expect(page.GetByTestId("room-error")).ToContainTextAsync("This room link is incomplete or damaged");
        await Expect(page.GetByTestId("room-start")).ToBeVisibleAsync();
        // The refused join is a failed request in the console, nothing else (no script error).
        Assert.DoesNotContain(errors, e => !e.StartsWith("Failed to load resource", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Leaving_TheOthersSeeANotice_AndTheLeaverIsOut()
    {
        await using var server = await SampleHostServer.StartAsync();
        var anna = await NewPageAsync(server, phone: true);
        var ben = await NewPageAsync(server, phone: true);
        var link = await StartRoomAsync(anna, "Anna");
        await JoinAsync(ben, link, "Ben");
        await EveryPairSameCodeAsync([anna, ben]);

        await ben.GetByTestId("room-leave").ClickAsync();

        await Expect(ben.GetByTestId("room-ended-text")).ToHaveTextAsync("You left the room. The others were told.");
        await Expect(anna.GetByTestId("room-notice").Filter(new() { HasText = "Ben left." })).ToHaveCountAsync(1);
        await Expect(anna.GetByTestId("room-pair")).ToHaveCountAsync(0);
        await Expect(anna.GetByTestId("room-alone")).ToBeVisibleAsync();
        // The token is gone (and forgotten by the tab): opening the link again asks to join as someone new.
        await ben.ReloadAsync();
        await Expect(ben.GetByTestId("room-join")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Reload_RejoinsAsTheSameParticipant_AndTheOtherPageSaysTheCodeChanged()
    {
        await using var server = await SampleHostServer.StartAsync();
        var anna = await NewPageAsync(server, phone: true);
        var ben = await NewPageAsync(server, phone: false);
        var errors = WebApp.CollectErrors(anna, ben);
        var link = await StartRoomAsync(anna, "Anna");
        await JoinAsync(ben, link, "Ben");
        var before = (await EveryPairSameCodeAsync([anna, ben])).Single().Value;
        await SendAsync(anna, "before the reload", ben);
        var benId = await ParticipantIdAsync(ben);

        await ben.ReloadAsync();

        await Expect(ben.GetByTestId("room-view")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        Assert.Equal(benId, await ParticipantIdAsync(ben));
        await Expect(ben.Locator("[data-testid=room-message].them")).ToHaveTextAsync(new Regex("before the reload$")); // kept by the tab
        var after = (await EveryPairSameCodeAsync([anna, ben])).Single().Value;
        Assert.NotEqual(before, after);
        await Expect(anna.GetByTestId("room-notice").Filter(new() { HasText = $"The check code with Ben changed to {after}" })).ToHaveCountAsync(1);
        await SendAsync(anna, "after the reload", ben);
        await SendAsync(ben, "and back", anna);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task ConnectionLost_RetryingIsShown_AndARoomGoneWithTheServerIsExplained()
    {
        await using var server = await SampleHostServer.StartAsync();
        var anna = await NewPageAsync(server, phone: true);
        await StartRoomAsync(anna, "Anna");
        await Expect(anna.Locator("body")).ToHaveAttributeAsync("data-hub", "online");

        await server.StopAsync();
        await Expect(anna.GetByTestId("room-banner")).ToHaveTextAsync("Connection lost — retrying…", new() { Timeout = 15_000 });
        await WebApp.ScreenshotAsync(anna, "room-connection-lost");
        // In-memory storage does not survive: the room is gone when the server is back.
        await server.StartAgainAsync();

        await Expect(anna.GetByTestId("room-ended-text")).ToHaveTextAsync("This room is no longer available: it has ended.", new() { Timeout = 30_000 });
    }

    // ---- steps ----

    private async Task<IPage> NewPageAsync(SampleHostServer server, bool phone)
    {
        var context = phone ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        _contexts.Add(context);
        return await context.NewPageAsync();
    }

    /// <summary>Starts a room from the start page (reached from the home page's link); returns the link it shows.</summary>
    internal static async Task<string> StartRoomAsync(IPage page, string? name)
    {
        await page.GotoAsync("/");
        await page.GetByTestId("start-room-link").ClickAsync();
        await page.WaitForURLAsync(new Regex("/room$"));
        if (name is not null)
        {
            await page.GetByTestId("room-create-name").FillAsync(name);
        }
        await page.GetByTestId("room-create").ClickAsync();
        await Expect(page.GetByTestId("room-view")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(page.GetByTestId("room-link")).ToHaveTextAsync(new Regex("/room#PQ[RS]:1:"));
        return (await page.GetByTestId("room-link").TextContentAsync())!;
    }

    internal static async Task JoinAsync(IPage page, string link, string? name)
    {
        await page.GotoAsync(link);
        if (name is not null)
        {
            await page.GetByTestId("room-join-name").FillAsync(name);
        }
        await page.GetByTestId("room-join-button").ClickAsync();
        await Expect(page.GetByTestId("room-view")).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(page.Locator("body")).ToHaveAttributeAsync("data-hub", "online");
    }

    internal static Task<string> ParticipantIdAsync(IPage page) =>
        page.EvaluateAsync<string>("() => window.qrcallingRoomDebug.participantId");

    /// <summary>Waits until every page shows a code for every other page, and checks that the two sides of each pair
    /// show the same one; returns the codes by pair.</summary>
    internal static async Task<Dictionary<(int, int), string>> EveryPairSameCodeAsync(IPage[] pages)
    {
        var ids = new List<string>();
        foreach (var page in pages)
        {
            ids.Add(await ParticipantIdAsync(page));
        }
        var codes = new Dictionary<(int, int), string>();
        for (var a = 0; a < pages.Length; a++)
        {
            for (var b = a + 1; b < pages.Length; b++)
            {
                var onA = pages[a].Locator($"[data-testid=room-pair][data-peer='{ids[b]}'] [data-testid=room-check-code]");
                var onB = pages[b].Locator($"[data-testid=room-pair][data-peer='{ids[a]}'] [data-testid=room-check-code]");
                await Expect(onA).ToHaveTextAsync(new Regex(CheckCodePattern), new() { Timeout = 15_000 });
                var code = (await onA.TextContentAsync())!;
                await Expect(onB).ToHaveTextAsync(code, new() { Timeout = 15_000 });
                codes[(a, b)] = code;
            }
        }
        return codes;
    }

    /// <summary>Sends a text from one page and waits until every other page shows it.</summary>
    internal static async Task SendAsync(IPage from, string text, params IPage[] to)
    {
        await from.GetByTestId("room-input").FillAsync(text);
        await from.GetByTestId("room-send").ClickAsync();
        await Expect(from.Locator("[data-testid=room-message].me").Last.GetByTestId("room-text")).ToHaveTextAsync(text);
        await Expect(from.GetByTestId("room-send-error")).ToBeEmptyAsync();
        foreach (var page in to)
        {
            await Expect(page.Locator("[data-testid=room-message].them").Filter(new() { HasText = text })).ToHaveCountAsync(1, new() { Timeout = 10_000 });
        }
    }

    /// <summary>A JSON property by name, whatever its casing (the hub's argument type decides it).</summary>
    internal static JsonNode? Property(JsonNode node, string name) =>
        node.AsObject().FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>SignalR JSON frames: in every room message of kind <c>key</c> (live, in RoomJoined's history or a Resume
    /// result) whose ciphertext is a key-exchange <c>key</c>, the public key replaced by another valid P-256 point.</summary>
    private static string SubstituteKey(string text)
    {
        if (!text.Contains("\\\"key\\\"", StringComparison.Ordinal))
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

        static bool Walk(JsonNode? node)
        {
            var any = false;
            if (node is JsonObject o)
            {
                if (o["kind"]?.GetValueKind() == JsonValueKind.String && o["kind"]!.GetValue<string>() == "key"
                    && o["ciphertext"]?.GetValueKind() == JsonValueKind.String && JsonNode.Parse(o["ciphertext"]!.GetValue<string>()) is JsonObject data
                    && data["kind"]?.GetValue<string>() == "key")
                {
                    data["publicKey"] = ServerPublicKey;
                    o["ciphertext"] = data.ToJsonString();
                    any = true;
                }
                foreach (var child in o.Select(p => p.Value).ToList())
                {
                    any |= Walk(child);
                }
            }
            else if (node is JsonArray a)
            {
                foreach (var child in a.ToList())
                {
                    any |= Walk(child);
                }
            }
            return any;
        }
    }

    /// <summary>A relay in front of a page's room hub: every text frame from the server goes through
    /// <paramref name="rewrite"/>; <paramref name="changed"/> counts the frames it changed.</summary>
    private static Task RouteThroughRelayAsync(IPage page, Func<string, string> rewrite, StrongBox<int> changed) =>
        page.RouteWebSocketAsync(new Regex("/hubs/rooms"), ws =>
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

    /// <summary>A valid P-256 point that is nobody's in the room (the responder key of the E2E v1 vectors' second case).</summary>
    private static readonly string ServerPublicKey = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "tests", "vectors", "e2e-v1.json")))
        .RootElement.GetProperty("cases")[1].GetProperty("responder").GetProperty("publicKey").GetString()!;
}
