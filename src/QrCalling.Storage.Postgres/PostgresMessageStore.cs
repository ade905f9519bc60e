using Npgsql;
using static QrCalling.Storage.Postgres.PostgresDatabase;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="IMessageStore"/> on the <c>message_keys</c> and <c>messages</c> tables (migration 0005). An add is
/// one batch, one round trip: a transaction-level advisory lock per owner, then one statement that checks "no message
/// for this call" and "fewer than the cap" on a snapshot taken after the lock, and inserts.</summary>
internal sealed class PostgresMessageStore : IMessageStore
{
    private const string Columns = "message_id, owner_id, call_id, code_id, label, key_id, ephemeral_public_key, iv, ciphertext, created_at, expires_at";

    private readonly PostgresDatabase _db;
    private readonly string _setKey, _getKey, _add, _list, _delete, _deleteExpired;

    public PostgresMessageStore(PostgresDatabase db)
    {
        _db = db;
        var keys = $"{db.Schema}.message_keys";
        var t = $"{db.Schema}.messages";
        _setKey = $"""
            INSERT INTO {keys} (owner_id, public_key, key_id, updated_at) VALUES (@owner, @key, @keyid, @at)
            ON CONFLICT (owner_id) DO UPDATE SET public_key = excluded.public_key, key_id = excluded.key_id, updated_at = excluded.updated_at
            """;
        _getKey = $"SELECT owner_id, public_key, key_id, updated_at FROM {keys} WHERE owner_id = @owner";
        // 0 added, 1 a message for this call exists, 2 the owner is at the cap.
        _add = $"""
            WITH existing AS (SELECT 1 FROM {t} WHERE call_id = @call),
                 counted AS (SELECT count(*) AS n FROM {t} WHERE owner_id = @owner AND expires_at > @now),
                 ins AS (
                   INSERT INTO {t} ({Columns})
                   SELECT @id, @owner, @call, @code, @label, @keyid, @epk, @iv, @ct, @created, @expires
                   WHERE NOT EXISTS (SELECT 1 FROM existing) AND (SELECT n FROM counted) < @max
                   ON CONFLICT (call_id) DO NOTHING
                   RETURNING 1)
            SELECT CASE WHEN EXISTS (SELECT 1 FROM ins) THEN 0 WHEN EXISTS (SELECT 1 FROM existing) THEN 1 ELSE 2 END
            """;
        _list = $"SELECT {Columns} FROM {t} WHERE owner_id = @owner AND expires_at > @now ORDER BY created_at DESC, message_id DESC LIMIT @n";
        _delete = $"DELETE FROM {t} WHERE message_id = @id AND owner_id = @owner";
        _deleteExpired = $"DELETE FROM {t} WHERE message_id IN (SELECT message_id FROM {t} WHERE expires_at <= @now LIMIT @n)";
    }

    public async ValueTask SetKeyAsync(OwnerMessageKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await _db.ExecuteAsync(_setKey,
            [Param("owner", key.OwnerId), Param("key", key.PublicKey), Param("keyid", key.KeyId), Param("at", key.UpdatedAt)],
            "message key set", cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<OwnerMessageKey?> GetKeyAsync(string ownerId, CancellationToken cancellationToken) =>
        _db.SingleAsync(_getKey, [Param("owner", ownerId)], r => new OwnerMessageKey
        {
            OwnerId = r.GetString(0),
            PublicKey = r.GetString(1),
            KeyId = r.GetString(2),
            UpdatedAt = Time(r, 3),
        }, "message key get", cancellationToken);

    public async ValueTask<MessageAddStatus> TryAddAsync(StoredMessage message, int maxPerOwner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        try
        {
            // The two statements of a batch run in one implicit transaction: the lock holds until the insert commits,
            // and the insert's snapshot is taken after the lock, so it sees every add that held the lock before it.
            await using var batch = _db.DataSource.CreateBatch();
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock(hashtextextended(@k, 0))")
            {
                Parameters = { Param("k", "qrcalling.messages:" + message.OwnerId) },
            });
            batch.BatchCommands.Add(new NpgsqlBatchCommand(_add)
            {
                Parameters =
                {
                    Param("id", message.MessageId), Param("owner", message.OwnerId), Param("call", message.CallId), Param("code", message.CodeId),
                    Param("label", message.Label), Param("keyid", message.KeyId), Param("epk", message.EphemeralPublicKey), Param("iv", message.Iv),
                    Param("ct", message.Ciphertext), Param("created", message.CreatedAt), Param("expires", message.ExpiresAt),
                    Param("now", now), Param("max", maxPerOwner),
                },
            });
            batch.Timeout = _db.CommandTimeoutSeconds;
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return reader.GetInt32(0) switch
            {
                0 => MessageAddStatus.Added,
                1 => MessageAddStatus.Exists,
                _ => MessageAddStatus.OwnerFull,
            };
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw _db.Unavailable(ex, "message add");
        }
    }

    public async ValueTask<IReadOnlyList<StoredMessage>> ListByOwnerAsync(string ownerId, DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        limit <= 0
            ? []
            : await _db.ListAsync(_list, [Param("owner", ownerId), Param("now", now), Param("n", limit)], Read, "message list", cancellationToken)
                .ConfigureAwait(false);

    public async ValueTask<bool> DeleteAsync(string ownerId, string messageId, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_delete, [Param("id", messageId), Param("owner", ownerId)], "message delete", cancellationToken).ConfigureAwait(false) == 1;

    public ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken) =>
        maxCount <= 0
            ? ValueTask.FromResult(0)
            : _db.ExecuteAsync(_deleteExpired, [Param("now", now), Param("n", maxCount)], "message sweep", cancellationToken);

    private static StoredMessage Read(NpgsqlDataReader r) => new()
    {
        MessageId = r.GetString(0),
        OwnerId = r.GetString(1),
        CallId = r.GetString(2),
        CodeId = r.GetString(3),
        Label = r.GetString(4),
        KeyId = r.GetString(5),
        EphemeralPublicKey = r.GetString(6),
        Iv = r.GetString(7),
        Ciphertext = r.GetString(8),
        CreatedAt = Time(r, 9),
        ExpiresAt = Time(r, 10),
    };
}
