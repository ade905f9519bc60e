using Microsoft.Extensions.Logging;

namespace QrCalling.Delegates;

/// <summary>Source-generated log messages of delegates (EventIds 7100-7199). Delegate, code and call ids only: never an
/// invitation payload or an account id.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7100, Level = LogLevel.Information, Message = "Delegate {DelegateId} added to code {CodeId}")]
    public static partial void DelegateAdded(ILogger logger, string delegateId, string codeId);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Delegate {DelegateId} removed from code {CodeId}")]
    public static partial void DelegateRemoved(ILogger logger, string delegateId, string codeId);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Information, Message = "Delegate {DelegateId} rung for call {CallId}")]
    public static partial void DelegateRung(ILogger logger, string callId, string delegateId);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Debug, Message = "Delegate invitation refused: unknown, expired or used payload")]
    public static partial void InvitationRefused(ILogger logger);
}
