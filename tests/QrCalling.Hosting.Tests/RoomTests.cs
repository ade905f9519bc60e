using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using FsCheck;
using FsCheck.Xunit;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Meet-now rooms (issue 12 §2) through REST and real SignalR clients on <c>/hubs/rooms</c>.</summary>
public sealed class RoomTests
{
    private static readonly string[] RoomEvents =
        ["RoomJoined", "ParticipantJoined", "ParticipantLeft", "PublicKeysUpdated", "Message", "MessageSent", "Typing", "RoomEnded"];

    /// <summary>A participant: its join answer and one recorded hub connection.</summary>
    private sealed class Participant(string id, string token, HubConnection connection)
    {
        public string Id { get; } = id;
        public string Token { get; } = token;
        public HubConnection Connection { get; } = connection;
        public ConcurrentQueue<(string Name, string Json)> Events { get; } = new();
        public TaskCompletionSource<Exception?> Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IEnumerable<JsonElement> Of(string name) => Events.Where(e => e.Name == name).Select(e => JsonDocument.Parse(e.Json).RootElement);

        public string AllText => string.Join('\n', Events.Select(e => e.Name + " " + e.Json));

        public async Task<JsonElement> WaitForAsync(string name, Func<JsonElement, bool>? predicate = null)
        {
            var deadline = Environment.TickCount64 + 10_000;
            while (Environment.TickCount64 < deadline)
            {
                var match = Of(name).Where(e => predicate?.Invoke(e) ?? true).ToList();
                if (match.Count > 0)
                {
                    return match[0];
                }
                await Task.Delay(10);
            }
            throw new Xunit.Sdk.XunitException($"No {name} event; got: {AllText}");
        }
    }

    private static async Task<JsonElement> CreateRoomAsync(TestHost host, object? body = null)
    {
        var response = await host.Client().PostAsync("/api/v1/rooms", body is null ? null : Http.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement;
    }

    private static async Task<JsonElement> JoinAsync(TestHost host, string link, string? name = null)
    {
        var response = await host.Client().PostAsync("/api/v1/rooms/join", Http.Json(new { link, displayName = name }));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }

    private static async Task<Participant> ConnectAsync(TestHost host, JsonElement joined, bool useTicket = true, bool messagePack = false)
    {
        var token = joined.GetProperty("participantToken").GetString()!;
        var credential = token;
        if (useTicket)
        {
            var ticket = await host.Client(bearer: token).PostAsync("/api/v1/hub-tickets", null);
            Assert.Equal(HttpStatusCode.Created, ticket.StatusCode);
            credential = (await ticket.ReadJsonAsync()).GetProperty("ticket").GetString()!;
        }
        var builder = new HubConnectionBuilder().WithUrl(new Uri(host.Server.BaseAddress, "/hubs/rooms?access_token=" + Uri.EscapeDataString(credential)), o =>
        {
            o.Transports = HttpTransportType.WebSockets;
            o.SkipNegotiation = true;
            o.HttpMessageHandlerFactory = _ => host.Server.CreateHandler();
            o.WebSocketFactory = async (context, cancellationToken) => await host.Server.CreateWebSocketClient().ConnectAsync(context.Uri, cancellationToken);
        });
        if (messagePack)
        {
            TestMessagePack.Use(builder);
        }
        var connection = builder.Build();
        var participant = new Participant(joined.GetProperty("participantId").GetString()!, token, connection);
        foreach (var name in RoomEvents)
        {
            connection.On<JsonElement>(name, e => participant.Events.Enqueue((name, e.GetRawText())));
        }
        connection.Closed += e => { participant.Closed.TrySetResult(e); return Task.CompletedTask; };
        await connection.StartAsync();
        await participant.WaitForAsync("RoomJoined");
        return participant;
    }

    private static Task<JsonElement> SendAsync(Participant from, string clientMessageId, string kind, Dictionary<string, string> ciphertexts) =>
        from.Connection.InvokeAsync<JsonElement>("Send", JsonSerializer.SerializeToElement(new { clientMessageId, kind, ciphertexts }));

    private static async Task<string> HubErrorAsync(Func<Task> invoke)
    {
        var ex = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(invoke);
        return HubErrors.CodeOf(ex.Message);
    }

    [Fact]
    public async Task ThreeParticipants_PublishKeys_AndEachGetsOnlyItsOwnCiphertext()
    {
        await using var host = await TestHost.StartAsync();
        var room = await CreateRoomAsync(host);
        var link = room.GetProperty("link").GetString()!;
        Assert.Matches("^http://localhost/room#PQR:1:[A-Z2-7]{26}:[A-Z2-7]{52}$", link);
        Assert.Equal(8, room.GetProperty("maxParticipants").GetInt32());

        var alice = await ConnectAsync(host, await JoinAsync(host, link, "Alice"));
        var bob = await ConnectAsync(host, await JoinAsync(host, link.Split('#')[1].ToLowerInvariant(), "Bob"));
        var carol = await ConnectAsync(host, await JoinAsync(host, "  " + link.Split('#')[1] + " ", null), useTicket: false);
        await alice.WaitForAsync("ParticipantJoined", e => e.GetProperty("participantId").GetString() == bob.Id && e.GetProperty("displayName").GetString() == "Bob");
        await alice.WaitForAsync("ParticipantJoined", e => e.GetProperty("participantId").GetString() == carol.Id);
        var carolJoined = await carol.WaitForAsync("RoomJoined");
        Assert.Equal(3, carolJoined.GetProperty("participants").GetArrayLength());

        await alice.Connection.InvokeAsync("PublishKey", "pk-alice");
        await bob.Connection.InvokeAsync("PublishKey", "pk-bob");
        var keys = await carol.WaitForAsync("PublicKeysUpdated", e => e.GetProperty("participants").EnumerateArray().Count(p => p.GetProperty("publicKey").ValueKind == JsonValueKind.String) == 2);
        Assert.Contains(keys.GetProperty("participants").EnumerateArray(), p => p.GetProperty("publicKey").GetString() == "pk-bob");

        // Alice writes to Bob only: Carol, not addressed, gets nothing.
        var sent = await SendAsync(alice, "m1", "text", new() { [bob.Id] = "ct-for-bob" });
        var seq = sent.GetProperty("seq").GetInt64();
        var message = await bob.WaitForAsync("Message");
        Assert.Equal((seq, alice.Id, "text", "ct-for-bob"), (message.GetProperty("seq").GetInt64(), message.GetProperty("from").GetString(),
            message.GetProperty("kind").GetString(), message.GetProperty("ciphertext").GetString()));
        var confirmation = await alice.WaitForAsync("MessageSent");
        Assert.Equal(("m1", seq), (confirmation.GetProperty("clientMessageId").GetString(), confirmation.GetProperty("seq").GetInt64()));
        Assert.Equal([bob.Id], confirmation.GetProperty("to").EnumerateArray().Select(t => t.GetString()));

        // To both: each gets its own ciphertext and never the other's.
        await SendAsync(alice, "m2", "text", new() { [bob.Id] = "two-bob", [carol.Id] = "two-carol" });
        Assert.Equal("two-carol", (await carol.WaitForAsync("Message")).GetProperty("ciphertext").GetString());
        await bob.WaitForAsync("Message", e => e.GetProperty("ciphertext").GetString() == "two-bob");
        await carol.Connection.InvokeAsync("Typing");
        await alice.WaitForAsync("Typing", e => e.GetProperty("participantId").GetString() == carol.Id);
        Assert.DoesNotContain("ct-for-bob", carol.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain("two-bob", carol.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain("two-carol", bob.AllText, StringComparison.Ordinal);
        Assert.Empty(carol.Of("Typing"));

        // Resume gives Bob his two entries; Carol only hers.
        var bobResume = await bob.Connection.InvokeAsync<JsonElement>("Resume", 0L);
        Assert.Equal(["ct-for-bob", "two-bob"], bobResume.EnumerateArray().Select(e => e.GetProperty("ciphertext").GetString()));
        var carolResume = await carol.Connection.InvokeAsync<JsonElement>("Resume", 0L);
        Assert.Equal(["two-carol"], carolResume.EnumerateArray().Select(e => e.GetProperty("ciphertext").GetString()));

        // Refusals: unknown recipient, oneself, bad kind.
        Assert.Equal("unknown_participant", await HubErrorAsync(() => SendAsync(alice, "m3", "text", new() { ["p_nobody"] = "x" })));
        Assert.Equal("invalid_request", await HubErrorAsync(() => SendAsync(alice, "m4", "text", new() { [alice.Id] = "x" })));
        Assert.Equal("invalid_request", await HubErrorAsync(() => SendAsync(alice, "m5", "Text!", new() { [bob.Id] = "x" })));

        // Leaving: the others hear it; the token stops working.
        await carol.Connection.InvokeAsync("Leave");
        await alice.WaitForAsync("ParticipantLeft", e => e.GetProperty("participantId").GetString() == carol.Id);
        var get = await host.Client(bearer: carol.Token).GetAsync("/api/v1/rooms/" + room.GetProperty("roomId").GetString());
        await get.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal("unknown_participant", await HubErrorAsync(() => SendAsync(alice, "m6", "text", new() { [carol.Id] = "x" })));
    }

    [Fact]
    public async Task LateJoiner_GetsOnlyWhatIsAddressedToIt_AndReloadRejoinsAsTheSameParticipant()
    {
        await using var host = await TestHost.StartAsync();
        var room = await CreateRoomAsync(host, new { maxParticipants = 3, expiresInSeconds = 3600 });
        var link = room.GetProperty("link").GetString()!;
        var alice = await ConnectAsync(host, await JoinAsync(host, link, "Alice"));
        var bobJoin = await JoinAsync(host, link, "Bob");
        var bob = await ConnectAsync(host, bobJoin);
        await SendAsync(alice, "early", "text", new() { [bob.Id] = "early-for-bob" });
        await bob.WaitForAsync("Message");

        var late = await ConnectAsync(host, await JoinAsync(host, link, "Late"));
        var history = (await late.WaitForAsync("RoomJoined")).GetProperty("history");
        Assert.Equal(0, history.GetArrayLength());
        await SendAsync(alice, "hi-late", "text", new() { [late.Id] = "for-late" });
        await late.WaitForAsync("Message");

        // Bob reloads: rejoins with his token (same id), reconnects, gets his history, and no ParticipantJoined is sent again.
        await bob.Connection.DisposeAsync();
        var rejoin = await host.Client().PostAsync("/api/v1/rooms/join", Http.Json(new { link, participantToken = bob.Token }));
        var rejoined = await rejoin.ReadJsonAsync();
        Assert.Equal(bob.Id, rejoined.GetProperty("participantId").GetString());
        var bobAgain = await ConnectAsync(host, rejoined);
        var bobHistory = (await bobAgain.WaitForAsync("RoomJoined")).GetProperty("history");
        Assert.Equal(["early-for-bob"], bobHistory.EnumerateArray().Select(e => e.GetProperty("ciphertext").GetString()));
        Assert.Equal(1, alice.Of("ParticipantJoined").Count(e => e.GetProperty("participantId").GetString() == bob.Id));

        // The room is full now (3): a fourth join is 409 room_full.
        var full = await host.Client().PostAsync("/api/v1/rooms/join", Http.Json(new { link }));
        await full.AssertProblemAsync(HttpStatusCode.Conflict, "room_full");

        var get = await host.Client(bearer: alice.Token).GetAsync("/api/v1/rooms/" + room.GetProperty("roomId").GetString());
        var state = await get.ReadJsonAsync();
        Assert.Equal(["Alice", "Bob", "Late"], state.GetProperty("participants").EnumerateArray().Select(p => p.GetProperty("displayName").GetString()));
    }

    [Fact]
    public async Task HistoryOverHalfAMebibyte_ComesBackWhole_InResumeAndInTheRejoinsHistory()
    {
        // A client reads Resume (and RoomJoined's history) once: whatever the room keeps for a participant (up to
        // Rooms.HistoryBytes, 1 MiB) must come back in that one read, not the first 512 KiB of it.
        await using var host = await TestHost.StartAsync();
        var room = await CreateRoomAsync(host, new { maxParticipants = 2, expiresInSeconds = 3600 });
        var link = room.GetProperty("link").GetString()!;
        var alice = await ConnectAsync(host, await JoinAsync(host, link, "Alice"));
        var bob = await ConnectAsync(host, await JoinAsync(host, link, "Bob"));
        var sent = new List<long>();
        for (var i = 0; i < 12; i++)
        {
            // 12 x 60,000 characters: 720 KB; Bob acknowledges half way, so his 512 KiB window never fills.
            sent.Add((await SendAsync(alice, $"m{i}", "text", new() { [bob.Id] = new string((char)('a' + i), 60_000) })).GetProperty("seq").GetInt64());
            if (i == 5)
            {
                await bob.Connection.InvokeAsync("Ack", sent[^1]);
            }
        }

        var resumed = await bob.Connection.InvokeAsync<JsonElement>("Resume", 0L);
        Assert.Equal(sent, resumed.EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()));
        await bob.Connection.DisposeAsync();
        var rejoined = await (await host.Client().PostAsync("/api/v1/rooms/join", Http.Json(new { link, participantToken = bob.Token }))).ReadJsonAsync();
        var history = (await (await ConnectAsync(host, rejoined)).WaitForAsync("RoomJoined")).GetProperty("history");
        Assert.Equal(sent, history.EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()));
    }

    [Fact]
    public async Task MessagePackClient_ExchangesMessages()
    {
        await using var host = await TestHost.StartAsync(configure: b => b.Services.AddQrCalling().AddMessagePackProtocol());
        var link = (await CreateRoomAsync(host)).GetProperty("link").GetString()!;
        var alice = await ConnectAsync(host, await JoinAsync(host, link), messagePack: true);
        var bob = await ConnectAsync(host, await JoinAsync(host, link));
        var sent = await SendAsync(alice, "mp", "text", new() { [bob.Id] = "via-msgpack" });
        Assert.Equal(1, sent.GetProperty("seq").GetInt64());
        Assert.Equal("via-msgpack", (await bob.WaitForAsync("Message")).GetProperty("ciphertext").GetString());
        Assert.Equal("mp", (await alice.WaitForAsync("MessageSent")).GetProperty("clientMessageId").GetString());
    }

    [Fact]
    public async Task Caps_TooLargeCiphertextAndKey_AreRefused()
    {
        await using var host = await TestHost.StartAsync(core: o => { o.Rooms.MaxCiphertextBytes = 1024; o.Rooms.MaxMessageBytes = 1500; o.Rooms.WindowBytes = 4096; });
        var link = (await CreateRoomAsync(host)).GetProperty("link").GetString()!;
        var alice = await ConnectAsync(host, await JoinAsync(host, link));
        var bob = await ConnectAsync(host, await JoinAsync(host, link));
        var carol = await ConnectAsync(host, await JoinAsync(host, link));
        Assert.Equal("too_large", await HubErrorAsync(() => SendAsync(alice, "big", "text", new() { [bob.Id] = new string('a', 1025) })));
        Assert.Equal("too_large", await HubErrorAsync(() => SendAsync(alice, "sum", "text", new() { [bob.Id] = new string('a', 800), [carol.Id] = new string('b', 800) })));
        Assert.Equal("too_large", await HubErrorAsync(() => alice.Connection.InvokeAsync("PublishKey", new string('k', 1025))));
        // Bob never acknowledges: his window (4096 bytes) fills and further messages to him are refused with rate_limited.
        var refused = 0;
        for (var i = 0; i < 6; i++)
        {
            try { await SendAsync(alice, "w" + i, "text", new() { [bob.Id] = new string('c', 1000) }); }
            catch (Microsoft.AspNetCore.SignalR.HubException ex) { Assert.Equal("rate_limited", HubErrors.CodeOf(ex.Message)); refused++; }
        }
        Assert.Equal(3, refused);
        await bob.Connection.InvokeAsync("Ack", 3L);
        await SendAsync(alice, "after-ack", "text", new() { [bob.Id] = "ok" });
        Assert.Empty(carol.Of("Message"));
    }

    [Fact]
    public async Task HubFailures_UnexpectedAndStorageOutage_AreCodedAndLoggedWithoutDetails()
    {
        await using var host = await TestHost.StartAsync(configure: b => b.Services.AddSingleton<IStorage>(new PickyStorage()));
        var link = (await CreateRoomAsync(host)).GetProperty("link").GetString()!;
        var alice = await ConnectAsync(host, await JoinAsync(host, link));

        var unexpected = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => alice.Connection.InvokeAsync("PublishKey", PickyStorage.ExplodingId));
        Assert.Equal("internal_error", HubErrors.CodeOf(unexpected.Message));
        Assert.DoesNotContain(PickyStorage.Secret, unexpected.Message);
        var outage = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => alice.Connection.InvokeAsync("PublishKey", PickyStorage.UnavailableId));
        Assert.Equal("storage_unavailable", HubErrors.CodeOf(outage.Message));
        Assert.DoesNotContain(PickyStorage.Secret, outage.Message);

        // QrCalling logged both itself (so SignalR's own error lines may be quieted), and the connection goes on.
        Assert.Contains(host.Logs.Lines, l => l.StartsWith("Error QrCalling.Hosting.Hubs.RoomHubFilter", StringComparison.Ordinal)
            && l.Contains("Hub PublishKey failed unexpectedly", StringComparison.Ordinal));
        Assert.Contains(host.Logs.Lines, l => l.StartsWith("Warning QrCalling.Hosting.Hubs.RoomHubFilter", StringComparison.Ordinal)
            && l.Contains("storage backend is unavailable", StringComparison.Ordinal));
        await alice.Connection.InvokeAsync("PublishKey", "a-public-key");
        Assert.Equal(HubConnectionState.Connected, alice.Connection.State);
    }

    [Fact]
    public async Task Create_ValidatesBounds_AndSignedIsUnavailableWithoutAKey()
    {
        await using var host = await TestHost.StartAsync();
        await (await host.Client().PostAsync("/api/v1/rooms", Http.Json(new { maxParticipants = 1 }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await host.Client().PostAsync("/api/v1/rooms", Http.Json(new { maxParticipants = 17 }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await host.Client().PostAsync("/api/v1/rooms", Http.Json(new { expiresInSeconds = 10 }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await host.Client().PostAsync("/api/v1/rooms", Http.Json(new { signed = true }))).AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "signing_unavailable");
        var room = await CreateRoomAsync(host, new { maxParticipants = 16, expiresInSeconds = 120 });
        Assert.Equal(16, room.GetProperty("maxParticipants").GetInt32());
        var link = room.GetProperty("link").GetString()!;
        var bad = await host.Client().PostAsync("/api/v1/rooms/join", Http.Json(new { link, displayName = "tab\there" }));
        await bad.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_display_name");
        var tooLong = await host.Client().PostAsync("/api/v1/rooms/join", Http.Json(new { link, displayName = new string('n', 41) }));
        await tooLong.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_display_name");

        // The room's QR for a participant, only with this room's link.
        var joined = await JoinAsync(host, link, "  Spaced  ");
        var participant = host.Client(bearer: joined.GetProperty("participantToken").GetString());
        var qr = await participant.PostAsync($"/api/v1/rooms/{room.GetProperty("roomId").GetString()}/qr", Http.Json(new { link, format = "png" }));
        Assert.Equal(HttpStatusCode.OK, qr.StatusCode);
        Assert.Equal("image/png", qr.Content.Headers.ContentType?.MediaType);
        var other = (await CreateRoomAsync(host)).GetProperty("link").GetString()!;
        var wrong = await participant.PostAsync($"/api/v1/rooms/{room.GetProperty("roomId").GetString()}/qr", Http.Json(new { link = other, format = "svg" }));
        await wrong.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        var state = await (await participant.GetAsync("/api/v1/rooms/" + room.GetProperty("roomId").GetString())).ReadJsonAsync();
        Assert.Equal("Spaced", state.GetProperty("participants")[0].GetProperty("displayName").GetString());
    }

    [Fact]
    public async Task Create_UnderPressure_AsksForProofOfWork()
    {
        await using var host = await TestHost.StartAsync(hosting: o => { o.RateLimits.RoomsBeforeProof = 2; o.RateLimits.RoomsPerClient = 100; });
        await CreateRoomAsync(host);
        await CreateRoomAsync(host);
        var response = await host.Client().PostAsync("/api/v1/rooms", null);
        await response.AssertProblemAsync(HttpStatusCode.TooManyRequests, "proof_required");
        var problem = await response.ReadJsonAsync();
        var challenge = problem.GetProperty("challenge").GetString()!;
        var difficulty = problem.GetProperty("difficulty").GetInt32();
        var solution = Enumerable.Range(0, int.MaxValue).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .First(s => Internal.ProofOfWork.Solves(challenge, s, difficulty));
        await CreateRoomAsync(host, new { proof = new { challenge, solution } });
    }

    /// <summary>Wrong secret, unknown room, expired room, ended room and malformed links all get byte-identical answers.</summary>
    [Property(MaxTest = 30)]
    public void Join_BadLinks_AreIndistinguishable(NonEmptyString noise, bool lowerCase, int mutation)
    {
        using var time = new Holder();
        var host = time.Host;
        var room = CreateRoomAsync(host).GetAwaiter().GetResult();
        var link = room.GetProperty("link").GetString()!;
        var payload = link.Split('#')[1];
        var candidates = new[]
        {
            payload[..^4] + (payload[^4..] == "AAAA" ? "BBBB" : "AAAA"),            // wrong secret
            "PQR:1:" + new string('C', 26) + payload[32..],                            // unknown room
            time.ExpiredPayload,                                                        // expired room
            time.EndedPayload,                                                          // ended room (last one left)
            "PQR:1:" + noise.Get,                                                       // malformed
        };
        var candidate = candidates[Math.Abs(mutation % candidates.Length)];
        if (lowerCase)
        {
            candidate = candidate.ToLowerInvariant();
        }
        var reference = Answer(host, "PQR:1:" + new string('D', 26) + ":" + new string('E', 52));
        var answer = Answer(host, candidate);
        Assert.Equal(reference, answer);
    }

    private static string Answer(TestHost host, string payload)
    {
        var response = host.Client().PostAsync("/api/v1/rooms/join", Http.Json(new { payload })).GetAwaiter().GetResult();
        var headers = string.Join('\n', response.Headers.Concat(response.Content.Headers)
            .Where(h => h.Key != "Date")
            .OrderBy(h => h.Key).Select(h => h.Key + ": " + string.Join(',', h.Value)));
        return (int)response.StatusCode + "\n" + headers + "\n" + response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
    }

    /// <summary>One host for the property (with an expired and an ended room), created lazily and shared.</summary>
    private sealed class Holder : IDisposable
    {
        private static readonly Lazy<(TestHost Host, FakeTimeProvider Time, string Expired, string Ended)> Shared = new(() =>
        {
            var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var host = TestHost.StartAsync(time: time, hosting: o => { o.RateLimits.ScansPerClient = 100_000; o.RateLimits.RoomsPerClient = 100_000; o.RateLimits.RoomsBeforeProof = 100_000; })
                .GetAwaiter().GetResult();
            var expired = CreateRoomAsync(host, new { expiresInSeconds = 60 }).GetAwaiter().GetResult().GetProperty("link").GetString()!.Split('#')[1];
            var ended = CreateRoomAsync(host).GetAwaiter().GetResult().GetProperty("link").GetString()!;
            var joined = JoinAsync(host, ended).GetAwaiter().GetResult();
            var left = host.Client(bearer: joined.GetProperty("participantToken").GetString())
                .PostAsync($"/api/v1/rooms/{joined.GetProperty("roomId").GetString()}/leave", null).GetAwaiter().GetResult();
            Assert.Equal(HttpStatusCode.NoContent, left.StatusCode);
            time.Advance(TimeSpan.FromMinutes(2));
            return (host, time, expired, ended.Split('#')[1]);
        });

        public TestHost Host => Shared.Value.Host;
        public string ExpiredPayload => Shared.Value.Expired;
        public string EndedPayload => Shared.Value.Ended;

        public void Dispose()
        {
        }
    }

    [Fact]
    public async Task IdleRoom_EndsWithRoomEnded_AndIsSwept()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(core: o => { o.SweepInterval = TimeSpan.FromSeconds(1); o.Rooms.IdleTimeout = TimeSpan.FromMinutes(30); }, time: time);
        var link = (await CreateRoomAsync(host)).GetProperty("link").GetString()!;
        var aliceJoin = await JoinAsync(host, link);
        var alice = await ConnectAsync(host, aliceJoin);
        var bob = await ConnectAsync(host, await JoinAsync(host, link));
        await SendAsync(alice, "x", "text", new() { [bob.Id] = "before" });
        var roomId = aliceJoin.GetProperty("roomId").GetString()!;
        // While participants are connected the room is not idle, however long.
        for (var i = 0; i < 40; i++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(5);
        }
        Assert.Empty(alice.Of("RoomEnded"));
        await alice.Connection.DisposeAsync();
        await bob.Connection.DisposeAsync();
        // Both gone: the room ends 30 minutes later.
        var storage = host.App.Services.GetRequiredService<IStorage>();
        var deadline = Environment.TickCount64 + 10_000;
        while (await storage.Rooms.GetAsync(roomId, default) is not null && Environment.TickCount64 < deadline)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(20);
        }
        Assert.Null(await storage.Rooms.GetAsync(roomId, default));
        Assert.Empty(await storage.Rooms.ListParticipantsAsync(roomId, default));
        var get = await host.Client(bearer: aliceJoin.GetProperty("participantToken").GetString()).GetAsync("/api/v1/rooms/" + roomId);
        await get.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await host.Client().PostAsync("/api/v1/rooms/join", Http.Json(new { link }))).AssertProblemAsync(HttpStatusCode.NotFound, "room_unavailable");
    }

    [Fact]
    public async Task ConnectedParticipants_GetRoomEnded_WhenTheRoomExpires()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(core: o => o.SweepInterval = TimeSpan.FromSeconds(1), time: time);
        var link = (await CreateRoomAsync(host, new { expiresInSeconds = 120 })).GetProperty("link").GetString()!;
        var alice = await ConnectAsync(host, await JoinAsync(host, link));
        var deadline = Environment.TickCount64 + 10_000;
        while (!alice.Of("RoomEnded").Any() && Environment.TickCount64 < deadline)
        {
            time.Advance(TimeSpan.FromSeconds(30));
            await Task.Delay(20);
        }
        Assert.Equal("expired", (await alice.WaitForAsync("RoomEnded")).GetProperty("reason").GetString());
        await alice.Closed.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task LastLeave_EndsTheRoom_AndLogsHoldNoSecretTokenLinkOrName()
    {
        await using var host = await TestHost.StartAsync();
        var room = await CreateRoomAsync(host);
        var link = room.GetProperty("link").GetString()!;
        var aliceJoin = await JoinAsync(host, link, "Zoltan Secretname");
        var alice = await ConnectAsync(host, aliceJoin);
        var bob = await ConnectAsync(host, await JoinAsync(host, link, "Bartholomew Hidden"));
        await SendAsync(alice, "x", "text", new() { [bob.Id] = "ciphertext-marker" });
        await (await host.Client().PostAsync("/api/v1/rooms/join", Http.Json(new { link = link[..^3] + "ZZZ" }))).AssertProblemAsync(HttpStatusCode.NotFound, "room_unavailable");
        await bob.Connection.InvokeAsync("Leave");
        var left = await host.Client(bearer: alice.Token).PostAsync($"/api/v1/rooms/{room.GetProperty("roomId").GetString()}/leave", null);
        Assert.Equal(HttpStatusCode.NoContent, left.StatusCode);
        Assert.Equal("empty", (await alice.WaitForAsync("RoomEnded")).GetProperty("reason").GetString());
        Assert.Null(await host.App.Services.GetRequiredService<IStorage>().Rooms.GetAsync(room.GetProperty("roomId").GetString()!, default));

        var logs = host.Logs.AllText;
        Assert.Contains(room.GetProperty("roomId").GetString()!, logs, StringComparison.Ordinal); // room ids are logged
        foreach (var secret in new[] { link, link.Split('#')[1], link.Split(':')[^1], alice.Token, bob.Token, "Zoltan", "Bartholomew", "ciphertext-marker" })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task OpenApi_ListsTheRoomRoutes()
    {
        await using var host = await TestHost.StartAsync(configure: b => b.Services.AddQrCallingOpenApi());
        var document = JsonDocument.Parse(await host.Client().GetStringAsync("/openapi/v1.json")).RootElement;
        var paths = document.GetProperty("paths");
        foreach (var (path, method, status) in new[] { ("/api/v1/rooms", "post", "201"), ("/api/v1/rooms/join", "post", "404"), ("/api/v1/rooms/join", "post", "409"),
            ("/api/v1/rooms/{roomId}", "get", "401"), ("/api/v1/rooms/{roomId}/leave", "post", "204"), ("/api/v1/rooms/{roomId}/qr", "post", "200") })
        {
            Assert.True(paths.GetProperty(path).GetProperty(method).GetProperty("responses").TryGetProperty(status, out _), $"{method} {path} {status}");
        }
    }
}
