using Npgsql;
using static QrCalling.Storage.Postgres.PostgresDatabase;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="IDeviceStore"/> on the <c>devices</c> and <c>device_pairings</c> tables. Taking a pairing is one
/// <c>DELETE … RETURNING</c>; creating a device takes a transaction-level advisory lock keyed by the owner, so concurrent
/// pairings cannot pass the cap together.</summary>
internal sealed class PostgresDeviceStore : IDeviceStore
{
    private const string Columns = "device_id, owner_id, name, token_hash, created_at, last_seen_at, confirmed, check_code";

    private readonly PostgresDatabase _db;
    private readonly string _lockPairing, _deletePairing, _deletePending;
    private readonly string _createPairing, _takePairing, _deleteExpired, _create, _findByToken, _list, _update, _touch, _delete;

    public PostgresDeviceStore(PostgresDatabase db)
    {
        _db = db;
        var p = $"{db.Schema}.device_pairings";
        var d = $"{db.Schema}.devices";
        _createPairing = $"INSERT INTO {p} (secret_hash, owner_id, expires_at) VALUES (@hash, @owner, @expires)";
        _takePairing = $"DELETE FROM {p} WHERE secret_hash = @hash RETURNING owner_id, expires_at";
        _deleteExpired = $"DELETE FROM {p} WHERE secret_hash IN (SELECT secret_hash FROM {p} WHERE expires_at <= @now LIMIT @max)";
        _create = $"""
            INSERT INTO {d} ({Columns})
            SELECT @id, @owner, @name, @token, @created, NULL, @confirmed, @check
            WHERE (SELECT count(*) FROM {d} WHERE owner_id = @owner) < @max
            """;
        _lockPairing = $"SELECT owner_id, expires_at FROM {p} WHERE secret_hash = @hash FOR UPDATE";
        _deletePairing = $"DELETE FROM {p} WHERE secret_hash = @hash";
        _deletePending = $"""
            DELETE FROM {d} WHERE device_id IN
              (SELECT device_id FROM {d} WHERE NOT confirmed AND created_at <= @cutoff ORDER BY created_at LIMIT @max)
            """;
        _findByToken = $"SELECT {Columns} FROM {d} WHERE token_hash = @token";
        _list = $"SELECT {Columns} FROM {d} WHERE owner_id = @owner ORDER BY created_at, device_id";
        _update = $"""
            UPDATE {d} SET name = COALESCE(@name, name), confirmed = COALESCE(@confirmed, confirmed)
            WHERE owner_id = @owner AND device_id = @id RETURNING {Columns}
            """;
        _touch = $"UPDATE {d} SET last_seen_at = @seen WHERE owner_id = @owner AND device_id = @id";
        _delete = $"DELETE FROM {d} WHERE owner_id = @owner AND device_id = @id";
    }

    public async ValueTask CreatePairingAsync(DevicePairing pairing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pairing);
        await _db.ExecuteAsync(_createPairing, [Param("hash", pairing.SecretHash), Param("owner", pairing.OwnerId), Param("expires", pairing.ExpiresAt)],
            "device pairing create", cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<DevicePairing?> TakePairingAsync(byte[] secretHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secretHash);
        var pairing = await _db.SingleAsync(_takePairing, [Param("hash", secretHash)],
            r => new DevicePairing { SecretHash = secretHash, OwnerId = r.GetString(0), ExpiresAt = Time(r, 1) }, "device pairing take", cancellationToken)
            .ConfigureAwait(false);
        return pairing is not null && pairing.ExpiresAt > now ? pairing : null;
    }

    public async ValueTask<int> DeleteExpiredPairingsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_deleteExpired, [Param("now", now), Param("max", maxCount)], "device pairing sweep", cancellationToken).ConfigureAwait(false);

    /// <summary>One transaction: the pairing row is locked (<c>FOR UPDATE</c>, so a concurrent redemption waits and then
    /// finds it gone), the owner's advisory lock taken, the cap checked; only then the device is inserted and the pairing
    /// deleted. Past the cap the transaction rolls back and the pairing stays.</summary>
    public async ValueTask<DevicePairResult> PairAsync(byte[] secretHash, DateTimeOffset now, int maxPerOwner, Func<string, DeviceRecord> newDevice,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secretHash);
        ArgumentNullException.ThrowIfNull(newDevice);
        try
        {
            await using var connection = await _db.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            string? owner = null;
            await using (var select = new NpgsqlCommand(_lockPairing, connection, tx))
            {
                select.Parameters.Add(Param("hash", secretHash));
                await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && Time(reader, 1) > now)
                {
                    owner = reader.GetString(0);
                }
            }
            if (owner is null)
            {
                return new DevicePairResult(DevicePairStatus.PairingUnavailable, null);
            }
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))", connection, tx))
            {
                lockCommand.Parameters.AddWithValue("key", "qrcalling.devices:" + _db.Schema + ":" + owner);
                await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            var device = newDevice(owner);
            int inserted;
            await using (var insert = new NpgsqlCommand(_create, connection, tx))
            {
                NpgsqlParameter[] parameters =
                [
                    Param("id", device.DeviceId), Param("owner", owner), Param("name", device.Name), Param("token", device.TokenHash),
                    Param("created", device.CreatedAt), new("confirmed", NpgsqlTypes.NpgsqlDbType.Boolean) { Value = device.Confirmed },
                    Param("check", device.CheckCode), Param("max", maxPerOwner),
                ];
                insert.Parameters.AddRange(parameters);
                inserted = await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            if (inserted != 1)
            {
                await tx.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return new DevicePairResult(DevicePairStatus.QuotaExceeded, null);
            }
            await using (var delete = new NpgsqlCommand(_deletePairing, connection, tx))
            {
                delete.Parameters.Add(Param("hash", secretHash));
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new DevicePairResult(DevicePairStatus.Paired, device with { OwnerId = owner });
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw _db.Unavailable(ex, "device pair");
        }
    }

    public async ValueTask<int> DeleteExpiredPendingAsync(DateTimeOffset createdAtOrBefore, int maxCount, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_deletePending, [Param("cutoff", createdAtOrBefore), Param("max", maxCount)], "device pending sweep", cancellationToken)
            .ConfigureAwait(false);

    public async ValueTask<bool> CreateAsync(DeviceRecord device, int maxPerOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        try
        {
            await using var connection = await _db.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))", connection, tx))
            {
                lockCommand.Parameters.AddWithValue("key", "qrcalling.devices:" + _db.Schema + ":" + device.OwnerId);
                await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            int inserted;
            await using (var insert = new NpgsqlCommand(_create, connection, tx))
            {
                NpgsqlParameter[] parameters =
                [
                    Param("id", device.DeviceId), Param("owner", device.OwnerId), Param("name", device.Name), Param("token", device.TokenHash),
                    Param("created", device.CreatedAt), new("confirmed", NpgsqlTypes.NpgsqlDbType.Boolean) { Value = device.Confirmed },
                    Param("check", device.CheckCode), Param("max", maxPerOwner),
                ];
                insert.Parameters.AddRange(parameters);
                inserted = await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return inserted == 1;
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw _db.Unavailable(ex, "device create");
        }
    }

    public async ValueTask<DeviceRecord?> FindByTokenHashAsync(byte[] tokenHash, CancellationToken cancellationToken) =>
        await _db.SingleAsync(_findByToken, [Param("token", tokenHash)], Read, "device find", cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<DeviceRecord>> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken) =>
        await _db.ListAsync(_list, [Param("owner", ownerId)], Read, "device list", cancellationToken).ConfigureAwait(false);

    public async ValueTask<DeviceRecord?> UpdateAsync(string ownerId, string deviceId, string? name, bool? confirmed, CancellationToken cancellationToken) =>
        await _db.SingleAsync(_update,
            [Param("owner", ownerId), Param("id", deviceId), Param("name", name),
             new("confirmed", NpgsqlTypes.NpgsqlDbType.Boolean) { Value = (object?)confirmed ?? DBNull.Value }],
            Read, "device update", cancellationToken).ConfigureAwait(false);

    public async ValueTask TouchAsync(string ownerId, string deviceId, DateTimeOffset seenAt, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_touch, [Param("owner", ownerId), Param("id", deviceId), Param("seen", seenAt)], "device touch", cancellationToken)
            .ConfigureAwait(false);

    public async ValueTask<bool> DeleteAsync(string ownerId, string deviceId, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_delete, [Param("owner", ownerId), Param("id", deviceId)], "device delete", cancellationToken).ConfigureAwait(false) > 0;

    private static DeviceRecord Read(NpgsqlDataReader r) => new()
    {
        DeviceId = r.GetString(0),
        OwnerId = r.GetString(1),
        Name = r.GetString(2),
        TokenHash = r.GetFieldValue<byte[]>(3),
        CreatedAt = Time(r, 4),
        LastSeenAt = NullableTime(r, 5),
        Confirmed = r.GetBoolean(6),
        CheckCode = r.GetString(7),
    };
}
