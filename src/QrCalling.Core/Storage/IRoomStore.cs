namespace QrCalling.Storage;

/// <summary>A meet-now room: anonymous, without accounts. Only the keyed hash of its secret is kept.</summary>
public sealed record RoomRecord
{
    /// <summary>The room id (26 upper-case base32 characters).</summary>
    public required string RoomId { get; init; }
    /// <summary>Keyed hash of the room secret (32 bytes); the secret itself is never stored.</summary>
    public required byte[] SecretHash { get; init; }
    /// <summary>When it was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it ends whatever happens.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
    /// <summary>Most participants at once.</summary>
    public required int MaxParticipants { get; init; }
    /// <summary>The last message, join or presence report; the room ends when this is older than the idle timeout.</summary>
    public required DateTimeOffset LastActivityAt { get; init; }
}

/// <summary>A participant of a room: a per-room anonymous id, an optional display name, its published key.</summary>
public sealed record RoomParticipant
{
    /// <summary>The room.</summary>
    public required string RoomId { get; init; }
    /// <summary>The participant id (<c>p_</c> + 22 base64url characters), per room.</summary>
    public required string ParticipantId { get; init; }
    /// <summary>Keyed hash of the participant token (32 bytes).</summary>
    public required byte[] TokenHash { get; init; }
    /// <summary>The display name it chose for this room, or null.</summary>
    public string? DisplayName { get; init; }
    /// <summary>When it joined.</summary>
    public required DateTimeOffset JoinedAt { get; init; }
    /// <summary>Its published public key (opaque), or null.</summary>
    public string? PublicKey { get; init; }
}

/// <summary>A message to append: one ciphertext per recipient.</summary>
/// <param name="From">The sending participant.</param>
/// <param name="Kind">The opaque kind (<c>text</c>, <c>file-chunk</c>…).</param>
/// <param name="At">When it was sent.</param>
/// <param name="Ciphertexts">Recipient participant id → its ciphertext.</param>
public sealed record RoomMessage(string From, string Kind, DateTimeOffset At, IReadOnlyDictionary<string, string> Ciphertexts);

/// <summary>An entry as one participant reads it: only its own ciphertext.</summary>
/// <param name="Seq">The room seq.</param>
/// <param name="From">The sender.</param>
/// <param name="Kind">The kind.</param>
/// <param name="Ciphertext">The ciphertext for the reader.</param>
/// <param name="At">When it was sent.</param>
public sealed record RoomDelivery(long Seq, string From, string Kind, string Ciphertext, DateTimeOffset At);

/// <summary>The bounds a room store enforces with each append.</summary>
/// <param name="HistoryCount">Most entries a room keeps.</param>
/// <param name="HistoryBytes">Most bytes of entries a room keeps.</param>
/// <param name="WindowBytes">Most unacknowledged bytes addressed to one participant.</param>
public readonly record struct RoomLimits(int HistoryCount, long HistoryBytes, long WindowBytes)
{
    /// <summary>What an entry costs per recipient on top of its ciphertext's UTF-8 length.</summary>
    public const int Overhead = 64;
}

/// <summary>What a join did.</summary>
public enum RoomJoinStatus
{
    /// <summary>Joined.</summary>
    Joined,
    /// <summary>The room has its maximum of participants.</summary>
    Full,
    /// <summary>The room is unknown, expired or ended.</summary>
    Unavailable,
}

/// <summary>What a send did.</summary>
public enum RoomSendStatus
{
    /// <summary>Appended with a seq.</summary>
    Sent,
    /// <summary>Refused: a recipient's window or the room's history bounds would overflow (nothing stored).</summary>
    Full,
    /// <summary>Refused: a recipient is not a participant (nothing stored).</summary>
    UnknownParticipant,
    /// <summary>Refused: the room is gone or expired, or the sender is no participant.</summary>
    Unavailable,
}

/// <summary>The outcome of <see cref="IRoomStore.SendAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Seq">The seq when sent, else 0.</param>
public readonly record struct RoomSendResult(RoomSendStatus Status, long Seq);

/// <summary>A room the sweep should end, and why.</summary>
/// <param name="RoomId">The room.</param>
/// <param name="Reason"><c>expired</c> or <c>idle</c>.</param>
public readonly record struct RoomEnding(string RoomId, string Reason);

/// <summary>Storage of rooms, their participants and their bounded per-recipient ciphertext history. Each room has one
/// seq space (1, 2, 3… gap-free, assigned by the store). The participant cap, the history bounds and each recipient's
/// window are enforced atomically with the change.</summary>
public interface IRoomStore
{
    /// <summary>Stores a new room (no participants).</summary>
    ValueTask CreateAsync(RoomRecord room, CancellationToken cancellationToken);

    /// <summary>A room by id; null if none.</summary>
    ValueTask<RoomRecord?> GetAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>Atomically adds a participant if the room exists, has not expired at <paramref name="now"/> and has fewer
    /// than its maximum of participants (of N concurrent joins for the last seat exactly one wins); sets the room's last
    /// activity to <paramref name="now"/>.</summary>
    ValueTask<RoomJoinStatus> JoinAsync(RoomParticipant participant, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The current participant with this token hash; null if none (left, or its room is gone).</summary>
    ValueTask<RoomParticipant?> FindParticipantAsync(byte[] tokenHash, CancellationToken cancellationToken);

    /// <summary>A room's participants, by join time; empty when the room is gone.</summary>
    ValueTask<IReadOnlyList<RoomParticipant>> ListParticipantsAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>Sets a participant's public key; false when it is not a participant.</summary>
    ValueTask<bool> SetPublicKeyAsync(string roomId, string participantId, string publicKey, CancellationToken cancellationToken);

    /// <summary>Removes a participant and its token; returns how many participants remain, or -1 when it was not one.</summary>
    ValueTask<int> LeaveAsync(string roomId, string participantId, CancellationToken cancellationToken);

    /// <summary>Atomically appends a message and returns its seq. Refused (nothing changes) when the room is gone or
    /// expired at <see cref="RoomMessage.At"/> or the sender is no participant (<see cref="RoomSendStatus.Unavailable"/>),
    /// when a recipient is no participant (<see cref="RoomSendStatus.UnknownParticipant"/>), or when a recipient's
    /// unacknowledged bytes would exceed <see cref="RoomLimits.WindowBytes"/> or the room's history, after dropping the
    /// oldest entries every recipient acknowledged, would exceed <see cref="RoomLimits.HistoryCount"/> or
    /// <see cref="RoomLimits.HistoryBytes"/> (<see cref="RoomSendStatus.Full"/>). Sets the room's last activity.</summary>
    ValueTask<RoomSendResult> SendAsync(string roomId, RoomMessage message, RoomLimits limits, CancellationToken cancellationToken);

    /// <summary>The entries after <paramref name="afterSeq"/> that hold a ciphertext for <paramref name="participantId"/>,
    /// in seq order, at most <paramref name="maxCount"/> and about <paramref name="maxBytes"/> (the first is always
    /// returned). Filtering happens in the store.</summary>
    ValueTask<IReadOnlyList<RoomDelivery>> ReadAsync(string roomId, string participantId, long afterSeq, int maxCount, int maxBytes, CancellationToken cancellationToken);

    /// <summary>The participant received everything up to <paramref name="upToSeq"/>: frees its window, and drops its
    /// <c>file-chunk</c> ciphertexts up to there. Idempotent.</summary>
    ValueTask AcknowledgeAsync(string roomId, string participantId, long upToSeq, CancellationToken cancellationToken);

    /// <summary>The unacknowledged bytes addressed to a participant (its window in use).</summary>
    ValueTask<long> GetPendingBytesAsync(string roomId, string participantId, CancellationToken cancellationToken);

    /// <summary>Records activity (a connected participant) at <paramref name="now"/>; nothing for an unknown room.</summary>
    ValueTask TouchAsync(string roomId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxCount"/> rooms that expired at or before <paramref name="now"/> or had no activity
    /// since <paramref name="idleCutoff"/>.</summary>
    ValueTask<IReadOnlyList<RoomEnding>> ListEndingAsync(DateTimeOffset now, DateTimeOffset idleCutoff, int maxCount, CancellationToken cancellationToken);

    /// <summary>Deletes a room with everything of it (participants, tokens, history); true if it existed.</summary>
    ValueTask<bool> DeleteAsync(string roomId, CancellationToken cancellationToken);
}
