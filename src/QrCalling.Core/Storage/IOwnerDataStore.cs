namespace QrCalling.Storage;

/// <summary>Erasing everything QrCalling keeps for one owner, for a host that deletes an owner's account. The storages
/// that ship with QrCalling (in-memory, PostgreSQL, Redis) implement it next to <see cref="IStorage"/>: a host gets it
/// with <c>storage as IOwnerDataStore</c>.</summary>
public interface IOwnerDataStore
{
    /// <summary>Deletes every code of <paramref name="ownerId"/> (their key hashes too, so their tokens find nothing),
    /// every call in the owner's history with its mailbox, the owner's push subscriptions, message key and left messages,
    /// paired devices (with pending pairings), backups, and delegates both ways (of the owner's codes, and the owner's
    /// delegations on other owners' codes) with the owner's pending delegate invitations.
    /// Other owners' data is untouched. Idempotent: erasing an owner with nothing stored returns zeros. Open calls are
    /// deleted like the others without being ended: a host that wants them ended (and their callers told) ends them first
    /// (deleting the codes through <c>CodeService.DeleteAsync</c> does that).</summary>
    ValueTask<OwnerDataErasure> EraseOwnerAsync(string ownerId, CancellationToken cancellationToken);
}

/// <summary>What <see cref="IOwnerDataStore.EraseOwnerAsync"/> deleted.</summary>
/// <param name="Codes">Codes deleted.</param>
/// <param name="Calls">Calls deleted (with their mailboxes).</param>
/// <param name="PushSubscriptions">Push subscriptions deleted.</param>
/// <param name="Messages">Left messages deleted.</param>
public readonly record struct OwnerDataErasure(int Codes, int Calls, int PushSubscriptions, int Messages)
{
    /// <summary>Paired devices deleted.</summary>
    public int Devices { get; init; }

    /// <summary>Backup versions deleted.</summary>
    public int Backups { get; init; }

    /// <summary>Delegates deleted, both ways: the delegates of the owner's codes and the owner's own delegations on
    /// other owners' codes.</summary>
    public int Delegates { get; init; }
}
