namespace QrCalling.Storage;

/// <summary>Storage of leave-a-message: each owner's public key for messages, and the end-to-end encrypted messages that
/// callers left after an unanswered call. The server holds ciphertext only; a message lives until its owner deletes it
/// or <see cref="StoredMessage.ExpiresAt"/> passes (then reads skip it and <see cref="DeleteExpiredAsync"/> removes it).</summary>
public interface IMessageStore
{
    /// <summary>Stores (or replaces) an owner's public key for messages.</summary>
    ValueTask SetKeyAsync(OwnerMessageKey key, CancellationToken cancellationToken);

    /// <summary>An owner's public key for messages; null when the owner registered none.</summary>
    ValueTask<OwnerMessageKey?> GetKeyAsync(string ownerId, CancellationToken cancellationToken);

    /// <summary>Atomically adds a message: refused with <see cref="MessageAddStatus.Exists"/> when a message for the same
    /// <see cref="StoredMessage.CallId"/> is stored, and with <see cref="MessageAddStatus.OwnerFull"/> when the owner already
    /// has <paramref name="maxPerOwner"/> messages that have not expired at <paramref name="now"/>. Of concurrent adds for
    /// one call exactly one wins; concurrent adds for one owner never pass the cap together. A refused add changes
    /// nothing.</summary>
    ValueTask<MessageAddStatus> TryAddAsync(StoredMessage message, int maxPerOwner, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>An owner's messages that have not expired at <paramref name="now"/>, newest first, at most
    /// <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<StoredMessage>> ListByOwnerAsync(string ownerId, DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes one of an owner's messages; false when it is unknown or belongs to another owner.</summary>
    ValueTask<bool> DeleteAsync(string ownerId, string messageId, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="maxCount"/> messages that expired at or before <paramref name="now"/>;
    /// returns how many were deleted.</summary>
    ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken);
}

/// <summary>An owner's public key for messages: an ECDH P-256 public key generated in the owner's browser (the private
/// key never leaves it).</summary>
public sealed record OwnerMessageKey
{
    /// <summary>The owner (the host's user id).</summary>
    public required string OwnerId { get; init; }
    /// <summary>The uncompressed P-256 point (65 bytes, <c>0x04 || X || Y</c>) in base64url without padding.</summary>
    public required string PublicKey { get; init; }
    /// <summary>A short id of the key (base64url of the first 12 bytes of SHA-256 of the point), stored with each message
    /// so a device can tell whether a message was sealed for its key.</summary>
    public required string KeyId { get; init; }
    /// <summary>When the key was registered.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>A message a caller left: ciphertext and the public parts needed to decrypt it with the owner's private key.
/// Holds no caller data (no call token, callerId, IP or time of the call beyond <see cref="CreatedAt"/>).</summary>
public sealed record StoredMessage
{
    /// <summary>Random id (<c>m_</c> + 22 base64url characters).</summary>
    public required string MessageId { get; init; }
    /// <summary>The owner it is for.</summary>
    public required string OwnerId { get; init; }
    /// <summary>The unanswered call it was left after (at most one message per call).</summary>
    public required string CallId { get; init; }
    /// <summary>The code the call came through (server-side only).</summary>
    public required string CodeId { get; init; }
    /// <summary>The code's label at the time of the call.</summary>
    public string Label { get; init; } = "";
    /// <summary>The <see cref="OwnerMessageKey.KeyId"/> of the key the message was sealed for.</summary>
    public required string KeyId { get; init; }
    /// <summary>The caller's ephemeral P-256 public key (uncompressed point, base64url).</summary>
    public required string EphemeralPublicKey { get; init; }
    /// <summary>The AES-GCM nonce (12 bytes, base64url).</summary>
    public required string Iv { get; init; }
    /// <summary>The AES-GCM ciphertext with its tag (base64url).</summary>
    public required string Ciphertext { get; init; }
    /// <summary>When the server stored it.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it is deleted unless the owner deleted it first.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>What <see cref="IMessageStore.TryAddAsync"/> did.</summary>
public enum MessageAddStatus
{
    /// <summary>Stored.</summary>
    Added,
    /// <summary>Refused: a message for this call is already stored.</summary>
    Exists,
    /// <summary>Refused: the owner has as many unexpired messages as allowed.</summary>
    OwnerFull,
}
