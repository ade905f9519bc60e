using System.Security.Cryptography;
using QrCalling.Codes;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Core.Tests.Codes;

/// <summary>What the in-memory adapter adds to the shared storage contract.</summary>
public sealed class InMemoryCodeStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly ICodeStore _store = new InMemoryStorage().Codes;

    private static CodeRecord NewCode(string owner = "owner", DateTimeOffset? expiresAt = null) => new()
    {
        Id = CodeService.NewCodeId(),
        OwnerId = owner,
        KeyHash = RandomNumberGenerator.GetBytes(32),
        CreatedAt = T0,
        ExpiresAt = expiresAt,
    };

    [Fact]
    public async Task Create_DuplicateIdOrKey_Throws()
    {
        var code = NewCode();
        await _store.CreateAsync(code, default);

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await _store.CreateAsync(code with { KeyHash = RandomNumberGenerator.GetBytes(32) }, default));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await _store.CreateAsync(code with { Id = CodeService.NewCodeId() }, default));
    }

    [Fact]
    public async Task Create_CallerMutatesKeyArrayAfterwards_StoreKeepsOriginalKey()
    {
        var code = NewCode();
        var original = (byte[])code.KeyHash.Clone();
        await _store.CreateAsync(code, default);

        code.KeyHash[0] ^= 0xFF;

        Assert.NotNull(await _store.FindByKeyAsync(original, default));
        Assert.Null(await _store.FindByKeyAsync(code.KeyHash, default));
    }

    [Fact]
    public async Task DeleteStale_AllOfAnOwnersCodes_OwnerCanCreateAndListAgain()
    {
        await _store.CreateAsync(NewCode(expiresAt: T0.AddSeconds(1)), default);
        Assert.Equal(1, await _store.DeleteStaleAsync(T0.AddHours(1), 10, default));

        var fresh = NewCode();
        await _store.CreateAsync(fresh, default);

        var listed = new List<CodeRecord>();
        await foreach (var code in _store.ListByOwnerAsync("owner", default))
        {
            listed.Add(code);
        }
        Assert.Equal(fresh.Id, Assert.Single(listed).Id);
    }
}
