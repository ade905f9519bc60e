using Microsoft.Extensions.Logging;

namespace QrCalling;

/// <summary>Source-generated log messages of the call side (EventIds 2000-2999). Messages carry ids such as the call id
/// and never a token, payload, SDP, signal data or ciphertext. A call's start, accept and end are Debug, like the
/// framework's per-request lines: at hundreds of calls a second they would cost more than the calls (the QrCalling Meter
/// counts them).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Debug, Message = "Call {CallId} started ({Media}).")]
    public static partial void CallStarted(ILogger logger, string callId, string media);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Call start refused: {Code}.")]
    public static partial void CallStartRefused(ILogger logger, string code);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "Call {CallId} accepted.")]
    public static partial void CallAccepted(ILogger logger, string callId);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "Call {CallId} ended: {Reason}.")]
    public static partial void CallEnded(ILogger logger, string callId, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "Call {CallId}: {Command} refused with {Code}.")]
    public static partial void CallCommandRefused(ILogger logger, string callId, string command, string code);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Debug, Message = "Call {CallId}: {Command} lost a race with another change; retrying.")]
    public static partial void CallRaceLost(ILogger logger, string callId, string command);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Delivering {EventName} of call {CallId} failed; the client catches up through the mailbox.")]
    public static partial void CallDeliveryFailed(ILogger logger, string eventName, string callId, Exception exception);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Debug, Message = "Sweep ended {Ended} calls; deleted {Codes} codes, {MailboxEntries} mailbox entries, {Calls} calls.")]
    public static partial void CallSweepCompleted(ILogger logger, int ended, int codes, int mailboxEntries, int calls);
}
