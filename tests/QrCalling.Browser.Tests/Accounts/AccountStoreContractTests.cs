using Npgsql;
using QrCalling.SampleHost.Accounts;
using QrCalling.SampleHost.Admin;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Browser.Tests.Accounts;

/// <summary>The sample's account store contract, run against each store (memory, PostgreSQL, Redis) so all three keep
/// every field and behave the same.</summary>
public abstract class AccountStoreContractTests : IAsyncLifetime
{
    private IAccountStore _store = null!;

    protected abstract IAccountStore CreateStore();

    public Task InitializeAsync()
    {
        _store = CreateStore();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private static SampleAccount NewAccount() => new(InMemoryAccountStore.NewId(), "u" + Guid.NewGuid().ToString("N")[..12], "hash-1") { CreatedAt = T0 };

    [Fact]
    public async Task Add_ThenFindByNameInOtherCaseAndById_ReturnsEveryField()
    {
        var account = NewAccount() with
        {
            DisplayName = "Alice", Generation = 3, TotpSecret = "JBSWY3DPEHPK3PXP", PendingTotpSecret = "KRSXG5A", TotpLastStep = 42,
            RecoveryCodeHashes = ["aa", "bb"],
        };

        Assert.True(await _store.TryAddAsync(account, default));
        var byName = await _store.FindAsync(account.UserName.ToUpperInvariant(), default);
        var byId = await _store.FindByIdAsync(account.Id, default);

        foreach (var found in new[] { byName, byId })
        {
            Assert.NotNull(found);
            Assert.Equal((account.Id, account.UserName, account.PasswordHash, account.DisplayName, account.CreatedAt, account.Generation),
                (found.Id, found.UserName, found.PasswordHash, found.DisplayName, found.CreatedAt, found.Generation));
            Assert.Equal((account.TotpSecret, account.PendingTotpSecret, account.TotpLastStep), (found.TotpSecret, found.PendingTotpSecret, found.TotpLastStep));
            Assert.Equal(["aa", "bb"], found.RecoveryCodeHashes);
            Assert.Equal(0, found.Version);
        }
        Assert.Null(await _store.FindByIdAsync(InMemoryAccountStore.NewId(), default));
    }

    [Fact]
    public async Task Add_TakenNameOrId_ReturnsFalse()
    {
        var account = NewAccount();
        Assert.True(await _store.TryAddAsync(account, default));

        Assert.False(await _store.TryAddAsync(account with { Id = InMemoryAccountStore.NewId(), UserName = account.UserName.ToUpperInvariant() }, default));
        Assert.False(await _store.TryAddAsync(account with { UserName = account.UserName + "x" }, default));
    }

    [Fact]
    public async Task TryUpdate_CurrentVersion_Stores_StaleVersion_Refused()
    {
        var account = NewAccount();
        await _store.TryAddAsync(account, default);
        var read = (await _store.FindByIdAsync(account.Id, default))!;

        Assert.True(await _store.TryUpdateAsync(read with { PasswordHash = "hash-2", DisplayName = "Bob", Generation = 1, TotpLastStep = 7 }, default));
        Assert.False(await _store.TryUpdateAsync(read with { PasswordHash = "hash-3" }, default)); // still version 0: lost the race
        var after = (await _store.FindAsync(account.UserName, default))!;

        Assert.Equal(("hash-2", "Bob", 1L, 7L, 1L), (after.PasswordHash, after.DisplayName, after.Generation, after.TotpLastStep, after.Version));
        Assert.False(await _store.TryUpdateAsync(NewAccount(), default)); // unknown account
    }

    [Fact]
    public async Task TryUpdate_Concurrent_ExactlyOneWins()
    {
        var account = NewAccount();
        await _store.TryAddAsync(account, default);
        var read = (await _store.FindByIdAsync(account.Id, default))!;

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => _store.TryUpdateAsync(read with { TotpLastStep = i + 1 }, default).AsTask()));

        Assert.Single(results, r => r);
    }

    [Fact]
    public async Task RefreshFamily_RotatesOnceWithTheCurrentHash_DeleteRevokes()
    {
        var account = NewAccount();
        await _store.TryAddAsync(account, default);
        var family = new RefreshFamily("f" + Guid.NewGuid().ToString("N")[..16], account.Id, "h1", 2, T0.AddDays(30));
        await _store.AddRefreshFamilyAsync(family, default);

        Assert.Equal(family, await _store.FindRefreshFamilyAsync(family.FamilyId, default));
        Assert.True(await _store.TryRotateRefreshAsync(family.FamilyId, "h1", "h2", T0.AddDays(31), default));
        Assert.False(await _store.TryRotateRefreshAsync(family.FamilyId, "h1", "h3", T0.AddDays(31), default));
        Assert.Equal(family with { TokenHash = "h2", ExpiresAt = T0.AddDays(31) }, await _store.FindRefreshFamilyAsync(family.FamilyId, default));

        await _store.DeleteRefreshFamilyAsync(family.FamilyId, default);
        Assert.Null(await _store.FindRefreshFamilyAsync(family.FamilyId, default));
        Assert.False(await _store.TryRotateRefreshAsync(family.FamilyId, "h2", "h4", T0.AddDays(31), default));
    }

    [Fact]
    public async Task Audit_NewestFirst_KeepsTheNewestN()
    {
        var account = NewAccount();
        await _store.TryAddAsync(account, default);

        for (var i = 0; i < 5; i++)
        {
            await _store.AddAuditAsync(account.Id, new AuditEntry(T0.AddMinutes(i), "login_failed", $"c{i}"), keep: 3, default);
        }

        var log = await _store.ListAuditAsync(account.Id, 10, default);
        Assert.Equal(["c4", "c3", "c2"], log.Select(e => e.Client));
        Assert.Equal(T0.AddMinutes(4), log[0].At);
        Assert.Equal(["c4"], (await _store.ListAuditAsync(account.Id, 1, default)).Select(e => e.Client));
    }

    [Fact]
    public async Task Delete_RemovesAccountFamiliesAndAudit_OthersKept()
    {
        var account = NewAccount();
        var other = NewAccount();
        await _store.TryAddAsync(account, default);
        await _store.TryAddAsync(other, default);
        var family = new RefreshFamily("f" + Guid.NewGuid().ToString("N")[..16], account.Id, "h1", 0, T0.AddDays(30));
        var otherFamily = family with { FamilyId = "f" + Guid.NewGuid().ToString("N")[..16], AccountId = other.Id };
        await _store.AddRefreshFamilyAsync(family, default);
        await _store.AddRefreshFamilyAsync(otherFamily, default);
        await _store.AddAuditAsync(account.Id, new AuditEntry(T0, "login_failed", "c"), 10, default);
        await _store.AddAuditAsync(other.Id, new AuditEntry(T0, "login_failed", "c"), 10, default);

        Assert.False(await _store.IsDeletedAsync(account.Id, default));
        Assert.True(await _store.DeleteAsync(account.Id, default));
        Assert.False(await _store.DeleteAsync(account.Id, default));

        Assert.True(await _store.IsDeletedAsync(account.Id, default)); // its unexpired tokens are refused
        Assert.False(await _store.IsDeletedAsync(other.Id, default));
        Assert.False(await _store.IsDeletedAsync(InMemoryAccountStore.NewId(), default));

        Assert.Null(await _store.FindAsync(account.UserName, default));
        Assert.Null(await _store.FindByIdAsync(account.Id, default));
        Assert.Null(await _store.FindRefreshFamilyAsync(family.FamilyId, default));
        Assert.Empty(await _store.ListAuditAsync(account.Id, 10, default));
        Assert.NotNull(await _store.FindByIdAsync(other.Id, default));
        Assert.NotNull(await _store.FindRefreshFamilyAsync(otherFamily.FamilyId, default));
        Assert.Single(await _store.ListAuditAsync(other.Id, 10, default));
        // The name is free again.
        Assert.True(await _store.TryAddAsync(NewAccount() with { UserName = account.UserName }, default));
    }
}

public sealed class InMemoryAccountStoreTests : AccountStoreContractTests
{
    protected override IAccountStore CreateStore() => new InMemoryAccountStore();
}

public sealed class PostgresAccountStoreTests : AccountStoreContractTests
{
    protected override IAccountStore CreateStore() => new PostgresAccountStore(TestServers.Postgres);

    /// <summary>Several sample hosts starting at once on a fresh database (a deployment's instances, or tests side by
    /// side): the account and admin stores of each create their tables in the same schema at first use. Run
    /// concurrently, PostgreSQL's <c>CREATE ... IF NOT EXISTS</c> can fail with a unique violation in its catalog (the
    /// register request of the first user then failed with 500); every first use must succeed.</summary>
    [Fact]
    public async Task FirstUse_ManyInstancesAtOnceOnAFreshDatabase_AllSucceed()
    {
        for (var round = 0; round < 3; round++)
        {
            var database = "qrsample_" + Guid.NewGuid().ToString("N")[..12];
            await ExecuteAsync(TestServers.Postgres, $"CREATE DATABASE {database}");
            var fresh = new NpgsqlConnectionStringBuilder(TestServers.Postgres) { Database = database, Pooling = false }.ConnectionString;
            var accounts = Enumerable.Range(0, 8).Select(_ => new PostgresAccountStore(fresh)).ToList();
            var admins = Enumerable.Range(0, 4).Select(_ => new PostgresAdminStore(fresh)).ToList();
            try
            {
                var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var firstUses = accounts.Select(async store =>
                {
                    await go.Task;
                    return await store.TryAddAsync(new SampleAccount(InMemoryAccountStore.NewId(), "u" + Guid.NewGuid().ToString("N")[..12], "hash"), default);
                }).Concat(admins.Select(async store =>
                {
                    await go.Task;
                    return (await store.GetSettingsAsync(default)) is not null;
                })).ToList();
                go.SetResult();
                Assert.All(await Task.WhenAll(firstUses), Assert.True);
            }
            finally
            {
                foreach (var store in accounts)
                {
                    await store.DisposeAsync();
                }
                foreach (var store in admins)
                {
                    await store.DisposeAsync();
                }
                await ExecuteAsync(TestServers.Postgres, $"DROP DATABASE {database} WITH (FORCE)");
            }
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var source = NpgsqlDataSource.Create(connectionString);
        await using var command = source.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}

public sealed class RedisAccountStoreTests : AccountStoreContractTests
{
    protected override IAccountStore CreateStore() => new RedisAccountStore(TestServers.Redis);
}
