using Microsoft.Extensions.Logging;

namespace QrCalling;

/// <summary>Source-generated log messages. Codes use EventIds 1000-1999 (calls: 2000-2999). Never a token or payload:
/// only code ids, which are opaque and shown to the owner alone.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Code {CodeId} issued")]
    public static partial void CodeIssued(ILogger logger, string codeId);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Code {CodeId} revoked; {CallCount} open call(s) ended")]
    public static partial void CodeRevoked(ILogger logger, string codeId, int callCount);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Code {CodeId} rotated to {NewCodeId}")]
    public static partial void CodeRotated(ILogger logger, string codeId, string newCodeId);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "Code request rejected: {Reason}")]
    public static partial void CodeRequestRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Debug, Message = "Scan rejected: {ErrorCode}")]
    public static partial void ScanRejected(ILogger logger, string errorCode);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Code {CodeId} updated")]
    public static partial void CodeUpdated(ILogger logger, string codeId);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Code {CodeId} deleted; {CallCount} open call(s) ended")]
    public static partial void CodeDeleted(ILogger logger, string codeId, int callCount);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Code {CodeId} paused: {Paused}")]
    public static partial void CodePaused(ILogger logger, string codeId, bool paused);
}

/// <summary>Log messages of the caller controls (EventIds 1100-1199). Never a caller key or pseudonym: only code and
/// block ids.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Code {CodeId}: call policy set (chat only {ChatOnly}, quiet hours {HasQuietHours})")]
    public static partial void CallPolicySet(ILogger logger, string codeId, bool chatOnly, bool hasQuietHours);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Code {CodeId}: a caller was blocked ({BlockId})")]
    public static partial void CallerBlocked(ILogger logger, string codeId, string blockId);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Code {CodeId}: block {BlockId} removed")]
    public static partial void CallerUnblocked(ILogger logger, string codeId, string blockId);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Debug, Message = "Caller control request rejected: {Reason}")]
    public static partial void CallerControlRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "Session QR are signed with an ephemeral key {KeyId} (QrCalling:SessionQr:EphemeralKey): every QR it signs stops verifying at the next start. Configure QrCalling:SessionQr:SigningKey outside development.")]
    public static partial void SessionQrEphemeralKey(ILogger logger, string keyId);
}
