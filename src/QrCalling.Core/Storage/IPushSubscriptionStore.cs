namespace QrCalling.Storage;

/// <summary>Storage of owners' Web Push subscriptions (one per browser or installed app that asked to be rung while no
/// page is open) and of the server's generated VAPID key pair. Subscriptions are keyed by (owner, endpoint): the same
/// browser subscribing again replaces its keys. They do not expire; a push service answering 404/410 removes them.</summary>
public interface IPushSubscriptionStore
{
    /// <summary>Atomically stores a subscription: when the owner already has one with this endpoint its keys are replaced
    /// (<see cref="PushSubscriptionSaveStatus.Updated"/>, <see cref="PushSubscriptionRecord.CreatedAt"/> kept); otherwise it
    /// is added if the owner has fewer than <paramref name="maxPerOwner"/> subscriptions
    /// (<see cref="PushSubscriptionSaveStatus.Added"/>), else nothing changes
    /// (<see cref="PushSubscriptionSaveStatus.LimitReached"/>). Concurrent saves never leave more than
    /// <paramref name="maxPerOwner"/> subscriptions for one owner.</summary>
    ValueTask<PushSubscriptionSaveStatus> SaveAsync(PushSubscriptionRecord subscription, int maxPerOwner, CancellationToken cancellationToken);

    /// <summary>Removes an owner's subscription with this endpoint; true if one was removed. Another owner's
    /// subscription with the same endpoint is untouched.</summary>
    ValueTask<bool> DeleteAsync(string ownerId, string endpoint, CancellationToken cancellationToken);

    /// <summary>An owner's subscriptions, oldest first.</summary>
    IAsyncEnumerable<PushSubscriptionRecord> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken);

    /// <summary>The server's VAPID key pair: the one stored first wins. Stores <paramref name="candidate"/> if no pair is
    /// stored yet and returns the stored pair (the candidate, or the pair an earlier or concurrent call stored), so
    /// every host instance on this storage signs with the same keys.</summary>
    ValueTask<VapidKeyPair> GetOrAddVapidKeysAsync(VapidKeyPair candidate, CancellationToken cancellationToken);
}

/// <summary>A browser's push subscription for an owner (the <c>PushSubscription</c> the browser gave: endpoint and
/// keys). Holds no caller data.</summary>
public sealed record PushSubscriptionRecord
{
    /// <summary>The owner it rings.</summary>
    public required string OwnerId { get; init; }
    /// <summary>The push service URL to POST to (a capability URL: never log it in full).</summary>
    public required string Endpoint { get; init; }
    /// <summary>The browser's P-256 public key, base64url (no padding) of the 65-byte uncompressed point.</summary>
    public required string P256dh { get; init; }
    /// <summary>The browser's 16-byte authentication secret, base64url (no padding).</summary>
    public required string Auth { get; init; }
    /// <summary>When it was first stored.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>What <see cref="IPushSubscriptionStore.SaveAsync"/> did.</summary>
public enum PushSubscriptionSaveStatus
{
    /// <summary>A new subscription was stored.</summary>
    Added,
    /// <summary>The owner had this endpoint already; its keys were replaced.</summary>
    Updated,
    /// <summary>The owner has the maximum number of subscriptions; nothing changed.</summary>
    LimitReached,
}

/// <summary>A VAPID (RFC 8292) key pair on P-256.</summary>
/// <param name="PublicKey">base64url (no padding) of the 65-byte uncompressed public point.</param>
/// <param name="PrivateKey">base64url (no padding) of the 32-byte private scalar.</param>
public sealed record VapidKeyPair(string PublicKey, string PrivateKey)
{
    /// <summary>Hides the private key from logs and debugger displays.</summary>
    public override string ToString() => $"VapidKeyPair {{ PublicKey = {PublicKey} }}";
}
