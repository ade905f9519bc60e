using Microsoft.Extensions.Logging;

namespace QrCalling.Client.Internal;

/// <summary>The client's log messages. Never a token, ticket, credential, payload, signal data or ciphertext: call ids,
/// counts and error codes only.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "QrCalling hub connection lost; reconnecting")]
    public static partial void Reconnecting(ILogger logger, Exception? exception);

    [LoggerMessage(2, LogLevel.Information, "QrCalling hub connection back; resuming {Calls} call(s)")]
    public static partial void Reconnected(ILogger logger, int calls);

    [LoggerMessage(3, LogLevel.Debug, "Resumed call {CallId}: {Entries} mailbox entries, {New} new")]
    public static partial void Resumed(ILogger logger, string callId, int entries, int @new);

    [LoggerMessage(4, LogLevel.Warning, "Resume of call {CallId} was refused ({Code})")]
    public static partial void ResumeRefused(ILogger logger, string callId, string code);

    [LoggerMessage(5, LogLevel.Debug, "Acknowledgement of call {CallId} not sent; the next one covers it")]
    public static partial void AckFailed(ILogger logger, string callId, Exception exception);

    [LoggerMessage(6, LogLevel.Warning, "QrCalling hub connection closed for good")]
    public static partial void Closed(ILogger logger, Exception? exception);

    [LoggerMessage(7, LogLevel.Debug, "Call {CallId}: the other side's mailbox is full; sending again (attempt {Attempt})")]
    public static partial void MailboxFull(ILogger logger, string callId, int attempt);

    [LoggerMessage(8, LogLevel.Debug, "Call {CallId}: an event seen before (seq {Seq}) was dropped")]
    public static partial void Duplicate(ILogger logger, string callId, long seq);
}
