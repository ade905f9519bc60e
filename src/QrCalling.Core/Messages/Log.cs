using Microsoft.Extensions.Logging;

namespace QrCalling;

/// <summary>Source-generated log messages of leave-a-message (EventIds 6000-6099). Messages carry message and call ids
/// and codes only: never a token, key, ciphertext or any text of a message.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6000, Level = LogLevel.Debug, Message = "An owner registered a message key.")]
    public static partial void MessageKeySet(ILogger logger);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Message {MessageId} left after call {CallId}.")]
    public static partial void MessageStored(ILogger logger, string messageId, string callId);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Debug, Message = "Message refused: {Code}.")]
    public static partial void MessageRefused(ILogger logger, string code);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Debug, Message = "Message {MessageId} deleted by its owner.")]
    public static partial void MessageDeleted(ILogger logger, string messageId);
}
