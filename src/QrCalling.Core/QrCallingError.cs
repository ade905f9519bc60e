namespace QrCalling;

/// <summary>The stable, machine-readable error codes of the wire contract (the <c>code</c> member of problem details,
/// and the prefix of hub error messages).</summary>
public static class QrCallingErrorCodes
{
    /// <summary>Not a payload in the <c>pqc:1:&lt;token&gt;:&lt;checksum&gt;</c> format (HTTP 400).</summary>
    public const string Malformed = "malformed";
    /// <summary>Format right, checksum wrong (HTTP 400).</summary>
    public const string Checksum = "checksum";
    /// <summary>Unknown, revoked, expired or used-up code; the four cases are indistinguishable (HTTP 404).</summary>
    public const string Unavailable = "unavailable";
    /// <summary>No such resource for this owner or participant (HTTP 404).</summary>
    public const string NotFound = "not_found";
    /// <summary>The request body or arguments are invalid (HTTP 400).</summary>
    public const string InvalidRequest = "invalid_request";
    /// <summary>No or bad credentials (HTTP 401).</summary>
    public const string Unauthorized = "unauthorized";
    /// <summary>The authenticated party is not a participant of this call (HTTP 403).</summary>
    public const string NotParticipant = "not_participant";
    /// <summary>The call is not in a state that allows the operation (HTTP 409).</summary>
    public const string InvalidState = "invalid_state";
    /// <summary>Signal data, chat ciphertext or a request body exceeds its cap (HTTP 413).</summary>
    public const string TooLarge = "too_large";
    /// <summary>A rate limit was hit (HTTP 429).</summary>
    public const string RateLimited = "rate_limited";
    /// <summary>The storage backend is down or unreachable (HTTP 503).</summary>
    public const string StorageUnavailable = "storage_unavailable";
    /// <summary>A browser request from a web origin the host does not allow (HTTP 403).</summary>
    public const string OriginNotAllowed = "origin_not_allowed";
    /// <summary>An owner's quota is used up, e.g. its live codes (HTTP 403).</summary>
    public const string QuotaExceeded = "quota_exceeded";
    /// <summary>The code is over its call budget: solve the proof-of-work challenge in the problem details and start
    /// the call again with the solution (HTTP 429).</summary>
    public const string ProofRequired = "proof_required";
    /// <summary>A request body that is not JSON (HTTP 415).</summary>
    public const string UnsupportedMediaType = "unsupported_media_type";
    /// <summary>The recipient has not yet received (acknowledged) enough of what it was sent: its mailbox window is full.
    /// Nothing was stored or relayed; send again once the other side caught up (HTTP 429 with <c>Retry-After</c>).</summary>
    public const string MailboxFull = "mailbox_full";
    /// <summary>The code the call was started from does not allow this media, e.g. a chat in the call of a voice-only
    /// code (HTTP 403).</summary>
    public const string MediaNotAllowed = "media_not_allowed";
    /// <summary>The caller of this call already left its one message (HTTP 409).</summary>
    public const string MessageExists = "message_exists";
    /// <summary>The time to leave a message after the call has passed (HTTP 409).</summary>
    public const string MessageWindowClosed = "message_window_closed";
    /// <summary>The owner registered no key for messages, so none can be left (HTTP 404).</summary>
    public const string MessagesUnavailable = "messages_unavailable";
    /// <summary>The owner holds as many unread messages as allowed; nothing was stored (HTTP 429).</summary>
    public const string InboxFull = "inbox_full";
    /// <summary>The code's owner has quiet hours now: only chat calls are taken (HTTP 403).</summary>
    public const string QuietHours = "quiet_hours";
    /// <summary>The code's owner takes chats only on this code now (HTTP 403).</summary>
    public const string ChatOnly = "chat_only";
    /// <summary>The caller of this call cannot be blocked: it sent no caller key, or its record is gone (HTTP 409).</summary>
    public const string CallerUnknown = "caller_unknown";
    /// <summary>The host is in maintenance mode (<see cref="QrCallingRuntimeSettings.MaintenanceMode"/>): no new call is
    /// started; calls already running go on (HTTP 503).</summary>
    public const string Maintenance = "maintenance";
    /// <summary>A device pairing payload that is unknown, expired or already used; the three cases are
    /// indistinguishable (HTTP 404).</summary>
    public const string PairingUnavailable = "pairing_unavailable";
    /// <summary>A paired device that the owner has not confirmed yet (compare the check code on both devices), so it may
    /// not ring yet (HTTP 403; hub: <c>device_pending:</c>).</summary>
    public const string DevicePending = "device_pending";
    /// <summary>A backup body over the size cap; nothing was stored (HTTP 413).</summary>
    public const string BackupTooLarge = "backup_too_large";
    /// <summary>A delegate invitation that is unknown, expired or already used; the three cases are indistinguishable
    /// (HTTP 404).</summary>
    public const string InvitationUnavailable = "invitation_unavailable";
    /// <summary>A room link with a wrong secret, or an unknown, expired or ended room: the cases are indistinguishable
    /// (HTTP 404).</summary>
    public const string RoomUnavailable = "room_unavailable";
    /// <summary>The room has its maximum of participants (HTTP 409).</summary>
    public const string RoomFull = "room_full";
    /// <summary>A display name over 40 characters or with control characters (HTTP 400).</summary>
    public const string InvalidDisplayName = "invalid_display_name";
    /// <summary>A room message addressed to someone who is not a participant of the room (hub).</summary>
    public const string UnknownParticipant = "unknown_participant";
    /// <summary>This host has no key to sign session QR codes (<c>QrCalling:SessionQr:SigningKey</c>), so none is issued
    /// (HTTP 503).</summary>
    public const string SigningUnavailable = "signing_unavailable";
}

/// <summary>An expected, typed failure of a QrCalling operation: a stable <see cref="Code"/> from
/// <see cref="QrCallingErrorCodes"/> and a human-readable <see cref="Detail"/> that never holds a token, payload or IP.</summary>
/// <param name="Code">A code from <see cref="QrCallingErrorCodes"/>.</param>
/// <param name="Detail">A short explanation for developers.</param>
public sealed record QrCallingError(string Code, string Detail)
{
    /// <summary>The one error every unknown, revoked, expired or used-up code gives.</summary>
    public static QrCallingError Unavailable { get; } = new(QrCallingErrorCodes.Unavailable, "This code is not available.");
    /// <summary>The payload is not in the expected format.</summary>
    public static QrCallingError Malformed { get; } = new(QrCallingErrorCodes.Malformed, "The payload is not a QrCalling code.");
    /// <summary>The payload's checksum does not match its token.</summary>
    public static QrCallingError Checksum { get; } = new(QrCallingErrorCodes.Checksum, "The payload's checksum does not match; the code was misread or mistyped.");
    /// <summary>The caller is not a participant of the call.</summary>
    public static QrCallingError NotParticipant { get; } = new(QrCallingErrorCodes.NotParticipant, "Not a participant of this call.");
    /// <summary>No such resource.</summary>
    public static QrCallingError NotFound { get; } = new(QrCallingErrorCodes.NotFound, "Not found.");
    /// <summary>The recipient's mailbox window is full; nothing was stored or relayed.</summary>
    public static QrCallingError MailboxFull { get; } = new(QrCallingErrorCodes.MailboxFull,
        "The other side has not received what was already sent; nothing was relayed. Send again once it caught up.");

    /// <summary>A chat (or typing) in the call of a code whose owner did not allow chat.</summary>
    public static QrCallingError ChatNotAllowed { get; } = new(QrCallingErrorCodes.MediaNotAllowed,
        "The owner of this code does not allow chat.");

    /// <summary>New calls are refused while the host is in maintenance mode.</summary>
    public static QrCallingError Maintenance { get; } = new(QrCallingErrorCodes.Maintenance,
        "The service is under maintenance: no new calls for now. Calls already running go on.");

    /// <summary>An <see cref="QrCallingErrorCodes.InvalidState"/> error.</summary>
    public static QrCallingError InvalidState(string detail) => new(QrCallingErrorCodes.InvalidState, detail);
    /// <summary>A <see cref="QrCallingErrorCodes.TooLarge"/> error.</summary>
    public static QrCallingError TooLarge(string detail) => new(QrCallingErrorCodes.TooLarge, detail);
    /// <summary>An <see cref="QrCallingErrorCodes.InvalidRequest"/> error.</summary>
    public static QrCallingError InvalidRequest(string detail) => new(QrCallingErrorCodes.InvalidRequest, detail);
}

/// <summary>The outcome of an operation: a value, or a <see cref="QrCallingError"/>. Bad input is reported this way,
/// never by throwing.</summary>
/// <typeparam name="T">The value's type.</typeparam>
public readonly struct QrCallingResult<T>
{
    private readonly T? _value;

    private QrCallingResult(T? value, QrCallingError? error)
    {
        _value = value;
        Error = error;
    }

    /// <summary>The error, or null on success.</summary>
    public QrCallingError? Error { get; }

    /// <summary>True when the operation succeeded.</summary>
    public bool IsSuccess => Error is null;

    /// <summary>The value; throws when the operation failed.</summary>
    public T Value => Error is null ? _value! : throw new InvalidOperationException($"The operation failed with '{Error.Code}'.");

    /// <summary>A success.</summary>
    public static QrCallingResult<T> Success(T value) => new(value, null);

    /// <summary>A failure.</summary>
    public static QrCallingResult<T> Failure(QrCallingError error) => new(default, error ?? throw new ArgumentNullException(nameof(error)));

    /// <summary>Wraps a value.</summary>
    public static implicit operator QrCallingResult<T>(T value) => Success(value);

    /// <summary>Wraps an error.</summary>
    public static implicit operator QrCallingResult<T>(QrCallingError error) => Failure(error);
}

/// <summary>Thrown by storage adapters when the backend is down, unreachable or timed out. Hosting maps it to
/// HTTP 503 with the code <see cref="QrCallingErrorCodes.StorageUnavailable"/>.</summary>
public sealed class StorageUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StorageUnavailableException() : base("The storage backend is unavailable.") { }

    /// <summary>Creates the exception with a message.</summary>
    public StorageUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the backend's own exception.</summary>
    public StorageUnavailableException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The stable error code, <see cref="QrCallingErrorCodes.StorageUnavailable"/>.</summary>
    public string Code => QrCallingErrorCodes.StorageUnavailable;
}
