using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Identity;

namespace QrCalling.SampleHost.Accounts;

/// <summary>What a second-factor check found.</summary>
public enum SecondFactorResult
{
    /// <summary>A TOTP code of a step not used before, now recorded as used.</summary>
    Totp,
    /// <summary>An unused recovery code, now spent.</summary>
    RecoveryCode,
    /// <summary>Neither.</summary>
    Invalid,
    /// <summary>Too many wrong codes lately: not even checked.</summary>
    Locked,
}

/// <summary>The sample's account security: compare-and-set updates, second factors (TOTP and recovery codes),
/// refresh token families, and the audit log. Time comes from <see cref="TimeProvider"/>.</summary>
public sealed partial class AccountSecurity(IAccountStore store, SampleTokenIssuer issuer, IPasswordHasher<SampleAccount> hasher,
    TimeProvider time, ILogger<AccountSecurity> logger)
{
    /// <summary>How long a refresh token lasts (each use gives a new one for as long again).</summary>
    public static readonly TimeSpan RefreshLifetime = TimeSpan.FromDays(30);

    /// <summary>Wrong second-factor codes allowed per account within <see cref="MfaWindow"/> before it is locked for
    /// the rest of the window.</summary>
    public const int MfaFailuresAllowed = 5;

    /// <summary>The window of <see cref="MfaFailuresAllowed"/>.</summary>
    public static readonly TimeSpan MfaWindow = TimeSpan.FromMinutes(10);

    /// <summary>How many audit entries an account keeps.</summary>
    public const int AuditKept = 100;

    /// <summary>How many recovery codes enrolment makes.</summary>
    public const int RecoveryCodeCount = 8;

    /// <summary>The issuer name shown in authenticator apps.</summary>
    public const string TotpIssuer = "QrCalling";

    /// <summary>The store.</summary>
    public IAccountStore Store => store;

    /// <summary>Now.</summary>
    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>Applies <paramref name="change"/> with compare-and-set, re-reading and retrying when the account changed
    /// meanwhile. <paramref name="change"/> returns null to change nothing. Returns the stored account (null if it is gone
    /// or nothing changed) and the account <paramref name="change"/> last saw.</summary>
    public async ValueTask<(SampleAccount? Updated, SampleAccount? Seen)> UpdateAsync(string accountId, Func<SampleAccount, SampleAccount?> change,
        CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var current = await store.FindByIdAsync(accountId, cancellationToken);
            if (current is null)
            {
                return (null, null);
            }
            if (change(current) is not { } next)
            {
                return (null, current);
            }
            if (await store.TryUpdateAsync(next with { Version = current.Version }, cancellationToken))
            {
                return (next with { Version = current.Version + 1 }, current);
            }
        }
        throw new InvalidOperationException("The account kept changing.");
    }

    /// <summary>True when the password is the account's.</summary>
    public bool PasswordMatches(SampleAccount account, string? password) =>
        password is { Length: > 0 and <= 128 } && hasher.VerifyHashedPassword(account, account.PasswordHash, password) != PasswordVerificationResult.Failed;

    /// <summary>Checks a second factor: a TOTP code (6 digits, this step or one either side, never one already used) or
    /// a recovery code. A wrong code is audited as <c>mfa_failed</c>; after <see cref="MfaFailuresAllowed"/> of them in
    /// <see cref="MfaWindow"/> nothing is checked until the window passes.</summary>
    public async ValueTask<SecondFactorResult> CheckSecondFactorAsync(SampleAccount account, string? code, HttpContext http, CancellationToken cancellationToken)
    {
        if (account.TotpSecret is null)
        {
            return SecondFactorResult.Invalid;
        }
        var now = Now;
        var recent = await store.ListAuditAsync(account.Id, AuditKept, cancellationToken);
        if (recent.Count(e => e.Kind == "mfa_failed" && e.At > now - MfaWindow) >= MfaFailuresAllowed)
        {
            Log.MfaLocked(logger);
            return SecondFactorResult.Locked;
        }
        var normalized = (code ?? "").Trim().Replace(" ", "", StringComparison.Ordinal);
        var result = SecondFactorResult.Invalid;
        if (normalized.Length == Totp.Digits)
        {
            var (updated, _) = await UpdateAsync(account.Id, a => a.TotpSecret is { } secret && Totp.Verify(secret, normalized, now, a.TotpLastStep) is { } step
                ? a with { TotpLastStep = step } : null, cancellationToken);
            result = updated is null ? SecondFactorResult.Invalid : SecondFactorResult.Totp;
        }
        else if (normalized.Length is > 6 and <= 32)
        {
            var hash = RecoveryHash(normalized);
            var (updated, _) = await UpdateAsync(account.Id, a => a.RecoveryCodeHashes.Contains(hash)
                ? a with { RecoveryCodeHashes = [.. a.RecoveryCodeHashes.Where(h => h != hash)] } : null, cancellationToken);
            result = updated is null ? SecondFactorResult.Invalid : SecondFactorResult.RecoveryCode;
        }
        if (result == SecondFactorResult.Invalid)
        {
            Log.MfaFailed(logger);
            await AuditAsync(account.Id, "mfa_failed", http, cancellationToken);
        }
        else if (result == SecondFactorResult.RecoveryCode)
        {
            await AuditAsync(account.Id, "recovery_code_used", http, cancellationToken);
        }
        return result;
    }

    /// <summary>Signs in: a fresh access token and a new refresh token family.</summary>
    public async ValueTask<AccountEndpoints.LoginResponse> SignInAsync(SampleAccount account, CancellationToken cancellationToken)
    {
        var (token, expiresAt) = issuer.Issue(account.Id, account.Generation);
        var familyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var (refresh, hash) = NewRefreshToken(familyId);
        var refreshExpiresAt = Now + RefreshLifetime;
        await store.AddRefreshFamilyAsync(new RefreshFamily(familyId, account.Id, hash, account.Generation, refreshExpiresAt), cancellationToken);
        return new AccountEndpoints.LoginResponse(token, expiresAt, refresh, refreshExpiresAt);
    }

    /// <summary>What a refresh found.</summary>
    public enum RefreshOutcome
    {
        /// <summary>Rotated: the answer holds new tokens.</summary>
        Rotated,
        /// <summary>Unknown, expired, revoked, or the account signed out everywhere or is gone.</summary>
        Invalid,
        /// <summary>An older token of a live family: the family is revoked now.</summary>
        Reused,
    }

    /// <summary>Uses a refresh token once: the family's current token gets a new access token and a new refresh token;
    /// an older token of the family revokes the whole family (someone copied it).</summary>
    public async ValueTask<(RefreshOutcome Outcome, AccountEndpoints.LoginResponse? Response)> RefreshAsync(string? refreshToken, HttpContext http,
        CancellationToken cancellationToken)
    {
        if (refreshToken is not { Length: > 8 and <= 200 } || !refreshToken.StartsWith("qrt_", StringComparison.Ordinal)
            || refreshToken.IndexOf('.', StringComparison.Ordinal) is var dot && dot < 5)
        {
            return (RefreshOutcome.Invalid, null);
        }
        var familyId = refreshToken[4..dot];
        var family = await store.FindRefreshFamilyAsync(familyId, cancellationToken);
        if (family is null)
        {
            return (RefreshOutcome.Invalid, null);
        }
        var presented = Sha256Hex(refreshToken);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presented), Encoding.ASCII.GetBytes(family.TokenHash)))
        {
            await store.DeleteRefreshFamilyAsync(familyId, cancellationToken);
            Log.RefreshReused(logger);
            await AuditAsync(family.AccountId, "refresh_reused", http, cancellationToken);
            return (RefreshOutcome.Reused, null);
        }
        var account = await store.FindByIdAsync(family.AccountId, cancellationToken);
        if (family.ExpiresAt <= Now || account is null || account.Generation != family.Generation)
        {
            await store.DeleteRefreshFamilyAsync(familyId, cancellationToken);
            return (RefreshOutcome.Invalid, null);
        }
        var (next, nextHash) = NewRefreshToken(familyId);
        var refreshExpiresAt = Now + RefreshLifetime;
        if (!await store.TryRotateRefreshAsync(familyId, presented, nextHash, refreshExpiresAt, cancellationToken))
        {
            // Another request used this token first: it is now an old token, so this is a reuse.
            await store.DeleteRefreshFamilyAsync(familyId, cancellationToken);
            Log.RefreshReused(logger);
            await AuditAsync(family.AccountId, "refresh_reused", http, cancellationToken);
            return (RefreshOutcome.Reused, null);
        }
        var (token, expiresAt) = issuer.Issue(account.Id, account.Generation);
        return (RefreshOutcome.Rotated, new AccountEndpoints.LoginResponse(token, expiresAt, next, refreshExpiresAt));
    }

    /// <summary>Adds an audit entry with the keyed hash of the client's address.</summary>
    public ValueTask AuditAsync(string accountId, string kind, HttpContext http, CancellationToken cancellationToken) =>
        store.AddAuditAsync(accountId, new AuditEntry(Now, kind, issuer.ClientHash(http.Connection.RemoteIpAddress)), AuditKept, cancellationToken);

    /// <summary>New recovery codes ("xxxxx-xxxxx", 50 random bits each, from an alphabet without look-alikes) and their hashes.</summary>
    public static (string[] Codes, string[] Hashes) NewRecoveryCodes()
    {
        const string alphabet = "abcdefghjkmnpqrstuvwxyz23456789";
        var codes = new string[RecoveryCodeCount];
        for (var i = 0; i < codes.Length; i++)
        {
            var chars = RandomNumberGenerator.GetItems<char>(alphabet, 10);
            codes[i] = new string(chars, 0, 5) + "-" + new string(chars, 5, 5);
        }
        return (codes, [.. codes.Select(RecoveryHash)]);
    }

    /// <summary>The stored form of a recovery code: SHA-256 (hex) of it in lower case without the dash. The codes carry
    /// 50 random bits, so a plain hash cannot be searched back.</summary>
    public static string RecoveryHash(string code) =>
        Sha256Hex(code.Trim().ToLowerInvariant().Replace("-", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal));

    private static (string Token, string Hash) NewRefreshToken(string familyId)
    {
        var token = "qrt_" + familyId + "." + Base64Url(RandomNumberGenerator.GetBytes(32));
        return (token, Sha256Hex(token));
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Log messages of account security: never a name, token, code, secret or address.</summary>
    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "A second-factor code was wrong.")]
        public static partial void MfaFailed(ILogger logger);

        [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Second-factor checks are paused for an account after too many wrong codes.")]
        public static partial void MfaLocked(ILogger logger);

        [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "An old refresh token was used again; its family is revoked.")]
        public static partial void RefreshReused(ILogger logger);
    }
}
