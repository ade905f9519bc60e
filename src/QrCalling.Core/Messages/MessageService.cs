using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Calls;
using QrCalling.Storage;

namespace QrCalling.Messages;

/// <summary>What a caller posts as its message: the public parts of the encryption and the ciphertext, all base64url
/// without padding. The server never sees the text or any key that opens it.</summary>
/// <param name="EphemeralPublicKey">The caller's one-time ECDH P-256 public key (uncompressed point, 65 bytes).</param>
/// <param name="Iv">The AES-GCM nonce (12 bytes).</param>
/// <param name="Ciphertext">AES-256-GCM ciphertext with its 16-byte tag.</param>
/// <param name="KeyId">The owner key's id the message was sealed for (optional: the current key is assumed).</param>
public sealed record MessageSubmission(string? EphemeralPublicKey, string? Iv, string? Ciphertext, string? KeyId = null);

/// <summary>Leave-a-message: an owner registers an ECDH P-256 public key; the caller of a call that ended unanswered
/// (missed, rejected or canceled) may, within <see cref="QrCallingOptions.MessageWindow"/>, leave one message sealed to
/// that key; the owner lists and deletes its messages, which expire after <see cref="QrCallingOptions.MessageRetention"/>.
/// Clients encrypt: ECDH(ephemeral, owner key) → HKDF-SHA256 (salt: the call id, info <see cref="HkdfInfo"/>) →
/// AES-256-GCM with the call id as associated data. The server checks shapes and sizes and stores ciphertext only.</summary>
public sealed class MessageService
{
    /// <summary>Every message id starts with this prefix; the rest is 16 random bytes in base64url.</summary>
    public const string MessageIdPrefix = "m_";

    /// <summary>The HKDF <c>info</c> clients use to derive the AES key (UTF-8).</summary>
    public const string HkdfInfo = "qrcalling-message-v1";

    /// <summary>Most messages one list returns.</summary>
    public const int MaxListCount = 200;

    private const int PointBytes = 65;
    private const int IvBytes = 12;
    private const int TagBytes = 16;

    private readonly IStorage _storage;
    private readonly QrCallingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MessageService> _logger;

    internal MessageService(IStorage storage, IOptions<QrCallingOptions> options, TimeProvider time, ILogger<MessageService> logger)
    {
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>Registers (or replaces) an owner's public key for messages. Errors: invalid_request (not a base64url
    /// uncompressed P-256 point on the curve).</summary>
    public async ValueTask<QrCallingResult<OwnerMessageKey>> SetKeyAsync(string ownerId, string? publicKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        if (!IsP256Point(publicKey, out var point))
        {
            return QrCallingError.InvalidRequest("publicKey must be an uncompressed P-256 point (65 bytes) in base64url.");
        }
        var key = new OwnerMessageKey { OwnerId = ownerId, PublicKey = publicKey!, KeyId = KeyIdOf(point), UpdatedAt = _time.GetUtcNow() };
        await _storage.Messages.SetKeyAsync(key, cancellationToken).ConfigureAwait(false);
        Log.MessageKeySet(_logger);
        return key;
    }

    /// <summary>An owner's own key for messages; null when none is registered.</summary>
    public ValueTask<OwnerMessageKey?> GetKeyAsync(string ownerId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        return _storage.Messages.GetKeyAsync(ownerId, cancellationToken);
    }

    /// <summary>The owner's key for the caller of an unanswered call, to seal its message. Errors: not_participant (not
    /// this call's caller), invalid_state (the call is still open or was answered), message_window_closed,
    /// messages_unavailable (the owner registered no key).</summary>
    public async ValueTask<QrCallingResult<OwnerMessageKey>> GetKeyForCallAsync(CallActor caller, string callId, CancellationToken cancellationToken)
    {
        var call = await UnansweredCallAsync(caller, callId, cancellationToken).ConfigureAwait(false);
        if (call.Error is { } error)
        {
            return error;
        }
        var key = await _storage.Messages.GetKeyAsync(call.Value.OwnerId, cancellationToken).ConfigureAwait(false);
        return key is null ? MessagesUnavailable : key;
    }

    /// <summary>Stores the one message the caller of an unanswered call may leave. Errors: as
    /// <see cref="GetKeyForCallAsync"/>, and invalid_request (a field of the wrong shape, or a key id that is not the
    /// owner's current key), too_large (ciphertext over <see cref="QrCallingOptions.MaxMessageCiphertextBytes"/>),
    /// message_exists (this call already left one), inbox_full (the owner holds
    /// <see cref="QrCallingOptions.MaxStoredMessagesPerOwner"/> messages).</summary>
    public async ValueTask<QrCallingResult<StoredMessage>> LeaveAsync(CallActor caller, string callId, MessageSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        if (Validate(submission) is { } invalid)
        {
            Log.MessageRefused(_logger, invalid.Code);
            return invalid;
        }
        var call = await UnansweredCallAsync(caller, callId, cancellationToken).ConfigureAwait(false);
        if (call.Error is { } error)
        {
            return error;
        }
        var key = await _storage.Messages.GetKeyAsync(call.Value.OwnerId, cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            Log.MessageRefused(_logger, MessagesUnavailable.Code);
            return MessagesUnavailable;
        }
        if (submission.KeyId is { } keyId && keyId != key.KeyId)
        {
            Log.MessageRefused(_logger, QrCallingErrorCodes.InvalidRequest);
            return QrCallingError.InvalidRequest("keyId is not the owner's current key: fetch the key again and seal the message to it.");
        }
        var now = _time.GetUtcNow();
        var message = new StoredMessage
        {
            MessageId = NewMessageId(),
            OwnerId = call.Value.OwnerId,
            CallId = call.Value.CallId,
            CodeId = call.Value.CodeId,
            Label = call.Value.Label,
            KeyId = key.KeyId,
            EphemeralPublicKey = submission.EphemeralPublicKey!,
            Iv = submission.Iv!,
            Ciphertext = submission.Ciphertext!,
            CreatedAt = now,
            ExpiresAt = now + _options.MessageRetention,
        };
        var status = await _storage.Messages.TryAddAsync(message, _options.MaxStoredMessagesPerOwner, now, cancellationToken).ConfigureAwait(false);
        switch (status)
        {
            case MessageAddStatus.Added:
                Log.MessageStored(_logger, message.MessageId, call.Value.CallId);
                return message;
            case MessageAddStatus.Exists:
                Log.MessageRefused(_logger, QrCallingErrorCodes.MessageExists);
                return new QrCallingError(QrCallingErrorCodes.MessageExists, "A message was already left for this call.");
            default:
                Log.MessageRefused(_logger, QrCallingErrorCodes.InboxFull);
                return new QrCallingError(QrCallingErrorCodes.InboxFull, "The owner cannot take more messages right now.");
        }
    }

    /// <summary>An owner's unexpired messages, newest first (at most <see cref="MaxListCount"/>).</summary>
    public ValueTask<IReadOnlyList<StoredMessage>> ListAsync(string ownerId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        return _storage.Messages.ListByOwnerAsync(ownerId, _time.GetUtcNow(), MaxListCount, cancellationToken);
    }

    /// <summary>Deletes one of an owner's messages (after its device read it). Errors: not_found (unknown, expired or
    /// another owner's).</summary>
    public async ValueTask<QrCallingResult<bool>> DeleteAsync(string ownerId, string messageId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        if (!QrCallingIds.IsWellFormed(messageId) || !await _storage.Messages.DeleteAsync(ownerId, messageId, cancellationToken).ConfigureAwait(false))
        {
            return QrCallingError.NotFound;
        }
        Log.MessageDeleted(_logger, messageId);
        return true;
    }

    /// <summary>Deletes messages past their retention, at most <see cref="QrCallingOptions.SweepBatchSize"/>; returns how
    /// many.</summary>
    public ValueTask<int> SweepAsync(CancellationToken cancellationToken) =>
        _storage.Messages.DeleteExpiredAsync(_time.GetUtcNow(), _options.SweepBatchSize, cancellationToken);

    /// <summary>The id of a key: base64url of the first 12 bytes of SHA-256 of the point.</summary>
    public static string KeyIdOf(ReadOnlySpan<byte> point) => Base64Url.EncodeToString(SHA256.HashData(point)[..12]);

    private static readonly QrCallingError MessagesUnavailable =
        new(QrCallingErrorCodes.MessagesUnavailable, "The owner does not take messages.");

    private async ValueTask<QrCallingResult<CallRecord>> UnansweredCallAsync(CallActor caller, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (!caller.IsCaller || caller.CallerCallId != callId || !QrCallingIds.IsWellFormed(callId))
        {
            return QrCallingError.NotParticipant;
        }
        var call = await _storage.Calls.GetAsync(callId, cancellationToken).ConfigureAwait(false);
        if (call is null)
        {
            return QrCallingError.NotParticipant;
        }
        if (call.State != CallState.Ended || call.AnsweredAt is not null)
        {
            Log.MessageRefused(_logger, QrCallingErrorCodes.InvalidState);
            return QrCallingError.InvalidState("A message can be left only after the call ended without an answer.");
        }
        if (_time.GetUtcNow() > call.EndedAt + _options.MessageWindow)
        {
            Log.MessageRefused(_logger, QrCallingErrorCodes.MessageWindowClosed);
            return new QrCallingError(QrCallingErrorCodes.MessageWindowClosed,
                $"A message can be left only within {(int)_options.MessageWindow.TotalMinutes} minutes after the call.");
        }
        return call;
    }

    private QrCallingError? Validate(MessageSubmission submission)
    {
        if (!IsP256Point(submission.EphemeralPublicKey, out _))
        {
            return QrCallingError.InvalidRequest("ephemeralPublicKey must be an uncompressed P-256 point (65 bytes) in base64url.");
        }
        if (DecodedLength(submission.Iv) != IvBytes)
        {
            return QrCallingError.InvalidRequest("iv must be 12 bytes in base64url.");
        }
        if (submission.KeyId is { } keyId && (keyId.Length > 64 || !QrCallingIds.IsWellFormed(keyId)))
        {
            return QrCallingError.InvalidRequest("keyId is invalid.");
        }
        var ciphertext = submission.Ciphertext;
        if (ciphertext is not null && ciphertext.Length > Base64Url.GetEncodedLength(_options.MaxMessageCiphertextBytes))
        {
            return QrCallingError.TooLarge($"The ciphertext exceeds {_options.MaxMessageCiphertextBytes} bytes.");
        }
        var length = DecodedLength(ciphertext);
        if (length <= TagBytes)
        {
            return QrCallingError.InvalidRequest("ciphertext must be AES-GCM output (more than 16 bytes) in base64url.");
        }
        return length > _options.MaxMessageCiphertextBytes ? QrCallingError.TooLarge($"The ciphertext exceeds {_options.MaxMessageCiphertextBytes} bytes.") : null;
    }

    /// <summary>Decoded length of canonical base64url text (no padding, no white space); -1 when it is not.</summary>
    private static int DecodedLength(string? text)
    {
        if (string.IsNullOrEmpty(text) || !Base64Url.IsValid(text, out var length) || text.Contains('=', StringComparison.Ordinal)
            || text.AsSpan().ContainsAny(" \t\r\n"))
        {
            return -1;
        }
        return length;
    }

    /// <summary>True for base64url of an uncompressed P-256 point that lies on the curve.</summary>
    internal static bool IsP256Point(string? text, out byte[] point)
    {
        point = [];
        if (DecodedLength(text) != PointBytes)
        {
            return false;
        }
        point = Base64Url.DecodeFromChars(text);
        if (point[0] != 0x04)
        {
            return false;
        }
        try
        {
            using var ecdh = ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point[1..33], Y = point[33..] },
            });
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static string NewMessageId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return MessageIdPrefix + Base64Url.EncodeToString(bytes);
    }
}
