using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Codes;
using QrCalling.Diagnostics;
using QrCalling.Storage;

namespace QrCalling.Rooms;

/// <summary>A room just created: its id, the payload to share (holds the secret; shown once) and its bounds.</summary>
/// <param name="RoomId">The room id.</param>
/// <param name="Payload"><c>PQR:1:&lt;ROOMID&gt;:&lt;SECRET&gt;</c>.</param>
/// <param name="ExpiresAt">When it ends at the latest.</param>
/// <param name="MaxParticipants">Most participants.</param>
public sealed record CreatedRoom(string RoomId, string Payload, DateTimeOffset ExpiresAt, int MaxParticipants);

/// <summary>A participant that joined (or rejoined with its token).</summary>
/// <param name="Room">The room.</param>
/// <param name="Participant">The participant.</param>
/// <param name="ParticipantToken">Its bearer credential (<c>qrp_</c> + 43 base64url characters).</param>
public sealed record JoinedRoom(RoomRecord Room, RoomParticipant Participant, string ParticipantToken);

/// <summary>A message the store accepted.</summary>
/// <param name="Seq">Its room seq.</param>
/// <param name="At">When.</param>
public sealed record SentRoomMessage(long Seq, DateTimeOffset At);

/// <summary>Meet-now rooms without accounts: creation (an id and a secret, kept only as a keyed hash), joins by link
/// (with a participant cap), rejoins by participant token, per-recipient ciphertext relay with a bounded history, and
/// the end of rooms (expiry, inactivity, last leave). Delivery to connected clients is the host's job.</summary>
public sealed class RoomService
{
    /// <summary>Prefix of the room payload.</summary>
    public const string PayloadPrefix = "PQR:1:";
    /// <summary>Prefix of participant tokens.</summary>
    public const string TokenPrefix = "qrp_";
    /// <summary>Prefix of participant ids.</summary>
    public const string ParticipantIdPrefix = "p_";
    /// <summary>Longest display name, characters.</summary>
    public const int MaxDisplayNameLength = 40;
    /// <summary>Longest message kind.</summary>
    public const int MaxKindLength = 32;

    private const int RoomIdBytes = 16;
    private const int SecretBytes = 32;
    private static readonly int RoomIdChars = Base32.EncodedLength(RoomIdBytes);
    private static readonly int SecretChars = Base32.EncodedLength(SecretBytes);
    private static readonly int TokenChars = Base64Url.GetEncodedLength(32);

    private readonly IStorage _storage;
    private readonly TokenHasher _hasher;
    private readonly IOptions<QrCallingOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RoomService> _logger;
    private readonly QrCallingMetrics _metrics;

    internal RoomService(IStorage storage, TokenHasher hasher, IOptions<QrCallingOptions> options, TimeProvider time, ILogger<RoomService> logger, QrCallingMetrics metrics)
    {
        _storage = storage;
        _hasher = hasher;
        _options = options;
        _time = time;
        _logger = logger;
        _metrics = metrics;
    }

    private QrCallingRoomOptions Options => _options.Value.Rooms;

    private static readonly QrCallingError Unavailable = new(QrCallingErrorCodes.RoomUnavailable, "This room is not available.");
    private static readonly QrCallingError Full = new(QrCallingErrorCodes.RoomFull, "This room is full.");

    /// <summary>The bounds the store enforces.</summary>
    public RoomLimits Limits => new(Options.HistoryCount, Options.HistoryBytes, Options.WindowBytes);

    /// <summary>Creates a room. Null arguments take the defaults.</summary>
    public async ValueTask<QrCallingResult<CreatedRoom>> CreateAsync(int? expiresInSeconds, int? maxParticipants, CancellationToken cancellationToken)
    {
        var expiry = Options.DefaultExpiry;
        if (expiresInSeconds is { } seconds)
        {
            if (seconds < 60 || seconds > Options.MaxExpiry.TotalSeconds)
            {
                return QrCallingError.InvalidRequest($"expiresInSeconds must be 60 to {(long)Options.MaxExpiry.TotalSeconds}.");
            }
            expiry = TimeSpan.FromSeconds(seconds);
        }
        var max = maxParticipants ?? Options.MaxParticipants;
        if (max < 2 || max > Options.MaxParticipantsCap)
        {
            return QrCallingError.InvalidRequest($"maxParticipants must be 2 to {Options.MaxParticipantsCap}.");
        }
        var id = Base32.Encode(RandomNumberGenerator.GetBytes(RoomIdBytes));
        var secret = RandomNumberGenerator.GetBytes(SecretBytes);
        var now = _time.GetUtcNow();
        var room = new RoomRecord
        {
            RoomId = id,
            SecretHash = _hasher.Hash(secret),
            CreatedAt = now,
            ExpiresAt = now + expiry,
            MaxParticipants = max,
            LastActivityAt = now,
        };
        await _storage.Rooms.CreateAsync(room, cancellationToken).ConfigureAwait(false);
        _metrics.RoomsCreated.Add(1);
        _metrics.RoomsActive.Add(1);
        Log.RoomCreated(_logger, id, max);
        return new CreatedRoom(id, PayloadPrefix + id + ":" + Base32.Encode(secret), room.ExpiresAt, max);
    }

    /// <summary>Parses a room link (named so that minimal APIs do not take RoomService for a bindable type) (<c>…/room#PQR:1:ID:SECRET</c>) or bare payload, case-insensitive, white space
    /// trimmed; the room id (upper case) and the secret's bytes, or false.</summary>
    public static bool TryParseLink(string? linkOrPayload, out string roomId, out byte[] secret)
    {
        roomId = "";
        secret = [];
        if (linkOrPayload is not { Length: > 0 and < 2048 })
        {
            return false;
        }
        var text = linkOrPayload.AsSpan().Trim();
        var hash = text.IndexOf('#');
        if (hash >= 0)
        {
            text = text[(hash + 1)..].Trim();
        }
        if (text.Length != PayloadPrefix.Length + RoomIdChars + 1 + SecretChars
            || !text.StartsWith(PayloadPrefix, StringComparison.OrdinalIgnoreCase)
            || text[PayloadPrefix.Length + RoomIdChars] != ':')
        {
            return false;
        }
        var idText = text.Slice(PayloadPrefix.Length, RoomIdChars);
        var idBytes = new byte[RoomIdBytes];
        var secretBytes = new byte[SecretBytes];
        if (!Base32.TryDecode(idText, idBytes) || !Base32.TryDecode(text[(PayloadPrefix.Length + RoomIdChars + 1)..], secretBytes))
        {
            return false;
        }
        roomId = Base32.Encode(idBytes);
        secret = secretBytes;
        return true;
    }

    /// <summary>Checks a display name: trimmed, empty → null, at most 40 characters, no control characters.</summary>
    public static bool TryNormalizeDisplayName(string? displayName, out string? normalized)
    {
        normalized = displayName?.Trim();
        if (string.IsNullOrEmpty(normalized))
        {
            normalized = null;
            return true;
        }
        return normalized.Length <= MaxDisplayNameLength && !normalized.Any(char.IsControl)
            && !normalized.Any(c => char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator);
    }

    /// <summary>Joins the room of a link: <c>room_unavailable</c> for a bad link, wrong secret or unknown, expired or
    /// ended room (indistinguishable), <c>room_full</c>, <c>invalid_display_name</c>. With
    /// <paramref name="participantToken"/> of a current participant of that room, it is a rejoin: the same participant.</summary>
    public async ValueTask<QrCallingResult<JoinedRoom>> JoinAsync(string? linkOrPayload, string? displayName, string? participantToken, CancellationToken cancellationToken)
    {
        if (!TryNormalizeDisplayName(displayName, out var name))
        {
            return new QrCallingError(QrCallingErrorCodes.InvalidDisplayName, $"A display name has at most {MaxDisplayNameLength} characters and no control characters.");
        }
        if (!TryParseLink(linkOrPayload, out var roomId, out var secret))
        {
            Log.JoinRefused(_logger, "malformed");
            return Unavailable;
        }
        var room = await _storage.Rooms.GetAsync(roomId, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        if (room is null || room.ExpiresAt <= now || !SecretMatches(secret, room.SecretHash))
        {
            Log.JoinRefused(_logger, "unavailable");
            return Unavailable;
        }
        if (participantToken is not null)
        {
            var existing = await AuthenticateAsync(participantToken, cancellationToken).ConfigureAwait(false);
            if (existing is null || existing.RoomId != roomId)
            {
                Log.JoinRefused(_logger, "unknown token");
                return Unavailable;
            }
            return new JoinedRoom(room, existing, participantToken);
        }
        var token = TokenPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var participant = new RoomParticipant
        {
            RoomId = roomId,
            ParticipantId = ParticipantIdPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
            TokenHash = _hasher.Hash(Encoding.UTF8.GetBytes(token)),
            DisplayName = name,
            JoinedAt = now,
        };
        switch (await _storage.Rooms.JoinAsync(participant, now, cancellationToken).ConfigureAwait(false))
        {
            case RoomJoinStatus.Joined:
                Log.Joined(_logger, roomId, participant.ParticipantId);
                return new JoinedRoom(room, participant, token);
            case RoomJoinStatus.Full:
                Log.JoinRefused(_logger, "full");
                return Full;
            default:
                Log.JoinRefused(_logger, "unavailable");
                return Unavailable;
        }
    }

    private bool SecretMatches(byte[] secret, byte[] stored)
    {
        var match = false;
        foreach (var candidate in _hasher.CandidateHashes(secret))
        {
            match |= CryptographicOperations.FixedTimeEquals(candidate, stored);
        }
        return match;
    }

    /// <summary>True when <paramref name="linkOrPayload"/> is the link of <paramref name="roomId"/> with its secret.</summary>
    public async ValueTask<bool> IsLinkOfAsync(string roomId, string? linkOrPayload, CancellationToken cancellationToken)
    {
        if (!TryParseLink(linkOrPayload, out var id, out var secret) || id != roomId)
        {
            return false;
        }
        var room = await _storage.Rooms.GetAsync(roomId, cancellationToken).ConfigureAwait(false);
        return room is not null && SecretMatches(secret, room.SecretHash);
    }

    /// <summary>The current participant holding this token, in a room that has not expired; null otherwise.</summary>
    public async ValueTask<RoomParticipant?> AuthenticateAsync(string? participantToken, CancellationToken cancellationToken)
    {
        if (!IsWellFormedToken(participantToken))
        {
            return null;
        }
        var bytes = Encoding.UTF8.GetBytes(participantToken!);
        foreach (var hash in _hasher.CandidateHashes(bytes))
        {
            var participant = await _storage.Rooms.FindParticipantAsync(hash, cancellationToken).ConfigureAwait(false);
            if (participant is not null)
            {
                var room = await _storage.Rooms.GetAsync(participant.RoomId, cancellationToken).ConfigureAwait(false);
                return room is not null && room.ExpiresAt > _time.GetUtcNow() ? participant : null;
            }
        }
        return null;
    }

    /// <summary>The current participant <c>roomId/participantId</c> (what a hub ticket names), in a room that has not
    /// expired; null otherwise.</summary>
    public async ValueTask<RoomParticipant?> AuthenticateByIdAsync(string? roomAndParticipant, CancellationToken cancellationToken)
    {
        var slash = roomAndParticipant?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        if (slash <= 0)
        {
            return null;
        }
        var roomId = roomAndParticipant![..slash];
        var participantId = roomAndParticipant[(slash + 1)..];
        var room = await _storage.Rooms.GetAsync(roomId, cancellationToken).ConfigureAwait(false);
        if (room is null || room.ExpiresAt <= _time.GetUtcNow())
        {
            return null;
        }
        var participants = await _storage.Rooms.ListParticipantsAsync(roomId, cancellationToken).ConfigureAwait(false);
        return participants.FirstOrDefault(p => p.ParticipantId == participantId);
    }

    /// <summary>True for text shaped like a participant token.</summary>
    public static bool IsWellFormedToken(string? token) =>
        token is not null && token.Length == TokenPrefix.Length + TokenChars && token.StartsWith(TokenPrefix, StringComparison.Ordinal)
        && !token.AsSpan(TokenPrefix.Length).ContainsAnyExcept(Base64UrlAlphabet);

    private static readonly System.Buffers.SearchValues<char> Base64UrlAlphabet =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>The room and its participants; null when the room is gone.</summary>
    public async ValueTask<(RoomRecord Room, IReadOnlyList<RoomParticipant> Participants)?> GetAsync(string roomId, CancellationToken cancellationToken)
    {
        var room = await _storage.Rooms.GetAsync(roomId, cancellationToken).ConfigureAwait(false);
        if (room is null)
        {
            return null;
        }
        return (room, await _storage.Rooms.ListParticipantsAsync(roomId, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Publishes a participant's public key; the participants afterwards, or an error.</summary>
    public async ValueTask<QrCallingResult<IReadOnlyList<RoomParticipant>>> PublishKeyAsync(RoomParticipant participant, string? publicKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(participant);
        if (string.IsNullOrEmpty(publicKey))
        {
            return QrCallingError.InvalidRequest("A public key is required.");
        }
        if (publicKey.Length > Options.MaxPublicKeyLength)
        {
            return QrCallingError.TooLarge($"A public key has at most {Options.MaxPublicKeyLength} characters.");
        }
        if (!await _storage.Rooms.SetPublicKeyAsync(participant.RoomId, participant.ParticipantId, publicKey, cancellationToken).ConfigureAwait(false))
        {
            return Unavailable;
        }
        return QrCallingResult<IReadOnlyList<RoomParticipant>>.Success(await _storage.Rooms.ListParticipantsAsync(participant.RoomId, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>True for a kind: 1 to 32 characters of a-z, 0-9 and '-'.</summary>
    public static bool IsValidKind(string? kind) =>
        kind is { Length: > 0 and <= MaxKindLength } && kind.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    /// <summary>Validates and stores a message with one ciphertext per recipient.</summary>
    public async ValueTask<QrCallingResult<SentRoomMessage>> SendAsync(RoomParticipant sender, string? kind, IReadOnlyDictionary<string, string>? ciphertexts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sender);
        if (!IsValidKind(kind))
        {
            return QrCallingError.InvalidRequest("kind is 1 to 32 characters of a-z, 0-9 and '-'.");
        }
        if (ciphertexts is not { Count: > 0 } || ciphertexts.Count >= Options.MaxParticipantsCap)
        {
            return QrCallingError.InvalidRequest("ciphertexts names at least one recipient.");
        }
        if (ciphertexts.ContainsKey(sender.ParticipantId))
        {
            return QrCallingError.InvalidRequest("A participant does not send to itself.");
        }
        long total = 0;
        foreach (var (to, ciphertext) in ciphertexts)
        {
            if (string.IsNullOrEmpty(to) || string.IsNullOrEmpty(ciphertext))
            {
                return QrCallingError.InvalidRequest("Every recipient has a non-empty ciphertext.");
            }
            var size = Encoding.UTF8.GetByteCount(ciphertext);
            if (size > Options.MaxCiphertextBytes)
            {
                Log.SendRefused(_logger, "too large");
                return QrCallingError.TooLarge($"A ciphertext has at most {Options.MaxCiphertextBytes} bytes.");
            }
            total += size;
        }
        if (total > Options.MaxMessageBytes)
        {
            Log.SendRefused(_logger, "too large");
            return QrCallingError.TooLarge($"A message has at most {Options.MaxMessageBytes} bytes of ciphertext.");
        }
        var now = _time.GetUtcNow();
        var result = await _storage.Rooms.SendAsync(sender.RoomId, new RoomMessage(sender.ParticipantId, kind!, now, ciphertexts), Limits, cancellationToken).ConfigureAwait(false);
        switch (result.Status)
        {
            case RoomSendStatus.Sent:
                _metrics.RoomMessages.Add(1);
                return new SentRoomMessage(result.Seq, now);
            case RoomSendStatus.UnknownParticipant:
                Log.SendRefused(_logger, "unknown participant");
                return new QrCallingError(QrCallingErrorCodes.UnknownParticipant, "A recipient is not a participant of this room.");
            case RoomSendStatus.Full:
                Log.SendRefused(_logger, "window full");
                return new QrCallingError(QrCallingErrorCodes.RateLimited, "A recipient has not received enough of what was sent; nothing was relayed. Send again later.");
            default:
                return Unavailable;
        }
    }

    /// <summary>Every entry after <paramref name="afterSeq"/> readable by the participant, in one piece: clients read
    /// Resume (and RoomJoined's history) once. The room's history bounds it (<see cref="QrCallingRoomOptions.HistoryCount"/>
    /// entries, <see cref="QrCallingRoomOptions.HistoryBytes"/>).</summary>
    public ValueTask<IReadOnlyList<RoomDelivery>> ReadAsync(RoomParticipant participant, long afterSeq, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(participant);
        return _storage.Rooms.ReadAsync(participant.RoomId, participant.ParticipantId, Math.Max(0, afterSeq), Options.HistoryCount, Options.HistoryBytes, cancellationToken);
    }

    /// <summary>Acknowledges everything up to <paramref name="seq"/>.</summary>
    public ValueTask AcknowledgeAsync(RoomParticipant participant, long seq, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(participant);
        return _storage.Rooms.AcknowledgeAsync(participant.RoomId, participant.ParticipantId, seq, cancellationToken);
    }

    /// <summary>The participant leaves; true when the room ended with it (it was the last one: <c>empty</c>, and the
    /// room is deleted). False also when it was no participant any more.</summary>
    public async ValueTask<(bool Left, bool RoomEnded)> LeaveAsync(RoomParticipant participant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(participant);
        var remaining = await _storage.Rooms.LeaveAsync(participant.RoomId, participant.ParticipantId, cancellationToken).ConfigureAwait(false);
        if (remaining < 0)
        {
            return (false, false);
        }
        Log.Left(_logger, participant.RoomId, participant.ParticipantId);
        if (remaining == 0)
        {
            await EndAsync(participant.RoomId, "empty", cancellationToken).ConfigureAwait(false);
            return (true, true);
        }
        return (true, false);
    }

    /// <summary>Records activity in a room (a participant connected or disconnected).</summary>
    public ValueTask TouchAsync(string roomId, CancellationToken cancellationToken) =>
        _storage.Rooms.TouchAsync(roomId, _time.GetUtcNow(), cancellationToken);

    /// <summary>Deletes a room with everything of it; true if this call ended it.</summary>
    public async ValueTask<bool> EndAsync(string roomId, string reason, CancellationToken cancellationToken)
    {
        if (!await _storage.Rooms.DeleteAsync(roomId, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        _metrics.RoomsActive.Add(-1);
        Log.Ended(_logger, roomId, reason);
        return true;
    }

    /// <summary>Ends the rooms that expired or were idle: first records activity in <paramref name="connectedRooms"/>
    /// (rooms with a participant connected to this instance), then deletes up to one batch of ending rooms. Returns
    /// the rooms this call ended, with the reason.</summary>
    public async ValueTask<IReadOnlyList<RoomEnding>> SweepAsync(IEnumerable<string> connectedRooms, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connectedRooms);
        var now = _time.GetUtcNow();
        foreach (var roomId in connectedRooms)
        {
            await _storage.Rooms.TouchAsync(roomId, now, cancellationToken).ConfigureAwait(false);
        }
        var ending = await _storage.Rooms.ListEndingAsync(now, now - Options.IdleTimeout, _options.Value.SweepBatchSize, cancellationToken).ConfigureAwait(false);
        var ended = new List<RoomEnding>(ending.Count);
        foreach (var room in ending)
        {
            if (await EndAsync(room.RoomId, room.Reason, cancellationToken).ConfigureAwait(false))
            {
                ended.Add(room);
            }
        }
        return ended;
    }
}
