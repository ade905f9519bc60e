using QrCalling.Codes;

namespace QrCalling.Storage;

/// <summary>In-memory <see cref="ICallerControlStore"/>. Every write and the code store's deletes run under the code
/// store's structure lock, so a write never lands on a code being deleted and a delete takes everything of the code.</summary>
internal sealed class InMemoryCallerControlStore : ICallerControlStore
{
    private readonly InMemoryCodeStore _codes;
    private readonly Dictionary<string, CallPolicy> _policies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<CallerBlock>> _blocks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CallCaller> _callers = new(StringComparer.Ordinal);

    public InMemoryCallerControlStore(InMemoryCodeStore codes)
    {
        _codes = codes;
        codes.Deleted += OnCodeDeleted;
    }

    private Lock Sync => _codes.StructureLock;

    public ValueTask<CallPolicy> GetPolicyAsync(string codeId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (Sync)
        {
            return new(_policies.GetValueOrDefault(codeId) ?? CallPolicy.None);
        }
    }

    public ValueTask<bool> SetPolicyAsync(string codeId, CallPolicy policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        cancellationToken.ThrowIfCancellationRequested();
        lock (Sync)
        {
            if (!_codes.ExistsUnderLock(codeId))
            {
                return new(false);
            }
            if (policy.IsEmpty)
            {
                _policies.Remove(codeId);
            }
            else
            {
                _policies[codeId] = policy;
            }
            return new(true);
        }
    }

    public ValueTask<CallerAdmission> GetAdmissionAsync(string codeId, IReadOnlyList<byte[]> pseudonyms, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pseudonyms);
        cancellationToken.ThrowIfCancellationRequested();
        lock (Sync)
        {
            var policy = _policies.GetValueOrDefault(codeId) ?? CallPolicy.None;
            var blocked = _blocks.TryGetValue(codeId, out var list)
                && list.Any(b => pseudonyms.Any(p => p.AsSpan().SequenceEqual(b.Pseudonym)));
            return new(new CallerAdmission(policy, blocked));
        }
    }

    public ValueTask<CallerBlock?> BlockAsync(CallerBlock block, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(block);
        cancellationToken.ThrowIfCancellationRequested();
        lock (Sync)
        {
            if (!_codes.ExistsUnderLock(block.CodeId))
            {
                return new((CallerBlock?)null);
            }
            if (!_blocks.TryGetValue(block.CodeId, out var list))
            {
                _blocks[block.CodeId] = list = [];
            }
            var existing = list.FirstOrDefault(b => b.Pseudonym.AsSpan().SequenceEqual(block.Pseudonym));
            if (existing is not null)
            {
                return new(existing);
            }
            var stored = block with { Pseudonym = (byte[])block.Pseudonym.Clone() };
            list.Add(stored);
            return new(stored);
        }
    }

    public ValueTask<IReadOnlyList<CallerBlock>> ListBlocksAsync(string codeId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (Sync)
        {
            IReadOnlyList<CallerBlock> result = _blocks.TryGetValue(codeId, out var list)
                ? [.. list.OrderByDescending(b => b.CreatedAt).ThenByDescending(b => b.BlockId, StringComparer.Ordinal)]
                : [];
            return new(result);
        }
    }

    public ValueTask<bool> UnblockAsync(string codeId, string blockId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (Sync)
        {
            return new(_blocks.TryGetValue(codeId, out var list) && list.RemoveAll(b => b.BlockId == blockId) > 0);
        }
    }

    public ValueTask RecordCallerAsync(CallCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        cancellationToken.ThrowIfCancellationRequested();
        lock (Sync)
        {
            if (_codes.ExistsUnderLock(caller.CodeId))
            {
                _callers[caller.CallId] = caller with { Pseudonym = (byte[])caller.Pseudonym.Clone() };
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<CallCaller?> FindCallerAsync(string callId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (Sync)
        {
            return new(_callers.GetValueOrDefault(callId));
        }
    }

    public ValueTask<int> DeleteExpiredCallersAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (Sync)
        {
            var expired = _callers.Values.Where(c => c.ExpiresAt <= now).Take(maxCount).Select(c => c.CallId).ToList();
            foreach (var id in expired)
            {
                _callers.Remove(id);
            }
            return new(expired.Count);
        }
    }

    /// <summary>Called by the code store under its structure lock when a code is deleted.</summary>
    private void OnCodeDeleted(string codeId)
    {
        _policies.Remove(codeId);
        _blocks.Remove(codeId);
        foreach (var id in _callers.Values.Where(c => c.CodeId == codeId).Select(c => c.CallId).ToList())
        {
            _callers.Remove(id);
        }
    }
}
