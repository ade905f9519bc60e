using QrCalling.Codes;
using Xunit;

namespace QrCalling.Testing;

// Pause and resume (issue 13): a paused code counts no scan until it is resumed; the pause keeps every other field and
// its first time; only the owner can pause. Races included: a pause against scans.
public abstract partial class StorageContractTests
{
    [Fact]
    public async Task CodesPause_OwnersCode_StopsScansUntilResumed()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner, expiresAt: T0.AddDays(1), maxScans: 5, label: "Gate");
        await Storage.Codes.CreateAsync(code, default);
        await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddSeconds(1), default);

        var paused = await Storage.Codes.SetPausedAsync(owner, code.Id, T0.AddSeconds(2), default);

        Assert.NotNull(paused);
        var expected = code with { ScanCount = 1, LastScannedAt = T0.AddSeconds(1), PausedAt = T0.AddSeconds(2) };
        AssertSameCode(expected, paused);
        Assert.Equal(T0.AddSeconds(2), paused.PausedAt);
        Assert.Equal(T0.AddSeconds(2), (await Storage.Codes.FindByKeyAsync(code.KeyHash, default))!.PausedAt);
        Assert.Equal(T0.AddSeconds(2), (await Storage.Codes.FindByIdAsync(owner, code.Id, default))!.PausedAt);
        Assert.Null(await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddSeconds(3), default));
        Assert.False(paused.IsAvailable(T0.AddSeconds(3)));
        Assert.Equal(CodeState.Paused, paused.StateAt(T0.AddSeconds(3)));

        var resumed = await Storage.Codes.SetPausedAsync(owner, code.Id, null, default);

        Assert.NotNull(resumed);
        Assert.Null(resumed.PausedAt);
        AssertSameCode(expected with { PausedAt = null }, resumed);
        var counted = await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddSeconds(4), default);
        Assert.Equal(2, counted!.ScanCount);
        Assert.Null(counted.PausedAt);
    }

    [Fact]
    public async Task CodesPause_AlreadyPaused_KeepsTheFirstTimeAndResumeOfRunningCodeChangesNothing()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner);
        await Storage.Codes.CreateAsync(code, default);

        var resumedRunning = await Storage.Codes.SetPausedAsync(owner, code.Id, null, default);
        var first = await Storage.Codes.SetPausedAsync(owner, code.Id, T0.AddMinutes(1), default);
        var second = await Storage.Codes.SetPausedAsync(owner, code.Id, T0.AddMinutes(2), default);

        Assert.Null(resumedRunning!.PausedAt);
        Assert.Equal(T0.AddMinutes(1), first!.PausedAt);
        Assert.Equal(T0.AddMinutes(1), second!.PausedAt);
    }

    [Fact]
    public async Task CodesPause_OtherOwnerUnknownOrDeleted_ReturnsNullAndChangesNothing()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner);
        var gone = NewCodeRecord(owner);
        await Storage.Codes.CreateAsync(code, default);
        await Storage.Codes.CreateAsync(gone, default);
        await Storage.Codes.DeleteAsync(owner, gone.Id, default);

        Assert.Null(await Storage.Codes.SetPausedAsync(NewId("other"), code.Id, T0, default));
        Assert.Null(await Storage.Codes.SetPausedAsync(owner, NewId("c"), T0, default));
        Assert.Null(await Storage.Codes.SetPausedAsync(owner, gone.Id, T0, default));
        Assert.Null(await Storage.Codes.FindByKeyAsync(gone.KeyHash, default));
        Assert.Null((await Storage.Codes.FindByIdAsync(owner, code.Id, default))!.PausedAt);
        Assert.NotNull(await Storage.Codes.TryCountScanAsync(code.KeyHash, T0, default));
    }

    [Fact]
    public async Task CodesPause_CreatedPaused_RoundTripsAndListsWithItsPause()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner) with { PausedAt = T0.AddSeconds(7) };
        await Storage.Codes.CreateAsync(code, default);

        var listed = await ToCodeListAsync(Storage.Codes.ListByOwnerAsync(owner, default));

        Assert.Equal(T0.AddSeconds(7), Assert.Single(listed).PausedAt);
        Assert.Null(await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddSeconds(8), default));
    }

    [Fact]
    public async Task CodesPause_RacingScans_NoScanCountsAfterThePauseReturned()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner);
        await Storage.Codes.CreateAsync(code, default);
        using var start = new ManualResetEventSlim();

        var scans = Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await Storage.Codes.TryCountScanAsync((byte[])code.KeyHash.Clone(), T0.AddMilliseconds(i), default);
        })).ToArray();
        var pause = Task.Run(async () =>
        {
            start.Wait();
            return await Storage.Codes.SetPausedAsync(owner, code.Id, T0, default);
        });
        start.Set();
        var paused = await pause;
        var counted = (await Task.WhenAll(scans)).Count(r => r is not null);
        var after = await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddSeconds(1), default);

        Assert.NotNull(paused);
        Assert.Null(after);
        // Every scan either counted before the pause (the pause's record holds it) or counted nothing after it.
        Assert.Equal(counted, paused.ScanCount);
        Assert.Equal(counted, (await Storage.Codes.FindByIdAsync(owner, code.Id, default))!.ScanCount);
    }
}
