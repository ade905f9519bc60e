using System.Buffers.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using QrCalling.Client.E2E;

namespace QrCalling.Client.Tests.E2E;

/// <summary>Files v1 (docs/e2e.md section 9) in .NET: the shared vectors (tests/vectors/files-v1.json, written with
/// Python's cryptography; the web app's files.js is checked against the same file), and two sides over real E2E v1
/// sessions through a relay that tampers: a file either arrives whole and verified, or never completes.</summary>
public sealed class E2EFileTests
{
    private static readonly JsonElement Document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "files-v1.json"))).RootElement.Clone();

    public static IEnumerable<object[]> CaseIndexes => Enumerable.Range(0, Document.GetProperty("cases").GetArrayLength()).Select(i => new object[] { i });

    private static readonly byte[] Content = Enumerable.Range(0, 20_000).Select(i => (byte)((i * 31 + 7) % 256)).ToArray(); // 5 chunks of 4096

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void Vectors_HeadersNoncesChunksHashAndOffer_MatchPython(int index)
    {
        var c = Document.GetProperty("cases")[index];
        var key = Base64Url.DecodeFromChars(c.GetProperty("key").GetString()!);
        var id = Base64Url.DecodeFromChars(c.GetProperty("fileId").GetString()!);
        var content = Convert.FromBase64String(c.GetProperty("content").GetString()!);
        var chunkBytes = c.GetProperty("chunkBytes").GetInt32();
        var frames = c.GetProperty("frames").EnumerateArray().Select(f => f.GetString()!).ToList();
        Assert.Equal(E2EFileCrypto.ChunkCount(content.Length, chunkBytes), frames.Count);
        Assert.Equal(c.GetProperty("sha256").GetString(), Base64Url.EncodeToString(System.Security.Cryptography.SHA256.HashData(content)));
        for (var i = 0; i < frames.Count; i++)
        {
            Assert.Equal(c.GetProperty("headers")[i].GetString(), Convert.ToHexStringLower(E2EFileCrypto.Header(id, (uint)i)));
            Assert.Equal(c.GetProperty("nonces")[i].GetString(), Convert.ToHexStringLower(E2EFileCrypto.Nonce((uint)i)));
            var plain = content.AsSpan(i * chunkBytes, Math.Min(chunkBytes, content.Length - i * chunkBytes)).ToArray();
            Assert.Equal(frames[i], Convert.ToBase64String(E2EFileCrypto.SealChunk(key, id, (uint)i, plain)));
            Assert.Equal(plain, E2EFileCrypto.OpenChunk(key, Convert.FromBase64String(frames[i])));
            var flipped = Convert.FromBase64String(frames[i]);
            flipped[^20] ^= 1;
            Assert.Equal("authentication", Assert.Throws<E2EProtocolException>(() => E2EFileCrypto.OpenChunk(key, flipped)).Reason);
        }
        Assert.StartsWith(Document.GetProperty("controlPrefix").GetString()!, c.GetProperty("offerText").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HonestRelay_FileArrivesWhole_SenderSeesDeliveredThenSaved()
    {
        var pair = Pair.Create();
        var sent = await pair.A.OfferAsync("../folder/photo.jpg", "image/jpeg", Content);
        await pair.RunAsync();
        var received = pair.B.Find(sent.Id)!;
        Assert.Equal("photo.jpg", received.Name);
        Assert.Equal(E2EFileState.Complete, received.State);
        Assert.Equal(Content, received.Content);
        Assert.Equal(E2EFileState.Delivered, sent.State);
        Assert.False(sent.Saved);
        await pair.B.MarkSavedAsync(sent.Id);
        await pair.RunAsync();
        Assert.True(sent.Saved);
        Assert.Contains(pair.EventsA, e => e.Kind == "saved");
    }

    [Fact]
    public async Task TamperedChunk_Refused_AndTheFileIsThrownAwayOnBothSides()
    {
        var pair = Pair.Create(tamper: (frame, index) => index == 2 ? Flip(frame, 40) : frame);
        var sent = await pair.A.OfferAsync("f.bin", null, Content);
        await pair.RunAsync();
        AssertNeverCompleted(pair, sent.Id);
        Assert.Contains(pair.EventsB, e => e.Kind == "refused" && e.Reason == "authentication");
        Assert.Equal("corrupt", pair.B.Find(sent.Id)!.FailureReason);
        Assert.Equal("corrupt", sent.FailureReason);
    }

    [Fact]
    public async Task ReorderedChunks_FileThrownAway()
    {
        JsonElement? held = null;
        var pair = Pair.Create();
        pair.Reorder = (frame, index) =>
        {
            if (index == 1 && held is null)
            {
                held = frame;
                return [];
            }
            return index == 2 && held is { } h ? [frame, h] : [frame];
        };
        var sent = await pair.A.OfferAsync("f.bin", null, Content);
        await pair.RunAsync();
        AssertNeverCompleted(pair, sent.Id);
        Assert.Contains(pair.EventsB, e => e.Kind == "refused" && e.Reason == "order");
    }

    [Fact]
    public async Task TruncatedFile_LastChunkDropped_NeverCompletes()
    {
        var pair = Pair.Create();
        pair.Reorder = (frame, index) => index == 4 ? [] : [frame];
        var sent = await pair.A.OfferAsync("f.bin", null, Content);
        await pair.RunAsync();
        AssertNeverCompleted(pair, sent.Id);
        Assert.Null(pair.B.Find(sent.Id)!.Content);
    }

    [Fact]
    public async Task ReplayedChunk_Ignored_FileStillRight()
    {
        var pair = Pair.Create();
        pair.Reorder = (frame, index) => index == 1 ? [frame, frame] : [frame];
        var sent = await pair.A.OfferAsync("f.bin", null, Content);
        await pair.RunAsync();
        Assert.Contains(pair.EventsB, e => e.Kind == "refused" && e.Reason == "order");
        Assert.Equal(Content, pair.B.Find(sent.Id)!.Content);
        Assert.Equal(E2EFileState.Delivered, sent.State);
    }

    [Fact]
    public async Task OfferWithAnotherHash_FileThrownAway()
    {
        // A sender that lies: its offer's hash is not that of the chunks it sends (crafted under the real session).
        var pair = Pair.Create();
        var id = new byte[16];
        var key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
        var offer = new Dictionary<string, object>
        {
            ["file"] = 1, ["kind"] = "offer", ["id"] = Base64Url.EncodeToString(id), ["name"] = "f.bin", ["size"] = Content.Length, ["type"] = "",
            ["chunkBytes"] = 4096, ["chunks"] = 5, ["sha256"] = Base64Url.EncodeToString(new byte[32]), ["key"] = Base64Url.EncodeToString(key),
        };
        var events = (await pair.B.ReceiveAsync(JsonSerializer.SerializeToElement(new { m = pair.SessionA.Encrypt(E2EFileCrypto.ControlPrefix + JsonSerializer.Serialize(offer)) }))).ToList();
        await pair.B.AcceptAsync(Base64Url.EncodeToString(id));
        for (var i = 0; i < 5; i++)
        {
            var chunk = E2EFileCrypto.SealChunk(key, id, (uint)i, Content.AsSpan(i * 4096, Math.Min(4096, Content.Length - i * 4096)));
            events.AddRange(await pair.B.ReceiveAsync(JsonSerializer.SerializeToElement(new { c = Convert.ToBase64String(chunk) })));
        }
        Assert.Contains(events, e => e.Kind == "offer");
        Assert.Contains(events, e => e.Kind == "refused" && e.Reason == "hash");
        Assert.DoesNotContain(events, e => e.Kind == "complete");
        Assert.Equal("corrupt", pair.B.Find(Base64Url.EncodeToString(id))!.FailureReason);
        Assert.Null(pair.B.Find(Base64Url.EncodeToString(id))!.Content);
    }

    [Fact]
    public async Task SizeCap_SenderRefusesToOffer_ReceiverDeclinesWithoutAsking()
    {
        var small = Pair.Create(senderMax: 10_000);
        var thrown = await Assert.ThrowsAsync<E2EProtocolException>(() => small.A.OfferAsync("big.bin", null, Content));
        Assert.Equal("too-large", thrown.Reason);
        Assert.Equal(0, small.Frames);

        var pair = Pair.Create(receiverMax: 10_000);
        var sent = await pair.A.OfferAsync("big.bin", null, Content);
        await pair.RunAsync();
        Assert.DoesNotContain(pair.EventsB, e => e.Kind == "offer");
        Assert.Equal("too-large", sent.FailureReason);
        Assert.Equal(0, pair.Chunks);
    }

    [Fact]
    public async Task Declined_NoChunkFlows_AndAChunkBeforeAcceptIsRefused()
    {
        var pair = Pair.Create(autoAccept: false);
        var sent = await pair.A.OfferAsync("f.bin", null, Content);
        await pair.RunAsync();
        Assert.Contains(pair.EventsB, e => e.Kind == "offer");
        var forged = E2EFileCrypto.SealChunk(new byte[32], Base64Url.DecodeFromChars(sent.Id), 0, Content.AsSpan(0, 4096));
        var events = await pair.B.ReceiveAsync(JsonSerializer.SerializeToElement(new { c = Convert.ToBase64String(forged) }));
        Assert.Equal("unexpected", Assert.Single(events).Reason);
        await pair.B.DeclineAsync(sent.Id);
        await pair.RunAsync();
        Assert.Equal("declined", sent.FailureReason);
        Assert.Equal(0, pair.Chunks);
    }

    [Property(MaxTest = 60)]
    public Property AnyBitFlippedInAnyFrame_EitherTheExactFileOrNoFile() =>
        Prop.ForAll(Gen.Choose(0, 40).Zip(Gen.Choose(0, 100_000)).ToArbitrary(), pick =>
        {
            var (frameNumber, bit) = pick;
            var count = 0;
            var pair = Pair.Create(tamperAny: frame => count++ == frameNumber ? FlipAny(frame, bit) : frame);
            var sent = pair.A.OfferAsync("f.bin", null, Content).GetAwaiter().GetResult();
            pair.RunAsync().GetAwaiter().GetResult();
            var received = pair.B.Find(sent.Id);
            return received?.State != E2EFileState.Complete || received.Content!.SequenceEqual(Content);
        });

    private static void AssertNeverCompleted(Pair pair, string id)
    {
        Assert.NotEqual(E2EFileState.Complete, pair.B.Find(id)!.State);
        Assert.DoesNotContain(pair.EventsB, e => e.Kind == "complete");
        Assert.DoesNotContain(pair.EventsA, e => e.Kind == "delivered");
    }

    private static JsonElement Flip(JsonElement frame, int at)
    {
        var bytes = Convert.FromBase64String(frame.GetProperty("c").GetString()!);
        bytes[at] ^= 4;
        return JsonSerializer.SerializeToElement(new { c = Convert.ToBase64String(bytes) });
    }

    private static JsonElement FlipAny(JsonElement frame, int bit)
    {
        var (name, text) = frame.TryGetProperty("c", out var c) ? ("c", c.GetString()!) : ("m", frame.GetProperty("m").GetString()!);
        var bytes = Convert.FromBase64String(text);
        bytes[bit / 8 % bytes.Length] ^= (byte)(1 << (bit % 8));
        return JsonSerializer.SerializeToElement(new Dictionary<string, string> { [name] = Convert.ToBase64String(bytes) });
    }

    /// <summary>Two sides with established E2E v1 sessions; frames queue in order and <see cref="RunAsync"/> delivers
    /// them until none is left. <c>tamper</c> changes A's chunks by index; <see cref="Reorder"/> maps one of A's chunks
    /// to what the relay delivers instead.</summary>
    private sealed class Pair
    {
        private readonly Queue<(bool ToB, JsonElement Frame)> _queue = new();

        public required E2EFileTransfers A { get; init; }
        public required E2EFileTransfers B { get; set; }
        public List<E2EFileEvent> EventsA { get; } = [];
        public List<E2EFileEvent> EventsB { get; } = [];
        public Func<JsonElement, int, JsonElement[]>? Reorder { get; set; }
        public required E2ESession SessionA { get; init; }
        public int Frames { get; private set; }
        public int Chunks { get; private set; }
        private bool AutoAccept { get; init; }

        public static Pair Create(Func<JsonElement, int, JsonElement>? tamper = null, Func<JsonElement, JsonElement>? tamperAny = null,
            long senderMax = E2EFileTransfers.DefaultMaxBytes, long receiverMax = E2EFileTransfers.DefaultMaxBytes, bool autoAccept = true)
        {
            var initiator = new E2ESession(E2ERole.Initiator, "call_files000000000000001");
            var responder = new E2ESession(E2ERole.Responder, "call_files000000000000001");
            var key = responder.Receive(initiator.Start()).Reply!;
            responder.Receive(initiator.Receive(key).Reply!);
            Pair? pair = null;
            pair = new Pair
            {
                AutoAccept = autoAccept,
                SessionA = initiator,
                A = new E2EFileTransfers(initiator, (frame, _) => { pair!.Enqueue(true, tamperAny?.Invoke(frame) ?? frame, tamper); return Task.CompletedTask; }, senderMax, chunkBytes: 4096),
                B = null!,
            };
            pair.B = new E2EFileTransfers(responder, (frame, _) => { pair.Enqueue(false, tamperAny?.Invoke(frame) ?? frame, null); return Task.CompletedTask; }, receiverMax);
            return pair;
        }

        private void Enqueue(bool toB, JsonElement frame, Func<JsonElement, int, JsonElement>? tamper)
        {
            Frames++;
            if (toB && frame.TryGetProperty("c", out var c))
            {
                Chunks++;
                var bytes = Convert.FromBase64String(c.GetString()!);
                var index = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(17));
                frame = tamper?.Invoke(frame, index) ?? frame;
                foreach (var f in Reorder?.Invoke(frame, index) ?? [frame])
                {
                    _queue.Enqueue((true, f));
                }
                return;
            }
            _queue.Enqueue((toB, frame));
        }

        public async Task RunAsync()
        {
            while (_queue.TryDequeue(out var item))
            {
                var events = await (item.ToB ? B : A).ReceiveAsync(item.Frame);
                (item.ToB ? EventsB : EventsA).AddRange(events);
                foreach (var offer in events.Where(e => e.Kind == "offer" && AutoAccept))
                {
                    await B.AcceptAsync(offer.Transfer!.Id);
                }
            }
        }
    }
}
