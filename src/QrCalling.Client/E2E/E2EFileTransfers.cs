using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace QrCalling.Client.E2E;

/// <summary>End-to-end encrypted files of one conversation, Files v1 (docs/e2e.md section 9), interoperating with the
/// web app's <c>client/files.js</c>. Control messages are E2E v1 messages of <paramref name="session"/>; every frame
/// goes out through <paramref name="send"/> (a call sends it as the data of a <c>file</c> signal). Feed each received
/// <c>file</c> signal's data to <see cref="ReceiveAsync"/> in the order the call delivers it (after the chat messages
/// before it: they share the session's counter). Calls are serialized; chunks go out as the receiver acknowledges them
/// (at most <paramref name="window"/> in flight).</summary>
/// <param name="session">The conversation's established E2E v1 session.</param>
/// <param name="send">Sends one frame (<c>{"m": …}</c> or <c>{"c": …}</c>).</param>
/// <param name="maxBytes">Per-file cap, for files sent and received.</param>
/// <param name="chunkBytes">Plaintext bytes per chunk sent (1 KiB to 48 KiB).</param>
/// <param name="window">Chunks in flight beyond the receiver's last progress report.</param>
public sealed class E2EFileTransfers(E2ESession session, Func<JsonElement, CancellationToken, Task> send,
    long maxBytes = E2EFileTransfers.DefaultMaxBytes, int chunkBytes = E2EFileTransfers.DefaultChunkBytes, int window = 4)
{
    /// <summary>The default per-file cap, 25 MiB.</summary>
    public const long DefaultMaxBytes = 25L * 1024 * 1024;

    /// <summary>The default chunk size, 32 KiB.</summary>
    public const int DefaultChunkBytes = 32 * 1024;

    private const int ProgressEvery = 2;
    private readonly Dictionary<string, Transfer> _transfers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly int _chunkBytes = chunkBytes is >= 1024 and <= 48 * 1024 ? chunkBytes : throw new ArgumentOutOfRangeException(nameof(chunkBytes));
    private readonly int _window = window >= 1 ? window : throw new ArgumentOutOfRangeException(nameof(window));

    /// <summary>The per-file cap.</summary>
    public long MaxBytes { get; } = maxBytes;

    /// <summary>A transfer by its id, or null.</summary>
    /// <param name="id">The file id (base64url).</param>
    public E2EFileTransfer? Find(string id) => _transfers.TryGetValue(id, out var t) ? t.Public : null;

    /// <summary>Offers a file; chunks follow once the receiver accepts (see <see cref="ReceiveAsync"/>). Throws
    /// <see cref="E2EProtocolException"/> <c>too-large</c> over <see cref="MaxBytes"/> (nothing is sent).</summary>
    /// <param name="name">The file name.</param>
    /// <param name="type">Its media type, or null.</param>
    /// <param name="content">The bytes.</param>
    /// <param name="cancellationToken">Cancels sending the offer.</param>
    public async Task<E2EFileTransfer> OfferAsync(string name, string? type, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        if (content.Length > MaxBytes)
        {
            throw new E2EProtocolException("too-large", $"The file is larger than {MaxBytes} bytes.");
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var idBytes = RandomNumberGenerator.GetBytes(E2EFileCrypto.IdLength);
            var key = RandomNumberGenerator.GetBytes(E2EFileCrypto.KeyLength);
            var t = new Transfer(new E2EFileTransfer(Base64Url.EncodeToString(idBytes), true, E2EFileCrypto.CleanName(name), content.Length,
                Truncate(type ?? "", 100), E2EFileCrypto.ChunkCount(content.Length, _chunkBytes)), idBytes, key, _chunkBytes, SHA256.HashData(content.Span))
            {
                Content = content.ToArray(),
            };
            _transfers[t.Public.Id] = t;
            await ControlAsync(new JsonObject
            {
                ["kind"] = "offer", ["id"] = t.Public.Id, ["name"] = t.Public.Name, ["size"] = t.Public.Size, ["type"] = t.Public.Type,
                ["chunkBytes"] = t.ChunkBytes, ["chunks"] = t.Public.Chunks, ["sha256"] = Base64Url.EncodeToString(t.Hash), ["key"] = Base64Url.EncodeToString(key),
            }, cancellationToken).ConfigureAwait(false);
            return t.Public;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Receiver: accepts an offered file (its chunks start to flow).</summary>
    /// <param name="id">The file id.</param>
    /// <param name="cancellationToken">Cancels sending.</param>
    public Task AcceptAsync(string id, CancellationToken cancellationToken = default) => AnswerAsync(id, "accept", null, cancellationToken);

    /// <summary>Receiver: declines an offered file (nothing of it is sent).</summary>
    /// <param name="id">The file id.</param>
    /// <param name="cancellationToken">Cancels sending.</param>
    public Task DeclineAsync(string id, CancellationToken cancellationToken = default) => AnswerAsync(id, "decline", "declined", cancellationToken);

    /// <summary>Receiver: tells the sender the file was saved (the download notification).</summary>
    /// <param name="id">The file id.</param>
    /// <param name="cancellationToken">Cancels sending.</param>
    public async Task MarkSavedAsync(string id, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_transfers.TryGetValue(id, out var t) && !t.Public.Outgoing && t.Public.State == E2EFileState.Complete && !t.SavedSent)
            {
                t.SavedSent = true;
                await ControlAsync(new JsonObject { ["kind"] = "saved", ["id"] = id }, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Either side: stops a transfer that is offered or under way.</summary>
    /// <param name="id">The file id.</param>
    /// <param name="cancellationToken">Cancels sending.</param>
    public async Task CancelAsync(string id, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_transfers.TryGetValue(id, out var t) && IsOpen(t))
            {
                Fail(t, "cancelled-here");
                await ControlAsync(new JsonObject { ["kind"] = "cancel", ["id"] = id, ["reason"] = "cancelled" }, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Handles one received <c>file</c> frame; returns what happened (kinds: <c>offer</c>, <c>progress</c>,
    /// <c>complete</c>, <c>delivered</c>, <c>saved</c>, <c>failed</c>, <c>refused</c>). A refused frame changes nothing
    /// (its reason is that of <see cref="E2EProtocolException"/>, or the file reasons of docs/e2e.md section 9).</summary>
    /// <param name="data">The signal's data.</param>
    /// <param name="cancellationToken">Cancels the answers this frame causes (chunks, progress).</param>
    public async Task<IReadOnlyList<E2EFileEvent>> ReceiveAsync(JsonElement data, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var events = new List<E2EFileEvent>();
        try
        {
            if (data.ValueKind == JsonValueKind.Object && data.TryGetProperty("m", out var m) && m.ValueKind == JsonValueKind.String)
            {
                await ReceiveControlAsync(session.Decrypt(m.GetString()!).Text, events, cancellationToken).ConfigureAwait(false);
            }
            else if (data.ValueKind == JsonValueKind.Object && data.TryGetProperty("c", out var c) && c.ValueKind == JsonValueKind.String)
            {
                byte[] frame;
                try
                {
                    frame = Convert.FromBase64String(c.GetString()!);
                }
                catch (FormatException)
                {
                    throw new E2EProtocolException("malformed", "A file chunk is not base64.");
                }
                await ReceiveChunkAsync(frame, events, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                throw new E2EProtocolException("malformed", "A file frame is neither a control message nor a chunk.");
            }
        }
        catch (E2EProtocolException e)
        {
            events.Add(new E2EFileEvent("refused", null, e.Reason));
        }
        finally
        {
            _gate.Release();
        }
        return events;
    }

    private async Task AnswerAsync(string id, string kind, string? reason, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_transfers.TryGetValue(id, out var t) || t.Public.Outgoing || t.Public.State != E2EFileState.Offered)
            {
                return;
            }
            t.Public.State = kind == "accept" ? E2EFileState.Receiving : E2EFileState.Declined;
            var message = new JsonObject { ["kind"] = kind, ["id"] = id };
            if (reason is not null)
            {
                message["reason"] = reason;
            }
            await ControlAsync(message, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ReceiveControlAsync(string text, List<E2EFileEvent> events, CancellationToken cancellationToken)
    {
        var m = ParseControl(text);
        var kind = m["kind"]!.GetValue<string>();
        var id = m["id"]!.GetValue<string>();
        _transfers.TryGetValue(id, out var t);
        if (kind == "offer")
        {
            if (t is not null)
            {
                throw new E2EProtocolException("unexpected", "A second offer for the same file.");
            }
            await ReceiveOfferAsync(m, id, events, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (t is null)
        {
            throw new E2EProtocolException("unknown", "A control message for an unknown file.");
        }
        var mine = t.Public.Outgoing;
        switch (kind)
        {
            case "accept" when mine && t.Public.State == E2EFileState.Offered:
                t.Public.State = E2EFileState.Sending;
                events.Add(new E2EFileEvent("progress", t.Public));
                await PumpAsync(t, events, cancellationToken).ConfigureAwait(false);
                return;
            case "decline" when mine && t.Public.State == E2EFileState.Offered:
                t.Public.State = E2EFileState.Declined;
                Fail(t, Text(m, "reason") == "too-large" ? "too-large" : "declined");
                events.Add(new E2EFileEvent("failed", t.Public, t.Public.FailureReason));
                return;
            case "progress" when mine && t.Public.State == E2EFileState.Sending:
            {
                var received = m["received"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : -1;
                if (received < 0 || received > t.Public.Chunks)
                {
                    throw new E2EProtocolException("malformed", "Progress beyond the file.");
                }
                if (received <= t.Public.Acknowledged)
                {
                    return;
                }
                t.Public.Acknowledged = received;
                t.Public.Next = Math.Max(t.Public.Next, received);
                events.Add(new E2EFileEvent("progress", t.Public));
                await PumpAsync(t, events, cancellationToken).ConfigureAwait(false);
                return;
            }
            case "done" when mine && t.Public.State == E2EFileState.Sending && t.Public.Next == t.Public.Chunks:
                t.Public.Acknowledged = t.Public.Chunks;
                t.Public.State = E2EFileState.Delivered;
                t.Content = null;
                events.Add(new E2EFileEvent("delivered", t.Public));
                return;
            case "saved" when mine && t.Public.State == E2EFileState.Delivered:
                t.Public.Saved = true;
                events.Add(new E2EFileEvent("saved", t.Public));
                return;
            case "cancel":
                if (IsOpen(t))
                {
                    var reason = Text(m, "reason") switch { "corrupt" => "corrupt", "too-large" => "too-large", "failed" => "connection", _ => "cancelled" };
                    Fail(t, reason);
                    events.Add(new E2EFileEvent("failed", t.Public, reason));
                }
                return;
            case "accept" or "decline" or "progress" or "done" or "saved":
                throw new E2EProtocolException("unexpected", $"A {kind} message at the wrong time or from the wrong side.");
            default:
                throw new E2EProtocolException("malformed", "An unknown file control message.");
        }
    }

    private async Task ReceiveOfferAsync(JsonObject m, string id, List<E2EFileEvent> events, CancellationToken cancellationToken)
    {
        long size = m["size"] is JsonValue s && s.TryGetValue<long>(out var sv) ? sv : -1;
        int chunkBytes = m["chunkBytes"] is JsonValue cb && cb.TryGetValue<int>(out var cbv) ? cbv : -1;
        int chunks = m["chunks"] is JsonValue ch && ch.TryGetValue<int>(out var chv) ? chv : -1;
        if (size < 0 || chunkBytes is < 1024 or > 48 * 1024 || chunks != E2EFileCrypto.ChunkCount(size, chunkBytes) || Text(m, "name") is not { } name)
        {
            throw new E2EProtocolException("malformed", "An offer with impossible sizes.");
        }
        var key = E2ECrypto.FromBase64Url(Text(m, "key"), E2EFileCrypto.KeyLength, "file key");
        var hash = E2ECrypto.FromBase64Url(Text(m, "sha256"), 32, "hash");
        var t = new Transfer(new E2EFileTransfer(id, false, E2EFileCrypto.CleanName(name), size, Truncate(Text(m, "type") ?? "", 100), chunks),
            Base64Url.DecodeFromChars(id), key, chunkBytes, hash);
        _transfers[id] = t;
        if (size > MaxBytes)
        {
            t.Public.State = E2EFileState.Declined;
            t.Public.FailureReason = "too-large";
            events.Add(new E2EFileEvent("failed", t.Public, "too-large"));
            await ControlAsync(new JsonObject { ["kind"] = "decline", ["id"] = id, ["reason"] = "too-large" }, cancellationToken).ConfigureAwait(false);
            return;
        }
        events.Add(new E2EFileEvent("offer", t.Public));
    }

    private async Task ReceiveChunkAsync(byte[] frame, List<E2EFileEvent> events, CancellationToken cancellationToken)
    {
        var (fileId, index) = E2EFileCrypto.ParseHeader(frame);
        if (!_transfers.TryGetValue(Base64Url.EncodeToString(fileId), out var t) || t.Public.Outgoing)
        {
            throw new E2EProtocolException("unknown", "A chunk of an unknown file.");
        }
        if (t.Public.State != E2EFileState.Receiving)
        {
            throw new E2EProtocolException("unexpected", "A chunk of a file that is not being received.");
        }
        if (index < (uint)t.Public.Next)
        {
            if (!t.Resync)
            {
                t.Resync = true;
                await ControlAsync(new JsonObject { ["kind"] = "progress", ["id"] = t.Public.Id, ["received"] = t.Public.Next }, cancellationToken).ConfigureAwait(false);
            }
            throw new E2EProtocolException("order", "A chunk received before (replayed, or sent again).");
        }
        var plain = E2EFileCrypto.OpenChunk(t.Key, frame);
        if (index != (uint)t.Public.Next)
        {
            await AbortAsync(t, "order", events, cancellationToken).ConfigureAwait(false);
            return;
        }
        var expected = index == t.Public.Chunks - 1 ? t.Public.Size - (long)index * t.ChunkBytes : t.ChunkBytes;
        if (plain.Length != expected)
        {
            await AbortAsync(t, "size", events, cancellationToken).ConfigureAwait(false);
            return;
        }
        t.Received.Write(plain);
        t.Resync = false;
        t.Public.Next++;
        events.Add(new E2EFileEvent("progress", t.Public));
        if (t.Public.Next == t.Public.Chunks)
        {
            var content = t.Received.ToArray();
            t.Received = new MemoryStream();
            if (content.Length != t.Public.Size || !CryptographicOperations.FixedTimeEquals(SHA256.HashData(content), t.Hash))
            {
                await AbortAsync(t, "hash", events, cancellationToken).ConfigureAwait(false);
                return;
            }
            t.Public.Content = content;
            t.Public.State = E2EFileState.Complete;
            events.Add(new E2EFileEvent("complete", t.Public));
            await ControlAsync(new JsonObject { ["kind"] = "done", ["id"] = t.Public.Id }, cancellationToken).ConfigureAwait(false);
        }
        else if (t.Public.Next % ProgressEvery == 0)
        {
            await ControlAsync(new JsonObject { ["kind"] = "progress", ["id"] = t.Public.Id, ["received"] = t.Public.Next }, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task AbortAsync(Transfer t, string refusal, List<E2EFileEvent> events, CancellationToken cancellationToken)
    {
        events.Add(new E2EFileEvent("refused", t.Public, refusal));
        Fail(t, "corrupt");
        events.Add(new E2EFileEvent("failed", t.Public, "corrupt"));
        await ControlAsync(new JsonObject { ["kind"] = "cancel", ["id"] = t.Public.Id, ["reason"] = "corrupt" }, cancellationToken).ConfigureAwait(false);
    }

    private async Task PumpAsync(Transfer t, List<E2EFileEvent> events, CancellationToken cancellationToken)
    {
        while (t.Public.State == E2EFileState.Sending && t.Public.Next < t.Public.Chunks && t.Public.Next - t.Public.Acknowledged < _window)
        {
            var index = t.Public.Next;
            var start = (long)index * t.ChunkBytes;
            var length = (int)Math.Min(t.ChunkBytes, t.Public.Size - start);
            var frame = E2EFileCrypto.SealChunk(t.Key, t.IdBytes, (uint)index, t.Content.AsSpan((int)start, length));
            try
            {
                await send(JsonSerializer.SerializeToElement(new JsonObject { ["c"] = Convert.ToBase64String(frame) }), cancellationToken).ConfigureAwait(false);
            }
            catch (QrCallingException)
            {
                Fail(t, "connection");
                events.Add(new E2EFileEvent("failed", t.Public, "connection"));
                return;
            }
            t.Public.Next = index + 1;
        }
    }

    private Task ControlAsync(JsonObject message, CancellationToken cancellationToken)
    {
        var full = new JsonObject { ["file"] = 1 };
        foreach (var (name, value) in message)
        {
            full[name] = value?.DeepClone();
        }
        var ciphertext = session.Encrypt(E2EFileCrypto.ControlPrefix + full.ToJsonString());
        return send(JsonSerializer.SerializeToElement(new JsonObject { ["m"] = ciphertext }), cancellationToken);
    }

    private static JsonObject ParseControl(string text)
    {
        if (!text.StartsWith(E2EFileCrypto.ControlPrefix, StringComparison.Ordinal))
        {
            throw new E2EProtocolException("malformed", "Not a file control message.");
        }
        JsonObject? m;
        try
        {
            m = JsonNode.Parse(text[E2EFileCrypto.ControlPrefix.Length..]) as JsonObject;
        }
        catch (JsonException)
        {
            m = null;
        }
        if (m is null)
        {
            throw new E2EProtocolException("malformed", "A file control message is not a JSON object.");
        }
        if (!(m["file"] is JsonValue f && f.TryGetValue<int>(out var version) && version == 1))
        {
            throw new E2EProtocolException("version", "A file control message of another version.");
        }
        if (Text(m, "kind") is null || Text(m, "id") is not { } id)
        {
            throw new E2EProtocolException("malformed", "A file control message without kind or id.");
        }
        E2ECrypto.FromBase64Url(id, E2EFileCrypto.IdLength, "file id");
        return m;
    }

    private static string? Text(JsonObject m, string name) =>
        m[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string Truncate(string text, int length) => text.Length > length ? text[..length] : text;

    private static bool IsOpen(Transfer t) => t.Public.State is E2EFileState.Offered or E2EFileState.Sending or E2EFileState.Receiving;

    private static void Fail(Transfer t, string reason)
    {
        t.Public.State = E2EFileState.Failed;
        t.Public.FailureReason = reason;
        t.Content = null;
        t.Received = new MemoryStream();
    }

    private sealed class Transfer(E2EFileTransfer transfer, byte[] idBytes, byte[] key, int chunkBytes, byte[] hash)
    {
        public E2EFileTransfer Public { get; } = transfer;
        public byte[] IdBytes { get; } = idBytes;
        public byte[] Key { get; } = key;
        public int ChunkBytes { get; } = chunkBytes;
        public byte[] Hash { get; } = hash;
        public byte[]? Content { get; set; }
        public MemoryStream Received { get; set; } = new();
        public bool Resync { get; set; }
        public bool SavedSent { get; set; }
    }
}

/// <summary>One file sent or received (Files v1).</summary>
public sealed class E2EFileTransfer
{
    internal E2EFileTransfer(string id, bool outgoing, string name, long size, string type, int chunks)
    {
        Id = id;
        Outgoing = outgoing;
        Name = name;
        Size = size;
        Type = type;
        Chunks = chunks;
    }

    /// <summary>The file id (16 bytes, base64url).</summary>
    public string Id { get; }

    /// <summary>True for a file this side sends.</summary>
    public bool Outgoing { get; }

    /// <summary>The file name, without folders or control characters.</summary>
    public string Name { get; }

    /// <summary>Its size in bytes.</summary>
    public long Size { get; }

    /// <summary>Its media type as the sender gave it (may be empty).</summary>
    public string Type { get; }

    /// <summary>Its number of chunks.</summary>
    public int Chunks { get; }

    /// <summary>Where the transfer is.</summary>
    public E2EFileState State { get; internal set; } = E2EFileState.Offered;

    /// <summary>Chunks sent (sender) or received and checked (receiver).</summary>
    public int Next { get; internal set; }

    /// <summary>Sender: chunks the receiver confirmed.</summary>
    public int Acknowledged { get; internal set; }

    /// <summary>Receiver: the verified file, once <see cref="E2EFileState.Complete"/>.</summary>
    public byte[]? Content { get; internal set; }

    /// <summary>Why it failed (declined, too-large, cancelled, cancelled-here, corrupt, connection), or null.</summary>
    public string? FailureReason { get; internal set; }

    /// <summary>Sender: the receiver saved the file.</summary>
    public bool Saved { get; internal set; }
}

/// <summary>Where a file transfer is.</summary>
public enum E2EFileState
{
    /// <summary>Offered, not answered yet.</summary>
    Offered,

    /// <summary>Accepted: chunks are being sent.</summary>
    Sending,

    /// <summary>Accepted: chunks are being received.</summary>
    Receiving,

    /// <summary>Receiver: every chunk arrived and the hash matches.</summary>
    Complete,

    /// <summary>Sender: the receiver confirmed the whole file.</summary>
    Delivered,

    /// <summary>The receiver declined (or its cap refused) the offer.</summary>
    Declined,

    /// <summary>Ended without the file.</summary>
    Failed,
}

/// <summary>What a received file frame caused.</summary>
/// <param name="Kind">offer, progress, complete, delivered, saved, failed or refused.</param>
/// <param name="Transfer">The transfer concerned, or null for a refused frame of no known transfer.</param>
/// <param name="Reason">The failure or refusal reason, or null.</param>
public sealed record E2EFileEvent(string Kind, E2EFileTransfer? Transfer, string? Reason = null);
