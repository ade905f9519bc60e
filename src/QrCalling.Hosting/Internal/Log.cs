using Microsoft.Extensions.Logging;

namespace QrCalling.Hosting.Internal;

/// <summary>Hosting's log messages. They never hold a token, payload, call token, IP, SDP, signal data or ciphertext;
/// only error codes, counts and durations.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "The storage backend is unavailable; answered storage_unavailable (503 on REST).")]
    public static partial void StorageUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Rate limit hit on {Limit}.")]
    public static partial void RateLimited(ILogger logger, string limit);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "Request refused with {Code}.")]
    public static partial void Refused(ILogger logger, string code);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "The call sweep failed; it runs again next interval.")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Debug, Message = "The call sweep ended {Count} call(s).")]
    public static partial void Swept(ILogger logger, int count);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Debug, Message = "Hub connection refused: {Code}.")]
    public static partial void HubRefused(ILogger logger, string code);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Presence update after a disconnect failed.")]
    public static partial void PresenceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Error, Message = "Hub {Method} failed unexpectedly; answered internal_error.")]
    public static partial void HubFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Error,
        Message = "Request to {Endpoint} failed unexpectedly with {ExceptionType}; answered internal_error.")]
    public static partial void RequestFailed(ILogger logger, string endpoint, string exceptionType);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning,
        Message = "Presence lock for a participant was not free after {Seconds} s; went on without it.")]
    public static partial void PresenceLockTimeout(ILogger logger, int seconds);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "A REST presence update failed.")]
    public static partial void RestPresenceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Error, Message = "Hub clean-up after a disconnect failed unexpectedly.")]
    public static partial void HubDisconnectFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3050, Level = LogLevel.Information, Message = "Meet-now code {CodeId} issued with a session QR signed by key {KeyId}")]
    public static partial void MeetCodeSigned(ILogger logger, string codeId, string keyId);
}
