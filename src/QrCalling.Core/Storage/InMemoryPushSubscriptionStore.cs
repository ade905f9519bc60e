using System.Runtime.CompilerServices;

namespace QrCalling.Storage;

/// <summary><see cref="IPushSubscriptionStore"/> in memory: one lock over every owner's list.</summary>
internal sealed class InMemoryPushSubscriptionStore : IPushSubscriptionStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<PushSubscriptionRecord>> _byOwner = new(StringComparer.Ordinal);
    private VapidKeyPair? _vapid;

    public ValueTask<PushSubscriptionSaveStatus> SaveAsync(PushSubscriptionRecord subscription, int maxPerOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        lock (_lock)
        {
            if (!_byOwner.TryGetValue(subscription.OwnerId, out var list))
            {
                _byOwner[subscription.OwnerId] = list = [];
            }
            var index = list.FindIndex(s => string.Equals(s.Endpoint, subscription.Endpoint, StringComparison.Ordinal));
            if (index >= 0)
            {
                list[index] = list[index] with { P256dh = subscription.P256dh, Auth = subscription.Auth };
                return ValueTask.FromResult(PushSubscriptionSaveStatus.Updated);
            }
            if (list.Count >= maxPerOwner)
            {
                if (list.Count == 0)
                {
                    _byOwner.Remove(subscription.OwnerId);
                }
                return ValueTask.FromResult(PushSubscriptionSaveStatus.LimitReached);
            }
            list.Add(subscription);
            return ValueTask.FromResult(PushSubscriptionSaveStatus.Added);
        }
    }

    public ValueTask<bool> DeleteAsync(string ownerId, string endpoint, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_byOwner.TryGetValue(ownerId, out var list))
            {
                return ValueTask.FromResult(false);
            }
            var removed = list.RemoveAll(s => string.Equals(s.Endpoint, endpoint, StringComparison.Ordinal)) > 0;
            if (list.Count == 0)
            {
                _byOwner.Remove(ownerId);
            }
            return ValueTask.FromResult(removed);
        }
    }

    public async IAsyncEnumerable<PushSubscriptionRecord> ListByOwnerAsync(string ownerId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        PushSubscriptionRecord[] copy;
        lock (_lock)
        {
            copy = _byOwner.TryGetValue(ownerId, out var list) ? [.. list] : [];
        }
        foreach (var subscription in copy.OrderBy(s => s.CreatedAt))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return subscription;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public ValueTask<VapidKeyPair> GetOrAddVapidKeysAsync(VapidKeyPair candidate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        return ValueTask.FromResult(Interlocked.CompareExchange(ref _vapid, candidate, null) ?? candidate);
    }
}
