using System.Security.Cryptography;
using QrCalling.Codes;
using Xunit;

namespace QrCalling.Testing;

// The ICodeStore part of the storage contract. Times come from T0 only; no clock.
public abstract partial class StorageContractTests
{
    /// <summary>A code record with a fresh id and random 32-byte key hash, created at <paramref name="createdAt"/> (T0 by default).</summary>
    protected static CodeRecord NewCodeRecord(string ownerId, DateTimeOffset? createdAt = null, DateTimeOffset? expiresAt = null,
        int? maxScans = null, string label = "Front door", MediaKind media = MediaKinds.All) => new()
    {
        Id = NewId("c"),
        OwnerId = ownerId,
        KeyHash = RandomNumberGenerator.GetBytes(32),
        Label = label,
        Media = media,
        CreatedAt = createdAt ?? T0,
        ExpiresAt = expiresAt,
        MaxScans = maxScans,
    };

    [Fact]
    public async Task Codes_CreateThenFindByKey_ReturnsEqualRecord()
    {
        var code = NewCodeRecord(NewId("owner"), expiresAt: T0.AddDays(1), maxScans: 3, label: "Blue van", media: MediaKind.Audio | MediaKind.Chat);
        await Storage.Codes.CreateAsync(code, default);

        var found = await Storage.Codes.FindByKeyAsync((byte[])code.KeyHash.Clone(), default);

        Assert.NotNull(found);
        AssertSameCode(code, found);
    }

    [Fact]
    public async Task Codes_FindByKey_UnknownKey_ReturnsNull()
    {
        await Storage.Codes.CreateAsync(NewCodeRecord(NewId("owner")), default);

        Assert.Null(await Storage.Codes.FindByKeyAsync(RandomNumberGenerator.GetBytes(32), default));
    }

    [Fact]
    public async Task Codes_FindById_OwnerAndOtherOwner_ReturnsRecordOnlyToOwner()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner);
        await Storage.Codes.CreateAsync(code, default);

        var mine = await Storage.Codes.FindByIdAsync(owner, code.Id, default);
        var theirs = await Storage.Codes.FindByIdAsync(NewId("other"), code.Id, default);
        var unknown = await Storage.Codes.FindByIdAsync(owner, NewId("c"), default);

        Assert.NotNull(mine);
        AssertSameCode(code, mine);
        Assert.Null(theirs);
        Assert.Null(unknown);
    }

    [Fact]
    public async Task Codes_ListByOwner_ReturnsOnlyOwnersCodesNewestFirst()
    {
        var owner = NewId("owner");
        var oldest = NewCodeRecord(owner, createdAt: T0);
        var middle = NewCodeRecord(owner, createdAt: T0.AddSeconds(1));
        var newest = NewCodeRecord(owner, createdAt: T0.AddSeconds(2));
        await Storage.Codes.CreateAsync(middle, default);
        await Storage.Codes.CreateAsync(newest, default);
        await Storage.Codes.CreateAsync(oldest, default);
        await Storage.Codes.CreateAsync(NewCodeRecord(NewId("other"), createdAt: T0.AddSeconds(3)), default);

        var listed = await ToCodeListAsync(Storage.Codes.ListByOwnerAsync(owner, default));

        Assert.Equal([newest.Id, middle.Id, oldest.Id], listed.Select(c => c.Id));
        Assert.Empty(await ToCodeListAsync(Storage.Codes.ListByOwnerAsync(NewId("nobody"), default)));
    }

    [Fact]
    public async Task Codes_Revoke_Twice_RevokesOnceAndSetsRevokedAt()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner);
        await Storage.Codes.CreateAsync(code, default);

        var first = await Storage.Codes.RevokeAsync(owner, code.Id, T0.AddMinutes(1), default);
        var second = await Storage.Codes.RevokeAsync(owner, code.Id, T0.AddMinutes(2), default);

        Assert.True(first);
        Assert.False(second);
        var stored = await Storage.Codes.FindByIdAsync(owner, code.Id, default);
        Assert.Equal(T0.AddMinutes(1), stored!.RevokedAt);
    }

    [Fact]
    public async Task Codes_Revoke_OtherOwnerOrUnknown_ReturnsFalseAndChangesNothing()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner);
        await Storage.Codes.CreateAsync(code, default);

        Assert.False(await Storage.Codes.RevokeAsync(NewId("other"), code.Id, T0, default));
        Assert.False(await Storage.Codes.RevokeAsync(owner, NewId("c"), T0, default));
        Assert.Null((await Storage.Codes.FindByIdAsync(owner, code.Id, default))!.RevokedAt);
    }

    [Fact]
    public async Task Codes_TryCountScan_Available_CountsAndSetsLastScannedAt()
    {
        var code = NewCodeRecord(NewId("owner"), maxScans: 5);
        await Storage.Codes.CreateAsync(code, default);

        var first = await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddSeconds(10), default);
        var second = await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddSeconds(20), default);

        Assert.Equal(1, first!.ScanCount);
        Assert.Equal(T0.AddSeconds(10), first.LastScannedAt);
        Assert.Equal(2, second!.ScanCount);
        Assert.Equal(T0.AddSeconds(20), second.LastScannedAt);
        var stored = await Storage.Codes.FindByKeyAsync(code.KeyHash, default);
        Assert.Equal(2, stored!.ScanCount);
    }

    [Fact]
    public async Task Codes_TryCountScan_RevokedCode_ReturnsNullAndDoesNotCount()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner);
        await Storage.Codes.CreateAsync(code, default);
        await Storage.Codes.RevokeAsync(owner, code.Id, T0.AddSeconds(1), default);

        Assert.Null(await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddSeconds(2), default));
        Assert.Equal(0, (await Storage.Codes.FindByKeyAsync(code.KeyHash, default))!.ScanCount);
    }

    [Fact]
    public async Task Codes_TryCountScan_AtOrAfterExpiry_ReturnsNull()
    {
        var code = NewCodeRecord(NewId("owner"), expiresAt: T0.AddMinutes(5));
        await Storage.Codes.CreateAsync(code, default);

        var before = await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddMinutes(5).AddSeconds(-1), default);
        var at = await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddMinutes(5), default);
        var after = await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddMinutes(6), default);

        Assert.NotNull(before);
        Assert.Null(at);
        Assert.Null(after);
        Assert.Equal(1, (await Storage.Codes.FindByKeyAsync(code.KeyHash, default))!.ScanCount);
    }

    [Fact]
    public async Task Codes_TryCountScan_PastMaxScans_ReturnsNull()
    {
        var code = NewCodeRecord(NewId("owner"), maxScans: 2);
        await Storage.Codes.CreateAsync(code, default);

        Assert.NotNull(await Storage.Codes.TryCountScanAsync(code.KeyHash, T0, default));
        Assert.NotNull(await Storage.Codes.TryCountScanAsync(code.KeyHash, T0, default));
        Assert.Null(await Storage.Codes.TryCountScanAsync(code.KeyHash, T0, default));
        Assert.Equal(2, (await Storage.Codes.FindByKeyAsync(code.KeyHash, default))!.ScanCount);
    }

    [Fact]
    public async Task Codes_TryCountScan_UnknownKey_ReturnsNull()
    {
        Assert.Null(await Storage.Codes.TryCountScanAsync(RandomNumberGenerator.GetBytes(32), T0, default));
    }

    [Fact]
    public async Task Codes_TryCountScan_200ParallelOnMaxScans10_ExactlyTenSucceed()
    {
        var code = NewCodeRecord(NewId("owner"), maxScans: 10);
        await Storage.Codes.CreateAsync(code, default);
        using var start = new ManualResetEventSlim();

        var tasks = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await Storage.Codes.TryCountScanAsync((byte[])code.KeyHash.Clone(), T0.AddMilliseconds(i), default);
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(tasks);

        Assert.Equal(10, results.Count(r => r is not null));
        Assert.Equal(Enumerable.Range(1, 10), results.Where(r => r is not null).Select(r => r!.ScanCount).Order());
        Assert.Equal(10, (await Storage.Codes.FindByKeyAsync(code.KeyHash, default))!.ScanCount);
    }

    [Fact]
    public async Task Codes_DeleteStale_DeletesOnlyCodesExpiredOrRevokedBeforeCutoff()
    {
        var owner = NewId("owner");
        var expired = NewCodeRecord(owner, expiresAt: T0.AddMinutes(1));
        var revoked = NewCodeRecord(owner);
        var live = NewCodeRecord(owner, expiresAt: T0.AddDays(1));
        var revokedAfterCutoff = NewCodeRecord(owner);
        var forever = NewCodeRecord(owner);
        foreach (var code in new[] { expired, revoked, live, revokedAfterCutoff, forever })
        {
            await Storage.Codes.CreateAsync(code, default);
        }
        await Storage.Codes.RevokeAsync(owner, revoked.Id, T0.AddMinutes(2), default);
        await Storage.Codes.RevokeAsync(owner, revokedAfterCutoff.Id, T0.AddHours(2), default);

        var deleted = await Storage.Codes.DeleteStaleAsync(T0.AddHours(1), 100, default);

        Assert.Equal(2, deleted);
        Assert.Null(await Storage.Codes.FindByKeyAsync(expired.KeyHash, default));
        Assert.Null(await Storage.Codes.FindByIdAsync(owner, revoked.Id, default));
        var remaining = await ToCodeListAsync(Storage.Codes.ListByOwnerAsync(owner, default));
        Assert.Equal(new[] { live.Id, revokedAfterCutoff.Id, forever.Id }.Order(), remaining.Select(c => c.Id).Order());
    }

    [Fact]
    public async Task Codes_DeleteStale_MoreThanMaxCount_DeletesInBoundedBatches()
    {
        var owner = NewId("owner");
        for (var i = 0; i < 7; i++)
        {
            await Storage.Codes.CreateAsync(NewCodeRecord(owner, expiresAt: T0.AddSeconds(i)), default);
        }

        var first = await Storage.Codes.DeleteStaleAsync(T0.AddHours(1), 3, default);
        var second = await Storage.Codes.DeleteStaleAsync(T0.AddHours(1), 3, default);
        var third = await Storage.Codes.DeleteStaleAsync(T0.AddHours(1), 3, default);

        Assert.Equal([3, 3, 1], new[] { first, second, third });
        Assert.Empty(await ToCodeListAsync(Storage.Codes.ListByOwnerAsync(owner, default)));
    }

    private static void AssertSameCode(CodeRecord expected, CodeRecord actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.OwnerId, actual.OwnerId);
        Assert.Equal(expected.KeyHash, actual.KeyHash);
        Assert.Equal(expected.Label, actual.Label);
        Assert.Equal(expected.Media, actual.Media);
        Assert.Equal(expected.CreatedAt, actual.CreatedAt);
        Assert.Equal(expected.ExpiresAt, actual.ExpiresAt);
        Assert.Equal(expected.MaxScans, actual.MaxScans);
        Assert.Equal(expected.ScanCount, actual.ScanCount);
        Assert.Equal(expected.LastScannedAt, actual.LastScannedAt);
        Assert.Equal(expected.RevokedAt, actual.RevokedAt);
        Assert.Equal(expected.PausedAt, actual.PausedAt);
    }

    private static async Task<List<T>> ToCodeListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }
        return list;
    }
}
