using Microsoft.Extensions.Logging;

namespace QrCalling.Hosting.Internal;

/// <summary>Source-generated logs of the rooms hub and sweep (EventIds 3100-3119): room and participant ids only.</summary>
internal static partial class RoomLog
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Debug, Message = "Rooms hub connection refused: {Code}.")]
    public static partial void Refused(ILogger logger, string code);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "The room sweep failed.")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Room sweep ended {Count} rooms.")]
    public static partial void Swept(ILogger logger, int count);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Error, Message = "Rooms hub {Method} failed unexpectedly; answered internal_error.")]
    public static partial void HubFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "A room presence update failed.")]
    public static partial void PresenceFailed(ILogger logger, Exception exception);
}
