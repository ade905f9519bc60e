using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Source-generated log messages of the Redis adapter. They never hold a token, hash, id or address.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Redis storage unavailable during {Operation} ({Reason}).")]
    public static partial void Unavailable(ILogger logger, string operation, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Redis {ConnectionType} connection failed: {FailureType}.")]
    public static partial void ConnectionFailed(ILogger logger, ConnectionType connectionType, ConnectionFailureType failureType);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Redis {ConnectionType} connection restored.")]
    public static partial void ConnectionRestored(ILogger logger, ConnectionType connectionType);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "Redis sweep deleted {Count} {Kind}.")]
    public static partial void Swept(ILogger logger, int count, string kind);
}
