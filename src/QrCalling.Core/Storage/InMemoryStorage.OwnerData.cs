namespace QrCalling.Storage;

public sealed partial class InMemoryStorage : IOwnerDataStore
{
    /// <inheritdoc />
    public async ValueTask<OwnerDataErasure> EraseOwnerAsync(string ownerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        var delegates = await Delegates.EraseAccountAsync(ownerId, cancellationToken).ConfigureAwait(false);
        var codes = 0;
        var codeIds = new List<string>();
        await foreach (var code in Codes.ListByOwnerAsync(ownerId, cancellationToken).ConfigureAwait(false))
        {
            codeIds.Add(code.Id);
        }
        foreach (var codeId in codeIds)
        {
            codes += await Codes.DeleteAsync(ownerId, codeId, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }
        var endpoints = new List<string>();
        await foreach (var subscription in PushSubscriptions.ListByOwnerAsync(ownerId, cancellationToken).ConfigureAwait(false))
        {
            endpoints.Add(subscription.Endpoint);
        }
        var push = 0;
        foreach (var endpoint in endpoints)
        {
            push += await PushSubscriptions.DeleteAsync(ownerId, endpoint, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }
        var calls = ((InMemoryCallStore)Calls).EraseOwner(ownerId);
        var messages = ((InMemoryMessageStore)Messages).EraseOwner(ownerId);
        var devices = ((InMemoryDeviceStore)Devices).EraseOwner(ownerId);
        var backups = ((InMemoryBackupStore)Backups).EraseOwner(ownerId);
        return new OwnerDataErasure(codes, calls, push, messages) { Devices = devices, Backups = backups, Delegates = delegates };
    }
}
