using QrCalling.Codes;

namespace QrCalling.Storage;

/// <summary>A blocked caller on one code: only the per-code pseudonym, never the caller key.</summary>
public sealed record CallerBlock
{
    /// <summary>Opaque id the owner unblocks by (<c>b_</c> + 22 base64url characters).</summary>
    public required string BlockId { get; init; }
    /// <summary>The code the caller is blocked on.</summary>
    public required string CodeId { get; init; }
    /// <summary>The caller's pseudonym on this code (32 bytes).</summary>
    public required byte[] Pseudonym { get; init; }
    /// <summary>When the owner blocked the caller.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>Which caller (as a per-code pseudonym) started a call, kept so the owner can block "the caller of this
/// call" later.</summary>
public sealed record CallCaller
{
    /// <summary>The call.</summary>
    public required string CallId { get; init; }
    /// <summary>The code it was started from.</summary>
    public required string CodeId { get; init; }
    /// <summary>The caller's pseudonym on that code (32 bytes).</summary>
    public required byte[] Pseudonym { get; init; }
    /// <summary>When the record may be deleted (the call's history retention).</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>What a call start or scan needs to know about a code's callers, read at once.</summary>
/// <param name="Policy">The code's policy (<see cref="CallPolicy.None"/> when none is stored).</param>
/// <param name="Blocked">True when one of the asked pseudonyms is blocked on the code.</param>
public readonly record struct CallerAdmission(CallPolicy Policy, bool Blocked);

/// <summary>Storage of the owner's controls over who may call a code and when: its <see cref="CallPolicy"/>, its blocked
/// callers and which pseudonym started which call. Everything here belongs to one code and is deleted with it: when a
/// code is deleted (by its owner or by the sweep of stale codes) its policy, blocks and caller records go in the same
/// atomic step, and a write for a code that does not exist (any more) stores nothing.</summary>
public interface ICallerControlStore
{
    /// <summary>The code's policy; <see cref="CallPolicy.None"/> when none is stored.</summary>
    ValueTask<CallPolicy> GetPolicyAsync(string codeId, CancellationToken cancellationToken);

    /// <summary>Replaces the code's policy (an empty policy removes it). False, storing nothing, when the code does not
    /// exist.</summary>
    ValueTask<bool> SetPolicyAsync(string codeId, CallPolicy policy, CancellationToken cancellationToken);

    /// <summary>In one read: the code's policy and whether any of <paramref name="pseudonyms"/> is blocked on it (an empty
    /// list asks only for the policy).</summary>
    ValueTask<CallerAdmission> GetAdmissionAsync(string codeId, IReadOnlyList<byte[]> pseudonyms, CancellationToken cancellationToken);

    /// <summary>Atomically blocks a pseudonym on a code unless it is blocked already, and returns the block in force (the
    /// new one, or the existing one with its id and date): of N concurrent blocks of one caller, one block results. Null
    /// when the code does not exist.</summary>
    ValueTask<CallerBlock?> BlockAsync(CallerBlock block, CancellationToken cancellationToken);

    /// <summary>The code's blocks, newest first.</summary>
    ValueTask<IReadOnlyList<CallerBlock>> ListBlocksAsync(string codeId, CancellationToken cancellationToken);

    /// <summary>Removes one block of the code; false when the code has no block with this id.</summary>
    ValueTask<bool> UnblockAsync(string codeId, string blockId, CancellationToken cancellationToken);

    /// <summary>Records which pseudonym started a call (nothing when the code does not exist any more).</summary>
    ValueTask RecordCallerAsync(CallCaller caller, CancellationToken cancellationToken);

    /// <summary>The caller record of a call; null when none (no caller key was sent, or it expired or went with its
    /// code).</summary>
    ValueTask<CallCaller?> FindCallerAsync(string callId, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="maxCount"/> caller records that expired at or before <paramref name="now"/>;
    /// returns how many.</summary>
    ValueTask<int> DeleteExpiredCallersAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken);
}
