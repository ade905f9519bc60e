using Microsoft.Extensions.Logging;

namespace QrCalling.Rooms;

/// <summary>Source-generated log messages of rooms (EventIds 7100-7199). Room ids and participant ids only: never a
/// secret, token, link, display name, ciphertext or IP.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7100, Level = LogLevel.Information, Message = "Room {RoomId} created for {MaxParticipants} participants")]
    public static partial void RoomCreated(ILogger logger, string roomId, int maxParticipants);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Participant {ParticipantId} joined room {RoomId}")]
    public static partial void Joined(ILogger logger, string roomId, string participantId);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Debug, Message = "Room join refused: {Reason}")]
    public static partial void JoinRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Information, Message = "Participant {ParticipantId} left room {RoomId}")]
    public static partial void Left(ILogger logger, string roomId, string participantId);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Information, Message = "Room {RoomId} ended: {Reason}")]
    public static partial void Ended(ILogger logger, string roomId, string reason);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Debug, Message = "Room message refused: {Reason}")]
    public static partial void SendRefused(ILogger logger, string reason);
}
