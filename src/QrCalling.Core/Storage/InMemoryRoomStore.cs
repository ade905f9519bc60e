using QrCalling.Rooms;

namespace QrCalling.Storage;

/// <summary>In-memory <see cref="IRoomStore"/>: one lock over all rooms and the token index.</summary>
internal sealed class InMemoryRoomStore : IRoomStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, RoomState> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string RoomId, string ParticipantId)> _byToken = new(StringComparer.Ordinal); // hex of token hash

    public ValueTask CreateAsync(RoomRecord room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        lock (_lock)
        {
            _rooms.Add(room.RoomId, RoomState.From(room));
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<RoomRecord?> GetAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_rooms.TryGetValue(roomId, out var room) ? room.ToRecord() : null);
        }
    }

    public ValueTask<RoomJoinStatus> JoinAsync(RoomParticipant participant, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(participant);
        lock (_lock)
        {
            if (!_rooms.TryGetValue(participant.RoomId, out var room))
            {
                return ValueTask.FromResult(RoomJoinStatus.Unavailable);
            }
            var status = room.Join(participant, now);
            if (status == RoomJoinStatus.Joined)
            {
                _byToken[Convert.ToHexString(participant.TokenHash)] = (participant.RoomId, participant.ParticipantId);
            }
            return ValueTask.FromResult(status);
        }
    }

    public ValueTask<RoomParticipant?> FindParticipantAsync(byte[] tokenHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tokenHash);
        lock (_lock)
        {
            return ValueTask.FromResult(_byToken.TryGetValue(Convert.ToHexString(tokenHash), out var key)
                && _rooms.TryGetValue(key.RoomId, out var room) && room.Find(key.ParticipantId) is { } p ? room.ToRecord(p) : null);
        }
    }

    public ValueTask<IReadOnlyList<RoomParticipant>> ListParticipantsAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_rooms.TryGetValue(roomId, out var room) ? room.ParticipantRecords() : []);
        }
    }

    public ValueTask<bool> SetPublicKeyAsync(string roomId, string participantId, string publicKey, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_rooms.TryGetValue(roomId, out var room) && room.Find(participantId) is { } p)
            {
                p.PublicKey = publicKey;
                return ValueTask.FromResult(true);
            }
            return ValueTask.FromResult(false);
        }
    }

    public ValueTask<int> LeaveAsync(string roomId, string participantId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_rooms.TryGetValue(roomId, out var room) || room.Find(participantId) is not { } p)
            {
                return ValueTask.FromResult(-1);
            }
            _byToken.Remove(Convert.ToHexString(p.TokenHash));
            return ValueTask.FromResult(room.Leave(participantId));
        }
    }

    public ValueTask<RoomSendResult> SendAsync(string roomId, RoomMessage message, RoomLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_lock)
        {
            return ValueTask.FromResult(_rooms.TryGetValue(roomId, out var room)
                ? room.Send(message, limits) : new RoomSendResult(RoomSendStatus.Unavailable, 0));
        }
    }

    public ValueTask<IReadOnlyList<RoomDelivery>> ReadAsync(string roomId, string participantId, long afterSeq, int maxCount, int maxBytes, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_rooms.TryGetValue(roomId, out var room) ? room.Read(participantId, afterSeq, maxCount, maxBytes) : []);
        }
    }

    public ValueTask AcknowledgeAsync(string roomId, string participantId, long upToSeq, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_rooms.TryGetValue(roomId, out var room))
            {
                room.Acknowledge(participantId, upToSeq);
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<long> GetPendingBytesAsync(string roomId, string participantId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_rooms.TryGetValue(roomId, out var room) && room.Find(participantId) is { } p ? room.PendingBytes(p) : 0L);
        }
    }

    public ValueTask TouchAsync(string roomId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_rooms.TryGetValue(roomId, out var room) && room.LastActivityAt < now)
            {
                room.LastActivityAt = now;
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<RoomEnding>> ListEndingAsync(DateTimeOffset now, DateTimeOffset idleCutoff, int maxCount, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<RoomEnding> ending = [.. _rooms.Values
                .Select(r => (r.RoomId, Reason: r.EndingReason(now, idleCutoff)))
                .Where(r => r.Reason is not null)
                .Take(maxCount)
                .Select(r => new RoomEnding(r.RoomId, r.Reason!))];
            return ValueTask.FromResult(ending);
        }
    }

    public ValueTask<bool> DeleteAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_rooms.Remove(roomId, out var room))
            {
                return ValueTask.FromResult(false);
            }
            foreach (var p in room.Participants)
            {
                _byToken.Remove(Convert.ToHexString(p.TokenHash));
            }
            return ValueTask.FromResult(true);
        }
    }

    /// <summary>For tests: how many token index entries exist (all gone after a sweep).</summary>
    internal int TokenCount
    {
        get
        {
            lock (_lock)
            {
                return _byToken.Count;
            }
        }
    }
}
