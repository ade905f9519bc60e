using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using QrCalling.Hosting.Http;
using QrCalling.Rooms;
using QrCalling.Storage;

namespace QrCalling.Hosting.Hubs;

/// <summary>Delivers room events through SignalR groups of the rooms hub (a room's group, and one group per participant),
/// so behind the Redis backplane they reach every instance; and keeps this instance's room connections (to report
/// presence to the sweep and to close them when their room ends or their participant leaves).</summary>
internal sealed class RoomNotifier(IHubContext<RoomHub> hub, RoomService rooms, TimeProvider time)
{
    public const string RoomJoined = "RoomJoined";
    public const string ParticipantJoined = "ParticipantJoined";
    public const string ParticipantLeft = "ParticipantLeft";
    public const string PublicKeysUpdated = "PublicKeysUpdated";
    public const string Message = "Message";
    public const string MessageSent = "MessageSent";
    public const string Typing = "Typing";
    public const string RoomEnded = "RoomEnded";

    // room id -> connection id -> (participant id, context)
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, (string ParticipantId, HubCallerContext Context)>> _local = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _announced = new(StringComparer.Ordinal);

    public static string RoomGroup(string roomId) => "room:" + roomId;
    public static string ParticipantGroup(string roomId, string participantId) => "room:" + roomId + ":" + participantId;

    public static JsonElement Json<T>(T value) => JsonSerializer.SerializeToElement(value, QrCallingJson.Options);

    /// <summary>Tracks a connection; true when the participant was not announced on this instance before (its first
    /// connection: the others get ParticipantJoined).</summary>
    public bool Add(string roomId, string participantId, HubCallerContext context)
    {
        _local.GetOrAdd(roomId, _ => new(StringComparer.Ordinal))[context.ConnectionId] = (participantId, context);
        return _announced.TryAdd(roomId + ":" + participantId, 0);
    }

    public void Remove(string roomId, string connectionId)
    {
        if (_local.TryGetValue(roomId, out var connections))
        {
            connections.TryRemove(connectionId, out _);
            if (connections.IsEmpty)
            {
                _local.TryRemove(new KeyValuePair<string, ConcurrentDictionary<string, (string, HubCallerContext)>>(roomId, connections));
            }
        }
    }

    /// <summary>Rooms with a connection on this instance.</summary>
    public IReadOnlyList<string> ConnectedRooms => [.. _local.Keys];

    /// <summary>How many connections this instance holds for a room (tests).</summary>
    public int ConnectionCount(string roomId) => _local.TryGetValue(roomId, out var c) ? c.Count : 0;

    private void Forget(string roomId, string? participantId)
    {
        if (!_local.TryGetValue(roomId, out var connections))
        {
            return;
        }
        foreach (var (connectionId, entry) in connections)
        {
            if (participantId is null || entry.ParticipantId == participantId)
            {
                connections.TryRemove(connectionId, out _);
                entry.Context.Abort();
            }
        }
        if (participantId is null)
        {
            _local.TryRemove(roomId, out _);
            foreach (var key in _announced.Keys.Where(k => k.StartsWith(roomId + ":", StringComparison.Ordinal)))
            {
                _announced.TryRemove(key, out _);
            }
        }
        else
        {
            _announced.TryRemove(roomId + ":" + participantId, out _);
        }
    }

    /// <summary>A participant leaves: the others hear of it (or everyone hears the room ended when it was the last one) and
    /// its connections here close.</summary>
    public async Task LeaveAsync(RoomParticipant participant, CancellationToken cancellationToken)
    {
        var (left, ended) = await rooms.LeaveAsync(participant, cancellationToken);
        if (!left)
        {
            return;
        }
        if (ended)
        {
            await EndedAsync(participant.RoomId, "empty", cancellationToken);
            return;
        }
        await hub.Clients.Group(RoomGroup(participant.RoomId)).SendAsync(ParticipantLeft,
            Json(new ParticipantLeftEvent(participant.ParticipantId, time.GetUtcNow())), cancellationToken);
        Forget(participant.RoomId, participant.ParticipantId);
    }

    /// <summary>A room ended (already deleted): everyone connected gets RoomEnded and this instance closes its connections.</summary>
    public async Task EndedAsync(string roomId, string reason, CancellationToken cancellationToken)
    {
        await hub.Clients.Group(RoomGroup(roomId)).SendAsync(RoomEnded, Json(new RoomEndedEvent(roomId, reason)), cancellationToken);
        Forget(roomId, null);
    }

    /// <summary>Closes this instance's connections of rooms that no longer exist (ended through another instance).</summary>
    public async Task CloseGoneAsync(CancellationToken cancellationToken)
    {
        foreach (var roomId in ConnectedRooms)
        {
            if (await rooms.GetAsync(roomId, cancellationToken) is null)
            {
                Forget(roomId, null);
            }
        }
    }
}

internal sealed record ParticipantJoinedEvent(string ParticipantId, string? DisplayName, DateTimeOffset At);
internal sealed record ParticipantLeftEvent(string ParticipantId, DateTimeOffset At);
internal sealed record RoomEndedEvent(string RoomId, string Reason);
internal sealed record RoomTypingEvent(string ParticipantId, DateTimeOffset At);
internal sealed record RoomMessageEvent(long Seq, string From, string Kind, string Ciphertext, DateTimeOffset At)
{
    public static RoomMessageEvent Of(RoomDelivery d) => new(d.Seq, d.From, d.Kind, d.Ciphertext, d.At);
}
internal sealed record MessageSentEvent(string ClientMessageId, long Seq, DateTimeOffset At, IReadOnlyList<string> To);
internal sealed record SendResultDto(long Seq, DateTimeOffset At);
internal sealed record PublicKeysUpdatedEvent(IReadOnlyList<RoomParticipantDto> Participants);
internal sealed record RoomJoinedEvent(string RoomId, string ParticipantId, IReadOnlyList<RoomParticipantDto> Participants, IReadOnlyList<RoomMessageEvent> History);
