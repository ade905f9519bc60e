using System.Collections.Concurrent;
using System.Collections.Immutable;
using QrCalling.Codes;

namespace QrCalling.Storage;

/// <summary>In-memory <see cref="ICallerControlStore"/>. Every write, and the code store's deletes, run under the code
/// store's structure lock, so a write never lands on a code being deleted and a delete takes everything of the code.
/// Reads (the scan and call-start path) take no lock: each code's policy and blocks are immutable values swapped whole.</summary>
internal sealed class InMemoryCallerControlStore : ICallerControlStore
{
    private readonly InMemoryCodeStore _codes;
    private readonly ConcurrentDictionary<string, CallPolicy> _policies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ImmutableList<CallerBlock>> _blocks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CallCaller> _callers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, bool>> _callersByCode = new(StringComparer.Ordinal);

    public InMemoryCallerControlStore(InMemoryCodeStore codes)
    {
        _codes = codes;
        codes.Deleted += OnCodeDeleted;
    }

    private Lock Sync => _codes.StructureLock;

    public ValueTask<CallPolicy> GetPolicyAsync(string codeId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new(_policies.GetValueOrDefault(codeId) ?? CallPolicy.None);
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
                _policies.TryRemove(codeId, out _);
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
        var policy = _policies.GetValueOrDefault(codeId) ?? CallPolicy.None;
        var blocked = pseudonyms.Count > 0 && _blocks.TryGetValue(codeId, out var list)
            && list.Any(b => pseudonyms.Any(p => p.AsSpan().SequenceEqual(b.Pseudonym)));
        return new(new CallerAdmission(policy, blocked));
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
            var list = _blocks.GetValueOrDefault(block.CodeId) ?? [];
            var existing = list.FirstOrDefault(b => b.Pseudonym.AsSpan().SequenceEqual(block.Pseudonym));
            if (existing is not null)
            {
                return new(existing);
            }
            var stored = block with { Pseudonym = (byte[])block.Pseudonym.Clone() };
            _blocks[block.CodeId] = list.Add(stored);
            return new(stored);
        }
    }

    public ValueTask<IReadOnlyList<CallerBlock>> ListBlocksAsync(string codeId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<CallerBlock> result = _blocks.TryGetValue(codeId, out var list)
            ? [.. list.OrderByDescending(b => b.CreatedAt).ThenByDescending(b => b.BlockId, StringComparer.Ordinal)]
            : [];
        return new(result);
    }

    public ValueTask<bool> UnblockAsync(string codeId, string blockId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (Sync)
        {
            if (!_blocks.TryGetValue(codeId, out var list) || list.FirstOrDefault(b => b.BlockId == blockId) is not { } found)
            {
                return new(false);
            }
            _blocks[codeId] = list.Remove(found);
            return new(true);
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
                _callersByCode.GetOrAdd(caller.CodeId, static _ => new(StringComparer.Ordinal))[caller.CallId] = true;
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<CallCaller?> FindCallerAsync(string callId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new(_callers.GetValueOrDefault(callId));
    }

    public ValueTask<int> DeleteExpiredCallersAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var deleted = 0;
        foreach (var caller in _callers.Values)
        {
            if (deleted >= maxCount)
            {
                break;
            }
            if (caller.ExpiresAt <= now && _callers.TryRemove(new KeyValuePair<string, CallCaller>(caller.CallId, caller)))
            {
                if (_callersByCode.TryGetValue(caller.CodeId, out var ids))
                {
                    ids.TryRemove(caller.CallId, out _);
                }
                deleted++;
            }
        }
        return new(deleted);
    }

    /// <summary>Called by the code store under its structure lock when a code is deleted.</summary>
    private void OnCodeDeleted(string codeId)
    {
        _policies.TryRemove(codeId, out _);
        _blocks.TryRemove(codeId, out _);
        if (_callersByCode.TryRemove(codeId, out var ids))
        {
            foreach (var callId in ids.Keys)
            {
                _callers.TryRemove(callId, out _);
            }
        }
    }
}
