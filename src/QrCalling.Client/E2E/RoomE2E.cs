using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace QrCalling.Client.E2E;

/// <summary>The rooms extension of E2E v1 (docs/e2e.md, "Rooms"): one <see cref="E2ESession"/> per pair of
/// participants, its roles from ordering the two participant ids (the smaller one, by UTF-16 code units, is the
/// initiator), its context id <c>room:&lt;roomId&gt;:&lt;initiatorId&gt;:&lt;responderId&gt;</c>, no DTLS fingerprints, and
/// the envelope <c>{"v":1,"kind":…,"body":…}</c> inside every ciphertext, which binds the message kind the server relays
/// in clear. The web app's <c>room-e2e.js</c> does the same; both are checked against tests/vectors/room-e2e-v1.json.</summary>
public static class RoomE2E
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>This participant's role in the pair: initiator when <paramref name="myId"/> sorts first (ordinal).</summary>
    /// <param name="myId">This participant's id.</param>
    /// <param name="peerId">The other participant's id.</param>
    public static E2ERole PairRole(string myId, string peerId)
    {
        ArgumentException.ThrowIfNullOrEmpty(myId);
        ArgumentException.ThrowIfNullOrEmpty(peerId);
        if (string.Equals(myId, peerId, StringComparison.Ordinal))
        {
            throw new ArgumentException("A pair needs two different participant ids.", nameof(peerId));
        }
        return string.CompareOrdinal(myId, peerId) < 0 ? E2ERole.Initiator : E2ERole.Responder;
    }

    /// <summary>The pair's E2E v1 context id: <c>room:&lt;roomId&gt;:&lt;initiatorId&gt;:&lt;responderId&gt;</c>, the same
    /// whichever id comes first here.</summary>
    /// <param name="roomId">The room id.</param>
    /// <param name="idA">One participant id.</param>
    /// <param name="idB">The other participant id.</param>
    public static string ContextId(string roomId, string idA, string idB)
    {
        foreach (var part in new[] { roomId, idA, idB })
        {
            ArgumentException.ThrowIfNullOrEmpty(part);
            if (part.Contains(':', StringComparison.Ordinal))
            {
                throw new ArgumentException("Room and participant ids hold no ':'.");
            }
        }
        var (initiator, responder) = string.CompareOrdinal(idA, idB) < 0 ? (idA, idB) : (idB, idA);
        return $"room:{roomId}:{initiator}:{responder}";
    }

    /// <summary>A fresh pairwise session of this participant with a peer (dispose it when the peer leaves).</summary>
    /// <param name="roomId">The room id.</param>
    /// <param name="myId">This participant's id.</param>
    /// <param name="peerId">The peer's id.</param>
    public static E2ESession CreateSession(string roomId, string myId, string peerId) =>
        CreateSession(roomId, myId, peerId, E2EEntropy.System);

    internal static E2ESession CreateSession(string roomId, string myId, string peerId, E2EEntropy entropy) =>
        new(PairRole(myId, peerId), ContextId(roomId, myId, peerId), null, entropy);

    /// <summary>The plaintext of a room message: UTF-8 JSON <c>{"v":1,"kind":…,"body":…}</c>.</summary>
    /// <param name="kind">The message kind (as sent in clear).</param>
    /// <param name="body">The content (a JSON string for text).</param>
    public static string Envelope(string kind, JsonElement body)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", 1);
            writer.WriteString("kind", kind);
            writer.WritePropertyName("body");
            body.WriteTo(writer);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Encrypts a message of <paramref name="kind"/> for the pair's peer (one ciphertext of a room
    /// <c>Send</c>).</summary>
    /// <param name="session">The established pair session.</param>
    /// <param name="kind">The message kind.</param>
    /// <param name="body">The content.</param>
    public static string Encrypt(E2ESession session, string kind, JsonElement body)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.Encrypt(Envelope(kind, body));
    }

    /// <summary>Encrypts a text message for the pair's peer.</summary>
    /// <param name="session">The established pair session.</param>
    /// <param name="text">The text.</param>
    public static string EncryptText(E2ESession session, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encrypt(session, "text", JsonSerializer.SerializeToElement(text));
    }

    /// <summary>Decrypts a peer's ciphertext that the server relayed under <paramref name="kind"/>. Throws
    /// <see cref="E2EProtocolException"/> as <see cref="E2ESession.Decrypt"/> does, and <c>malformed</c> (not an
    /// envelope) or <c>kind</c> (sent under another kind).</summary>
    /// <param name="session">The established pair session.</param>
    /// <param name="kind">The kind it was relayed with.</param>
    /// <param name="ciphertext">The ciphertext.</param>
    public static RoomPlaintext Decrypt(E2ESession session, string kind, string ciphertext)
    {
        ArgumentNullException.ThrowIfNull(session);
        var plain = session.Decrypt(ciphertext);
        JsonElement envelope;
        try
        {
            using var document = JsonDocument.Parse(plain.Text);
            envelope = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new E2EProtocolException("malformed", "The message is not a room envelope.");
        }
        if (envelope.ValueKind != JsonValueKind.Object
            || !envelope.TryGetProperty("v", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var v) || v != 1
            || !envelope.TryGetProperty("kind", out var sentKind) || sentKind.ValueKind != JsonValueKind.String
            || !envelope.TryGetProperty("body", out var body))
        {
            throw new E2EProtocolException("malformed", "The message is not a room envelope.");
        }
        if (!string.Equals(sentKind.GetString(), kind, StringComparison.Ordinal))
        {
            throw new E2EProtocolException("kind", "The message was relayed under another kind than it was sent with.");
        }
        return new RoomPlaintext(kind, body, plain.Counter, plain.Missed);
    }
}

/// <summary>A decrypted room message.</summary>
/// <param name="Kind">The message kind.</param>
/// <param name="Body">The content (a JSON string for text).</param>
/// <param name="Counter">The pair direction's counter of the message.</param>
/// <param name="Missed">How many messages of this pair and direction did not arrive before it.</param>
public sealed record RoomPlaintext(string Kind, JsonElement Body, ulong Counter, ulong Missed);
