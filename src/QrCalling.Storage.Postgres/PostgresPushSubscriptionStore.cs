using Npgsql;
using static QrCalling.Storage.Postgres.PostgresDatabase;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="IPushSubscriptionStore"/> on the <c>push_subscriptions</c> and <c>push_vapid_keys</c> tables.
/// A save takes a transaction-level advisory lock keyed by the owner, so that concurrent saves cannot pass the cap
/// together.</summary>
internal sealed class PostgresPushSubscriptionStore : IPushSubscriptionStore
{
    private const string Columns = "owner_id, endpoint, p256dh, auth, created_at";

    private readonly PostgresDatabase _db;
    private readonly string _save, _delete, _list, _addVapid, _getVapid;

    public PostgresPushSubscriptionStore(PostgresDatabase db)
    {
        _db = db;
        var t = $"{db.Schema}.push_subscriptions";
        var k = $"{db.Schema}.push_vapid_keys";
        // Under the owner's lock: replace the keys of an existing endpoint, or insert while the owner is under the cap.
        // Returns 1 (updated), 0 (added) or 2 (limit reached).
        _save = $"""
            WITH upd AS (
              UPDATE {t} SET p256dh = @p256dh, auth = @auth WHERE owner_id = @owner AND endpoint = @endpoint RETURNING 1),
            ins AS (
              INSERT INTO {t} ({Columns})
              SELECT @owner, @endpoint, @p256dh, @auth, @created
              WHERE NOT EXISTS (SELECT 1 FROM upd) AND (SELECT count(*) FROM {t} WHERE owner_id = @owner) < @max
              RETURNING 1)
            SELECT CASE WHEN EXISTS (SELECT 1 FROM upd) THEN 1 WHEN EXISTS (SELECT 1 FROM ins) THEN 0 ELSE 2 END
            """;
        _delete = $"DELETE FROM {t} WHERE owner_id = @owner AND endpoint = @endpoint";
        _list = $"SELECT {Columns} FROM {t} WHERE owner_id = @owner ORDER BY created_at, endpoint";
        _addVapid = $"INSERT INTO {k} (id, public_key, private_key) VALUES (1, @public, @private) ON CONFLICT (id) DO NOTHING";
        _getVapid = $"SELECT public_key, private_key FROM {k} WHERE id = 1";
    }

    public async ValueTask<PushSubscriptionSaveStatus> SaveAsync(PushSubscriptionRecord subscription, int maxPerOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        try
        {
            await using var connection = await _db.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))", connection, tx))
            {
                lockCommand.Parameters.AddWithValue("key", "qrcalling.push:" + _db.Schema + ":" + subscription.OwnerId);
                await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            int outcome;
            await using (var save = new NpgsqlCommand(_save, connection, tx))
            {
                NpgsqlParameter[] parameters =
                [
                    Param("owner", subscription.OwnerId), Param("endpoint", subscription.Endpoint), Param("p256dh", subscription.P256dh),
                    Param("auth", subscription.Auth), Param("created", subscription.CreatedAt), Param("max", maxPerOwner),
                ];
                save.Parameters.AddRange(parameters);
                outcome = Convert.ToInt32(await save.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            }
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return outcome switch
            {
                0 => PushSubscriptionSaveStatus.Added,
                1 => PushSubscriptionSaveStatus.Updated,
                _ => PushSubscriptionSaveStatus.LimitReached,
            };
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw _db.Unavailable(ex, "push subscription save");
        }
    }

    public async ValueTask<bool> DeleteAsync(string ownerId, string endpoint, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_delete, [Param("owner", ownerId), Param("endpoint", endpoint)], "push subscription delete", cancellationToken)
            .ConfigureAwait(false) > 0;

    public IAsyncEnumerable<PushSubscriptionRecord> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken) =>
        Yield(() => _db.ListAsync(_list, [Param("owner", ownerId)], Read, "push subscription list", cancellationToken));

    public async ValueTask<VapidKeyPair> GetOrAddVapidKeysAsync(VapidKeyPair candidate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        await _db.ExecuteAsync(_addVapid, [Param("public", candidate.PublicKey), Param("private", candidate.PrivateKey)], "vapid keys", cancellationToken)
            .ConfigureAwait(false);
        // A separate statement: it sees the row a concurrent insert committed (ON CONFLICT waited for it).
        return await _db.SingleAsync(_getVapid, [], r => new VapidKeyPair(r.GetString(0), r.GetString(1)), "vapid keys", cancellationToken)
            .ConfigureAwait(false) ?? throw new InvalidOperationException("The VAPID key row is missing after it was inserted.");
    }

    private static PushSubscriptionRecord Read(NpgsqlDataReader r) => new()
    {
        OwnerId = r.GetString(0),
        Endpoint = r.GetString(1),
        P256dh = r.GetString(2),
        Auth = r.GetString(3),
        CreatedAt = r.GetFieldValue<DateTimeOffset>(4),
    };
}
