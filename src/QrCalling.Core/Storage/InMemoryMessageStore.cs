namespace QrCalling.Storage;

/// <summary>In-memory <see cref="IMessageStore"/>: every change runs under one lock, so "one message per call" and the
/// per-owner cap are atomic by construction.</summary>
internal sealed partial class InMemoryMessageStore : IMessageStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, OwnerMessageKey> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StoredMessage> _messages = new(StringComparer.Ordinal); // by message id
    private readonly HashSet<string> _calls = new(StringComparer.Ordinal); // call ids with a stored message

    public ValueTask SetKeyAsync(OwnerMessageKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            _keys[key.OwnerId] = key;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<OwnerMessageKey?> GetKeyAsync(string ownerId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(_keys.GetValueOrDefault(ownerId));
        }
    }

    public ValueTask<MessageAddStatus> TryAddAsync(StoredMessage message, int maxPerOwner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_calls.Contains(message.CallId))
            {
                return ValueTask.FromResult(MessageAddStatus.Exists);
            }
            if (_messages.Values.Count(m => m.OwnerId == message.OwnerId && m.ExpiresAt > now) >= maxPerOwner)
            {
                return ValueTask.FromResult(MessageAddStatus.OwnerFull);
            }
            if (!_messages.TryAdd(message.MessageId, message))
            {
                throw new InvalidOperationException("A message with this id already exists.");
            }
            _calls.Add(message.CallId);
            return ValueTask.FromResult(MessageAddStatus.Added);
        }
    }

    public ValueTask<IReadOnlyList<StoredMessage>> ListByOwnerAsync(string ownerId, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            IReadOnlyList<StoredMessage> list = [.. _messages.Values
                .Where(m => m.OwnerId == ownerId && m.ExpiresAt > now)
                .OrderByDescending(m => m.CreatedAt).ThenByDescending(m => m.MessageId, StringComparer.Ordinal)
                .Take(Math.Max(0, limit))];
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<bool> DeleteAsync(string ownerId, string messageId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_messages.TryGetValue(messageId, out var message) || message.OwnerId != ownerId)
            {
                return ValueTask.FromResult(false);
            }
            Remove(message);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var expired = _messages.Values.Where(m => m.ExpiresAt <= now).Take(Math.Max(0, maxCount)).ToList();
            foreach (var message in expired)
            {
                Remove(message);
            }
            return ValueTask.FromResult(expired.Count);
        }
    }

    private void Remove(StoredMessage message)
    {
        _messages.Remove(message.MessageId);
        _calls.Remove(message.CallId);
    }
}
