using Npgsql;
using QrCalling.Rooms;
using static QrCalling.Storage.Postgres.PostgresDatabase;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="IRoomStore"/> on the <c>rooms</c> and <c>room_tokens</c> tables: a room's state is one JSON
/// document changed under the row lock in one transaction (see migration 0011), with the rules shared by every store.</summary>
internal sealed class PostgresRoomStore : IRoomStore
{
    private readonly PostgresDatabase _db;
    private readonly string _insert, _get, _lock, _update, _insertToken, _deleteToken, _findToken, _ending, _delete, _touch;

    public PostgresRoomStore(PostgresDatabase db)
    {
        _db = db;
        var r = $"{db.Schema}.rooms";
        var t = $"{db.Schema}.room_tokens";
        _insert = $"INSERT INTO {r} (room_id, doc, expires_at, last_activity_at) VALUES (@id, @doc, @expires, @activity)";
        _get = $"SELECT doc FROM {r} WHERE room_id = @id";
        _lock = $"SELECT doc FROM {r} WHERE room_id = @id FOR UPDATE";
        _update = $"UPDATE {r} SET doc = @doc, last_activity_at = @activity WHERE room_id = @id";
        _insertToken = $"INSERT INTO {t} (token_hash, room_id, participant_id) VALUES (@hash, @id, @participant)";
        _deleteToken = $"DELETE FROM {t} WHERE token_hash = @hash";
        _findToken = $"SELECT room_id, participant_id FROM {t} WHERE token_hash = @hash";
        _ending = $"""
            SELECT room_id, CASE WHEN expires_at <= @now THEN 'expired' ELSE 'idle' END FROM {r}
            WHERE expires_at <= @now OR last_activity_at <= @idle ORDER BY LEAST(expires_at, last_activity_at) LIMIT @max
            """;
        _delete = $"DELETE FROM {r} WHERE room_id = @id";
        _touch = $"UPDATE {r} SET last_activity_at = @now WHERE room_id = @id AND last_activity_at < @now";
    }

    public async ValueTask CreateAsync(RoomRecord room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        await _db.ExecuteAsync(_insert, [Param("id", room.RoomId), Param("doc", RoomState.From(room).Serialize()), Param("expires", room.ExpiresAt),
            Param("activity", room.LastActivityAt)], "room create", cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<RoomState?> ReadAsync(string roomId, CancellationToken cancellationToken)
    {
        var doc = await _db.SingleAsync(_get, [Param("id", roomId)], r => r.GetString(0), "room get", cancellationToken).ConfigureAwait(false);
        return doc is null ? null : RoomState.Deserialize(doc);
    }

    /// <summary>Runs <paramref name="change"/> on the room's state under its row lock and writes it back when it says so;
    /// <paramref name="after"/> runs in the same transaction (token rows).</summary>
    private async ValueTask<T> ChangeAsync<T>(string roomId, Func<RoomState?, (bool Write, T Result)> change, string operation, CancellationToken cancellationToken,
        Func<NpgsqlConnection, NpgsqlTransaction, T, Task>? after = null)
    {
        try
        {
            await using var connection = await _db.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            RoomState? state;
            await using (var select = new NpgsqlCommand(_lock, connection, tx) { CommandTimeout = _db.CommandTimeoutSeconds })
            {
                select.Parameters.Add(Param("id", roomId));
                var doc = await select.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
                state = doc is null ? null : RoomState.Deserialize(doc);
            }
            var (write, result) = change(state);
            if (write && state is not null)
            {
                await using var update = new NpgsqlCommand(_update, connection, tx) { CommandTimeout = _db.CommandTimeoutSeconds };
                NpgsqlParameter[] parameters = [Param("id", roomId), Param("doc", state.Serialize()), Param("activity", state.LastActivityAt)];
                update.Parameters.AddRange(parameters);
                await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            if (after is not null)
            {
                await after(connection, tx, result).ConfigureAwait(false);
            }
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw _db.Unavailable(ex, operation);
        }
    }

    private async Task RunAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, NpgsqlParameter[] parameters, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx) { CommandTimeout = _db.CommandTimeoutSeconds };
        command.Parameters.AddRange(parameters);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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
        }, "room join", cancellationToken, (connection, tx, status) => status == RoomJoinStatus.Joined
            ? RunAsync(connection, tx, _insertToken, [Param("hash", participant.TokenHash), Param("id", participant.RoomId), Param("participant", participant.ParticipantId)], cancellationToken)
            : Task.CompletedTask).ConfigureAwait(false);
    }

    public async ValueTask<RoomParticipant?> FindParticipantAsync(byte[] tokenHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tokenHash);
        var key = await _db.SingleAsync(_findToken, [Param("hash", tokenHash)], r => new[] { r.GetString(0), r.GetString(1) }, "room token find", cancellationToken)
            .ConfigureAwait(false);
        if (key is null)
        {
            return null;
        }
        var state = await ReadAsync(key[0], cancellationToken).ConfigureAwait(false);
        return state?.Find(key[1]) is { } p ? state.ToRecord(p) : null;
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
        }, "room leave", cancellationToken, (connection, tx, remaining) => remaining >= 0 && tokenHash is not null
            ? RunAsync(connection, tx, _deleteToken, [Param("hash", tokenHash)], cancellationToken)
            : Task.CompletedTask).ConfigureAwait(false);
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
        await _db.ExecuteAsync(_touch, [Param("id", roomId), Param("now", now)], "room touch", cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<RoomEnding>> ListEndingAsync(DateTimeOffset now, DateTimeOffset idleCutoff, int maxCount, CancellationToken cancellationToken) =>
        await _db.ListAsync(_ending, [Param("now", now), Param("idle", idleCutoff), Param("max", maxCount)],
            r => new RoomEnding(r.GetString(0), r.GetString(1)), "room sweep", cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> DeleteAsync(string roomId, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_delete, [Param("id", roomId)], "room delete", cancellationToken).ConfigureAwait(false) > 0;
}
