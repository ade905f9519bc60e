using System.Security.Cryptography;
using System.Text.Json;

namespace QrCalling.SampleHost.Accounts;

/// <summary>An owner account of the sample host: an opaque id, a user name and a password hash, and the account's
/// security state. No personal data: the display name is a name of the owner's choosing, shown only to them.</summary>
/// <param name="Id">The owner id used by QrCalling (the NameIdentifier claim).</param>
/// <param name="UserName">The name the owner signs in with.</param>
/// <param name="PasswordHash">ASP.NET Core Identity's PasswordHasher output.</param>
public sealed record SampleAccount(string Id, string UserName, string PasswordHash)
{
    /// <summary>How the web app greets the owner (0 to 64 characters); null when not set.</summary>
    public string? DisplayName { get; init; }

    /// <summary>When the account was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The security stamp: every access and refresh token carries the generation it was issued at, and stops
    /// working once this moves on (password change, sign-out everywhere, MFA turned on or off).</summary>
    public long Generation { get; init; }

    /// <summary>The stored version, for compare-and-set updates (<see cref="IAccountStore.TryUpdateAsync"/>).</summary>
    public long Version { get; init; }

    /// <summary>The TOTP secret (base32) once MFA is on; null while it is off.</summary>
    public string? TotpSecret { get; init; }

    /// <summary>A secret handed out by enrolment and not confirmed yet.</summary>
    public string? PendingTotpSecret { get; init; }

    /// <summary>The last TOTP step used to sign in or confirm (a code is good once).</summary>
    public long TotpLastStep { get; init; }

    /// <summary>SHA-256 hashes (hex) of the unused recovery codes.</summary>
    public IReadOnlyList<string> RecoveryCodeHashes { get; init; } = [];

    /// <summary>True when signing in needs a second factor.</summary>
    public bool MfaEnabled => TotpSecret is not null;

    /// <summary>The security fields as one JSON document (how the PostgreSQL and Redis stores keep them).</summary>
    internal string StateJson() => JsonSerializer.Serialize(new AccountState(DisplayName, CreatedAt, Generation, TotpSecret,
        PendingTotpSecret, TotpLastStep, [.. RecoveryCodeHashes]), AccountStateJson.Default.AccountState);

    /// <summary>An account from its stored columns and its state JSON (null or empty for an account made before it).</summary>
    internal static SampleAccount FromStored(string id, string userName, string passwordHash, long version, string? stateJson)
    {
        var account = new SampleAccount(id, userName, passwordHash) { Version = version };
        if (string.IsNullOrEmpty(stateJson))
        {
            return account;
        }
        var state = JsonSerializer.Deserialize(stateJson, AccountStateJson.Default.AccountState)!;
        return account with
        {
            DisplayName = state.DisplayName,
            CreatedAt = state.CreatedAt,
            Generation = state.Generation,
            TotpSecret = state.TotpSecret,
            PendingTotpSecret = state.PendingTotpSecret,
            TotpLastStep = state.TotpLastStep,
            RecoveryCodeHashes = state.RecoveryCodeHashes ?? [],
        };
    }
}

internal sealed record AccountState(string? DisplayName, DateTimeOffset CreatedAt, long Generation, string? TotpSecret,
    string? PendingTotpSecret, long TotpLastStep, string[]? RecoveryCodeHashes);

[System.Text.Json.Serialization.JsonSerializable(typeof(AccountState))]
internal sealed partial class AccountStateJson : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>A refresh token family: one sign-in's chain of refresh tokens. Only the newest token of the chain works;
/// each use replaces it (rotation), and showing an older one again means it was copied, so the family is revoked.</summary>
/// <param name="FamilyId">Random id, the first part of every token of the family.</param>
/// <param name="AccountId">The owner.</param>
/// <param name="TokenHash">SHA-256 (hex) of the current token.</param>
/// <param name="Generation">The account generation at sign-in (the family dies with it).</param>
/// <param name="ExpiresAt">When the current token stops working.</param>
public sealed record RefreshFamily(string FamilyId, string AccountId, string TokenHash, long Generation, DateTimeOffset ExpiresAt);

/// <summary>One entry of an account's security audit log. No IP address or name in clear.</summary>
/// <param name="At">When.</param>
/// <param name="Kind">What: login_failed, mfa_failed, recovery_code_used, password_changed, signed_out_everywhere,
/// mfa_enabled, mfa_disabled, refresh_reused.</param>
/// <param name="Client">A keyed hash (HMAC-SHA256 with a server key, 16 hex characters) of the client's address, so the
/// owner can tell whether attempts came from one place or many without anyone learning the address.</param>
public sealed record AuditEntry(DateTimeOffset At, string Kind, string Client);

/// <summary>Where the sample keeps its owner accounts, their refresh token families and their audit logs. Every
/// operation is atomic in each store.</summary>
public interface IAccountStore
{
    /// <summary>Adds an account; false when the user name (compared case-insensitively) is taken.</summary>
    ValueTask<bool> TryAddAsync(SampleAccount account, CancellationToken cancellationToken);

    /// <summary>Finds an account by user name (case-insensitively).</summary>
    ValueTask<SampleAccount?> FindAsync(string userName, CancellationToken cancellationToken);

    /// <summary>Finds an account by id.</summary>
    ValueTask<SampleAccount?> FindByIdAsync(string id, CancellationToken cancellationToken);

    /// <summary>Compare-and-set: stores <paramref name="account"/> (every field but id and user name) with
    /// <see cref="SampleAccount.Version"/> + 1 if the stored version still equals <see cref="SampleAccount.Version"/>;
    /// false (and no change) if the account was changed meanwhile or is gone.</summary>
    ValueTask<bool> TryUpdateAsync(SampleAccount account, CancellationToken cancellationToken);

    /// <summary>Deletes an account with its refresh token families and audit log, and leaves a tombstone (the SHA-256 of
    /// the id, never the id) for at least <see cref="AccountTombstone.Lifetime"/>, so that its unexpired access tokens are
    /// refused; false if there was no account.</summary>
    ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>True when an account with this id was deleted (its tombstone is there).</summary>
    ValueTask<bool> IsDeletedAsync(string id, CancellationToken cancellationToken);

    /// <summary>Stores a new refresh token family.</summary>
    ValueTask AddRefreshFamilyAsync(RefreshFamily family, CancellationToken cancellationToken);

    /// <summary>Finds a refresh token family; null if none (or revoked).</summary>
    ValueTask<RefreshFamily?> FindRefreshFamilyAsync(string familyId, CancellationToken cancellationToken);

    /// <summary>Atomically replaces the family's current token: true if its hash was <paramref name="expectedHash"/>
    /// (then it becomes <paramref name="newHash"/>, valid until <paramref name="expiresAt"/>); false otherwise. Of two
    /// concurrent rotations with the same token, one wins.</summary>
    ValueTask<bool> TryRotateRefreshAsync(string familyId, string expectedHash, string newHash, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Revokes (deletes) a refresh token family.</summary>
    ValueTask DeleteRefreshFamilyAsync(string familyId, CancellationToken cancellationToken);

    /// <summary>Appends to an account's audit log, keeping the newest <paramref name="keep"/> entries.</summary>
    ValueTask AddAuditAsync(string accountId, AuditEntry entry, int keep, CancellationToken cancellationToken);

    /// <summary>An account's audit log, newest first, at most <paramref name="limit"/> entries.</summary>
    ValueTask<IReadOnlyList<AuditEntry>> ListAuditAsync(string accountId, int limit, CancellationToken cancellationToken);
}

/// <summary>The mark a deleted account leaves: the SHA-256 (hex) of its id, kept while its access tokens could still be
/// presented. It names nobody: the id is random and the hash cannot be turned back into it.</summary>
public static class AccountTombstone
{
    /// <summary>How long a tombstone is kept at least (longer than an access token lives).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(2);

    /// <summary>The tombstone of an id.</summary>
    public static string Of(string id) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id)));
}

/// <summary>Accounts kept in process memory, with <c>QrCalling:Storage=memory</c> (PostgreSQL and Redis have their own
/// stores). Accounts are the host's business, not QrCalling's: a real host keeps them in its own user database.</summary>
public sealed class InMemoryAccountStore : IAccountStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SampleAccount> _accounts = new(StringComparer.OrdinalIgnoreCase); // by user name
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal); // id -> user name
    private readonly Dictionary<string, RefreshFamily> _families = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<AuditEntry>> _audit = new(StringComparer.Ordinal);
    private readonly HashSet<string> _tombstones = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public ValueTask<bool> TryAddAsync(SampleAccount account, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_names.ContainsKey(account.Id) || !_accounts.TryAdd(account.UserName, account))
            {
                return ValueTask.FromResult(false);
            }
            _names[account.Id] = account.UserName;
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask<SampleAccount?> FindAsync(string userName, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_accounts.GetValueOrDefault(userName));
        }
    }

    /// <inheritdoc />
    public ValueTask<SampleAccount?> FindByIdAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_names.TryGetValue(id, out var name) ? _accounts.GetValueOrDefault(name) : null);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> TryUpdateAsync(SampleAccount account, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_names.TryGetValue(account.Id, out var name) || _accounts[name].Version != account.Version)
            {
                return ValueTask.FromResult(false);
            }
            _accounts[name] = account with { UserName = _accounts[name].UserName, Version = account.Version + 1 };
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_names.Remove(id, out var name))
            {
                return ValueTask.FromResult(false);
            }
            _accounts.Remove(name);
            _audit.Remove(id);
            _tombstones.Add(AccountTombstone.Of(id));
            foreach (var family in _families.Values.Where(f => f.AccountId == id).ToList())
            {
                _families.Remove(family.FamilyId);
            }
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> IsDeletedAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_tombstones.Contains(AccountTombstone.Of(id)));
        }
    }

    /// <inheritdoc />
    public ValueTask AddRefreshFamilyAsync(RefreshFamily family, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _families[family.FamilyId] = family;
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<RefreshFamily?> FindRefreshFamilyAsync(string familyId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_families.GetValueOrDefault(familyId));
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> TryRotateRefreshAsync(string familyId, string expectedHash, string newHash, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_families.TryGetValue(familyId, out var family) || family.TokenHash != expectedHash)
            {
                return ValueTask.FromResult(false);
            }
            _families[familyId] = family with { TokenHash = newHash, ExpiresAt = expiresAt };
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask DeleteRefreshFamilyAsync(string familyId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _families.Remove(familyId);
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask AddAuditAsync(string accountId, AuditEntry entry, int keep, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_audit.TryGetValue(accountId, out var log))
            {
                _audit[accountId] = log = [];
            }
            log.Insert(0, entry);
            if (log.Count > keep)
            {
                log.RemoveRange(keep, log.Count - keep);
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AuditEntry>> ListAuditAsync(string accountId, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<AuditEntry> list = _audit.TryGetValue(accountId, out var log) ? [.. log.Take(limit)] : [];
            return ValueTask.FromResult(list);
        }
    }

    /// <summary>A fresh random owner id: "u_" and 16 random bytes in hex.</summary>
    public static string NewId() => "u_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
