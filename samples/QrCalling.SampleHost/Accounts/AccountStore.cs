using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace QrCalling.SampleHost.Accounts;

/// <summary>An owner account of the sample host: an opaque id, a user name and a password hash. No personal data.</summary>
/// <param name="Id">The owner id used by QrCalling (the NameIdentifier claim).</param>
/// <param name="UserName">The name the owner signs in with.</param>
/// <param name="PasswordHash">ASP.NET Core Identity's PasswordHasher output.</param>
public sealed record SampleAccount(string Id, string UserName, string PasswordHash);

/// <summary>Where the sample keeps its owner accounts.</summary>
public interface IAccountStore
{
    /// <summary>Adds an account; false when the user name (compared case-insensitively) is taken.</summary>
    ValueTask<bool> TryAddAsync(SampleAccount account, CancellationToken cancellationToken);

    /// <summary>Finds an account by user name (case-insensitively).</summary>
    ValueTask<SampleAccount?> FindAsync(string userName, CancellationToken cancellationToken);
}

/// <summary>Accounts kept in process memory, with <c>QrCalling:Storage=memory</c> (PostgreSQL and Redis have their own
/// stores). Accounts are the host's business, not QrCalling's: a real host keeps them in its own user database.</summary>
public sealed class InMemoryAccountStore : IAccountStore
{
    private readonly ConcurrentDictionary<string, SampleAccount> _accounts = new(StringComparer.OrdinalIgnoreCase);

    /// <inheritdoc />
    public ValueTask<bool> TryAddAsync(SampleAccount account, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_accounts.TryAdd(account.UserName, account));

    /// <inheritdoc />
    public ValueTask<SampleAccount?> FindAsync(string userName, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_accounts.TryGetValue(userName, out var account) ? account : null);

    /// <summary>A fresh random owner id: "u_" and 16 random bytes in hex.</summary>
    public static string NewId() => "u_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
