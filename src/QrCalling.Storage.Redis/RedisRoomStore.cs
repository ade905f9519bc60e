using QrCalling.Rooms;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Rooms on Redis: the hash <c>room:{id}</c> with a version <c>v</c> and the room's state <c>d</c> as one JSON
/// document (participants, token hashes, keys and the bounded per-recipient history); <c>roomtok:{hex of token hash}</c>
/// → <c>roomId participantId</c>; the sorted sets <c>rooms-expiry</c> (by expiry) and <c>rooms-activity</c> (by last
/// activity) for the sweep. Every change is a compare-and-set on the version in a MULTI/EXEC transaction (retried when
/// another change came first), applying the rules every store shares, so each change is atomic. Keys also carry a TTL
/// a day past the room's expiry, in case the sweep never runs.</summary>
internal sealed class RedisRoomStore(RedisStorage storage) : IRoomStore
{
    private const int MaxAttempts = 1000;
    private static readonly TimeSpan TtlMargin = TimeSpan.FromDays(1);

    private RedisKey Room(string id) => storage.Keys.Prefix + "room:" + id;
    private RedisKey Token(byte[] hash) => storage.Keys.Prefix + "roomtok:" + Convert.ToHexStringLower(hash);
    private RedisKey Expiry => storage.Keys.Prefix + "rooms-expiry";
    private RedisKey Activity => storage.Keys.Prefix + "rooms-activity";

    private TimeSpan TtlOf(RoomState state) => TimeSpan.FromMilliseconds(storage.TtlMs(state.ExpiresAt + TtlMargin));

    public async ValueTask CreateAsync(RoomRecord room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        var state = RoomState.From(room);
        await storage.Connection.RunAsync("room create", async db =>
        {
            var tx = db.CreateTransaction();
            _ = tx.HashSetAsync(Room(room.RoomId), [new HashEntry("v", 1), new HashEntry("d", state.Serialize())]);
            _ = tx.KeyExpireAsync(Room(room.RoomId), TtlOf(state));
            _ = tx.SortedSetAddAsync(Expiry, room.RoomId, room.ExpiresAt.ToUnixTimeMilliseconds());
            _ = tx.SortedSetAddAsync(Activity, room.RoomId, room.LastActivityAt.ToUnixTimeMilliseconds());
            return await tx.ExecuteAsync().ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<(RedisValue Version, RoomState? State)> LoadAsync(IDatabaseAsync db, RedisKey key)
    {
        var fields = await db.HashGetAsync(key, ["v", "d"]).ConfigureAwait(false);
        return fields[1].IsNull ? (RedisValue.Null, null) : (fields[0], RoomState.Deserialize(fields[1]!));
    }

    private async ValueTask<RoomState?> ReadAsync(string roomId, CancellationToken cancellationToken) =>
        await storage.Connection.RunAsync("room get", async db => (await LoadAsync(db, Room(roomId)).ConfigureAwait(false)).State, cancellationToken)
            .ConfigureAwait(false);

    /// <summary>Reads the room, runs <paramref name="change"/> and, when it says so, writes the new state back only if no
    /// other change came in between (version compare-and-set), with <paramref name="extra"/> commands in the same
    /// transaction; retried otherwise.</summary>
    private async ValueTask<T> ChangeAsync<T>(string roomId, Func<RoomState?, (bool Write, T Result)> change, string operation, CancellationToken cancellationToken,
        Action<ITransaction, RoomState, T>? extra = null)
    {
        var key = Room(roomId);
        return await storage.Connection.RunAsync(operation, async db =>
        {
            for (var attempt = 0; attempt < MaxAttempts; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (version, state) = await LoadAsync(db, key).ConfigureAwait(false);
                var (write, result) = change(state);
                if (!write || state is null)
                {
                    return result;
                }
                var tx = db.CreateTransaction();
                tx.AddCondition(Condition.HashEqual(key, "v", version));
                _ = tx.HashSetAsync(key, [new HashEntry("v", (long)version + 1), new HashEntry("d", state.Serialize())]);
                _ = tx.SortedSetAddAsync(Activity, roomId, state.LastActivityAt.ToUnixTimeMilliseconds());
                extra?.Invoke(tx, state, result);
                if (await tx.ExecuteAsync().ConfigureAwait(false))
                {
                    return result;
                }
            }
            throw new StorageUnavailableException("The Redis storage is too busy with this room; try again.");
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<RoomRecord?> GetAsync(string roomId, CancellationToken cancellationToken) =>
        (await ReadAsync(roomId, cancellationToken).ConfigureAwait(false))?.ToRecord();

    public async ValueTask<RoomJoinStatus> JoinAsync(RoomParticipant participant, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(participant);
        return await ChangeAsync(participant.RoomId, state =>
        {
            var status = state?.Join(participant, now) ?? RoomJoinStatus.Unavailable;
            return (status == RoomJoinStatus.Joined, status);
        }, "room join", cancellationToken, (tx, state, status) =>
        {
            if (status == RoomJoinStatus.Joined)
            {
                tx.StringSetAsync(Token(participant.TokenHash), participant.RoomId + " " + participant.ParticipantId, TtlOf(state));
            }
        }).ConfigureAwait(false);
    }

    public async ValueTask<RoomParticipant?> FindParticipantAsync(byte[] tokenHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tokenHash);
        var value = (string?)await storage.Connection.RunAsync("room token find", db => db.StringGetAsync(Token(tokenHash)), cancellationToken).ConfigureAwait(false);
        var space = value?.IndexOf(' ', StringComparison.Ordinal) ?? -1;
        if (space <= 0)
        {
            return null;
        }
        var state = await ReadAsync(value![..space], cancellationToken).ConfigureAwait(false);
        return state?.Find(value[(space + 1)..]) is { } p ? state.ToRecord(p) : null;
    }

    public async ValueTask<IReadOnlyList<RoomParticipant>> ListParticipantsAsync(string roomId, CancellationToken cancellationToken) =>
        (await ReadAsync(roomId, cancellationToken).ConfigureAwait(false))?.ParticipantRecords() ?? [];

    public async ValueTask<bool> SetPublicKeyAsync(string roomId, string participantId, string publicKey, CancellationToken cancellationToken) =>
        await ChangeAsync(roomId, state =>
        {
            if (state?.Find(participantId) is not { } p)
            {
                return (false, false);
            }
            p.PublicKey = publicKey;
            return (true, true);
        }, "room publish key", cancellationToken).ConfigureAwait(false);

    public async ValueTask<int> LeaveAsync(string roomId, string participantId, CancellationToken cancellationToken)
    {
        byte[]? tokenHash = null;
        return await ChangeAsync(roomId, state =>
        {
            tokenHash = state?.Find(participantId)?.TokenHash;
            var remaining = state?.Leave(participantId) ?? -1;
            return (remaining >= 0, remaining);
        }, "room leave", cancellationToken, (tx, state, remaining) => tx.KeyDeleteAsync(Token(tokenHash!))).ConfigureAwait(false);
    }

    public async ValueTask<RoomSendResult> SendAsync(string roomId, RoomMessage message, RoomLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return await ChangeAsync(roomId, state =>
        {
            var result = state?.Send(message, limits) ?? new RoomSendResult(RoomSendStatus.Unavailable, 0);
            return (result.Status == RoomSendStatus.Sent, result);
        }, "room send", cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<RoomDelivery>> ReadAsync(string roomId, string participantId, long afterSeq, int maxCount, int maxBytes, CancellationToken cancellationToken) =>
        (await ReadAsync(roomId, cancellationToken).ConfigureAwait(false))?.Read(participantId, afterSeq, maxCount, maxBytes) ?? [];

    public async ValueTask AcknowledgeAsync(string roomId, string participantId, long upToSeq, CancellationToken cancellationToken) =>
        await ChangeAsync(roomId, state => (state?.Acknowledge(participantId, upToSeq) ?? false, 0), "room ack", cancellationToken).ConfigureAwait(false);

    public async ValueTask<long> GetPendingBytesAsync(string roomId, string participantId, CancellationToken cancellationToken)
    {
        var state = await ReadAsync(roomId, cancellationToken).ConfigureAwait(false);
        return state?.Find(participantId) is { } p ? state.PendingBytes(p) : 0;
    }

    public async ValueTask TouchAsync(string roomId, DateTimeOffset now, CancellationToken cancellationToken) =>
        await ChangeAsync(roomId, state =>
        {
            if (state is null || state.LastActivityAt >= now)
            {
                return (false, 0);
            }
            state.LastActivityAt = now;
            return (true, 0);
        }, "room touch", cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<RoomEnding>> ListEndingAsync(DateTimeOffset now, DateTimeOffset idleCutoff, int maxCount, CancellationToken cancellationToken) =>
        await storage.Connection.RunAsync("room sweep", async db =>
        {
            var expired = await db.SortedSetRangeByScoreAsync(Expiry, double.NegativeInfinity, now.ToUnixTimeMilliseconds(), take: maxCount).ConfigureAwait(false);
            var idle = await db.SortedSetRangeByScoreAsync(Activity, double.NegativeInfinity, idleCutoff.ToUnixTimeMilliseconds(), take: maxCount).ConfigureAwait(false);
            var ending = new List<RoomEnding>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in expired)
            {
                if (seen.Add(id!))
                {
                    ending.Add(new RoomEnding(id!, "expired"));
                }
            }
            foreach (var id in idle)
            {
                if (seen.Add(id!))
                {
                    ending.Add(new RoomEnding(id!, "idle"));
                }
            }
            return (IReadOnlyList<RoomEnding>)[.. ending.Take(maxCount)];
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> DeleteAsync(string roomId, CancellationToken cancellationToken)
    {
        var key = Room(roomId);
        return await storage.Connection.RunAsync("room delete", async db =>
        {
            for (var attempt = 0; attempt < MaxAttempts; attempt++)
            {
                var (version, state) = await LoadAsync(db, key).ConfigureAwait(false);
                var tx = db.CreateTransaction();
                if (state is null)
                {
                    tx.AddCondition(Condition.KeyNotExists(key));
                }
                else
                {
                    tx.AddCondition(Condition.HashEqual(key, "v", version));
                    _ = tx.KeyDeleteAsync([key, .. state.Participants.Select(p => Token(p.TokenHash))]);
                }
                _ = tx.SortedSetRemoveAsync(Expiry, roomId);
                _ = tx.SortedSetRemoveAsync(Activity, roomId);
                if (await tx.ExecuteAsync().ConfigureAwait(false))
                {
                    return state is not null;
                }
            }
            throw new StorageUnavailableException("The Redis storage is too busy with this room; try again.");
        }, cancellationToken).ConfigureAwait(false);
    }

}
