using Npgsql;
using static QrCalling.Storage.Postgres.PostgresDatabase;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="IBackupStore"/> on the <c>backups</c> (bytea) and <c>backup_heads</c> tables. An upload is one
/// statement: the owner's head row gives the next version (its row lock orders concurrent uploads), the bytes are
/// inserted and versions beyond the latest N deleted, all or nothing.</summary>
internal sealed class PostgresBackupStore : IBackupStore
{
    private readonly PostgresDatabase _db;
    private readonly string _add, _list, _get, _getLatest, _delete, _deleteExpired;

    public PostgresBackupStore(PostgresDatabase db)
    {
        _db = db;
        var b = $"{db.Schema}.backups";
        var h = $"{db.Schema}.backup_heads";
        _add = $"""
            WITH head AS (
              INSERT INTO {h} AS h (owner_id, last_version) VALUES (@owner, 1)
              ON CONFLICT (owner_id) DO UPDATE SET last_version = h.last_version + 1 RETURNING last_version),
            ins AS (
              INSERT INTO {b} (owner_id, version, content, size, created_at, expires_at)
              SELECT @owner, last_version, @content, @size, @created, @expires FROM head RETURNING version),
            del AS (DELETE FROM {b} WHERE owner_id = @owner AND version <= (SELECT version FROM ins) - @keep RETURNING 1)
            SELECT version FROM ins
            """;
        _list = $"SELECT version, size, created_at, expires_at FROM {b} WHERE owner_id = @owner AND expires_at > @now ORDER BY version DESC";
        _get = $"SELECT version, size, created_at, expires_at, content FROM {b} WHERE owner_id = @owner AND version = @version AND expires_at > @now";
        _getLatest = $"SELECT version, size, created_at, expires_at, content FROM {b} WHERE owner_id = @owner AND expires_at > @now ORDER BY version DESC LIMIT 1";
        _delete = $"DELETE FROM {b} WHERE owner_id = @owner AND version = @version";
        _deleteExpired = $"DELETE FROM {b} WHERE (owner_id, version) IN (SELECT owner_id, version FROM {b} WHERE expires_at <= @now LIMIT @max)";
    }

    public async ValueTask<BackupVersion> AddAsync(string ownerId, ReadOnlyMemory<byte> content, int keepVersions, DateTimeOffset now, DateTimeOffset expiresAt,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        var version = await _db.ScalarAsync(_add,
            [Param("owner", ownerId), new NpgsqlParameter<ReadOnlyMemory<byte>>("content", NpgsqlTypes.NpgsqlDbType.Bytea) { TypedValue = content },
             LongParam("size", content.Length), Param("created", now), Param("expires", expiresAt), Param("keep", keepVersions)],
            "backup add", cancellationToken).ConfigureAwait(false);
        return new BackupVersion
        {
            OwnerId = ownerId, Version = Convert.ToInt64(version, System.Globalization.CultureInfo.InvariantCulture), Size = content.Length,
            CreatedAt = now, ExpiresAt = expiresAt,
        };
    }

    public async ValueTask<IReadOnlyList<BackupVersion>> ListAsync(string ownerId, DateTimeOffset now, CancellationToken cancellationToken) =>
        await _db.ListAsync(_list, [Param("owner", ownerId), Param("now", now)], r => ReadVersion(ownerId, r), "backup list", cancellationToken)
            .ConfigureAwait(false);

    public async ValueTask<BackupContent?> GetAsync(string ownerId, long? version, DateTimeOffset now, CancellationToken cancellationToken) =>
        version is { } v
            ? await _db.SingleAsync(_get, [Param("owner", ownerId), LongParam("version", v), Param("now", now)], r => ReadContent(ownerId, r), "backup get",
                cancellationToken).ConfigureAwait(false)
            : await _db.SingleAsync(_getLatest, [Param("owner", ownerId), Param("now", now)], r => ReadContent(ownerId, r), "backup get",
                cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> DeleteAsync(string ownerId, long version, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_delete, [Param("owner", ownerId), LongParam("version", version)], "backup delete", cancellationToken).ConfigureAwait(false) > 0;

    public async ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_deleteExpired, [Param("now", now), Param("max", maxCount)], "backup sweep", cancellationToken).ConfigureAwait(false);

    private static BackupVersion ReadVersion(string ownerId, NpgsqlDataReader r) => new()
    {
        OwnerId = ownerId, Version = r.GetInt64(0), Size = r.GetInt64(1), CreatedAt = Time(r, 2), ExpiresAt = Time(r, 3),
    };

    private static BackupContent ReadContent(string ownerId, NpgsqlDataReader r) => new(ReadVersion(ownerId, r), r.GetFieldValue<byte[]>(4));
}
