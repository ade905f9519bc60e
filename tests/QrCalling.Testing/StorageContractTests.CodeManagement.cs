using System.Security.Cryptography;
using QrCalling.Calls;
using Xunit;

namespace QrCalling.Testing;

// Code management (issue 11): update of label and media, hard delete, and the call's copy of its code's media. Races
// included: delete against scans, update against scans.
public abstract partial class StorageContractTests
{
    [Fact]
    public async Task CodesUpdate_LabelAndMedia_ChangesOnlyThoseFields()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner, expiresAt: T0.AddDays(1), maxScans: 4, label: "Old", media: MediaKinds.All);
        await Storage.Codes.CreateAsync(code, default);
        await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddSeconds(5), default);

        var updated = await Storage.Codes.UpdateAsync(owner, code.Id, "Blue van, rear", MediaKind.Audio, default);

        Assert.NotNull(updated);
        var expected = code with { Label = "Blue van, rear", Media = MediaKind.Audio, ScanCount = 1, LastScannedAt = T0.AddSeconds(5) };
        AssertSameCode(expected, updated);
        AssertSameCode(expected, (await Storage.Codes.FindByKeyAsync(code.KeyHash, default))!);
    }

    [Fact]
    public async Task CodesUpdate_NullArguments_KeepThoseFields()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner, label: "Gate", media: MediaKind.Audio | MediaKind.Chat);
        await Storage.Codes.CreateAsync(code, default);

        var labelOnly = await Storage.Codes.UpdateAsync(owner, code.Id, "Side gate", null, default);
        var mediaOnly = await Storage.Codes.UpdateAsync(owner, code.Id, null, MediaKind.Chat, default);
        var emptyLabel = await Storage.Codes.UpdateAsync(owner, code.Id, "", null, default);

        Assert.Equal(("Side gate", MediaKind.Audio | MediaKind.Chat), (labelOnly!.Label, labelOnly.Media));
        Assert.Equal(("Side gate", MediaKind.Chat), (mediaOnly!.Label, mediaOnly.Media));
        Assert.Equal(("", MediaKind.Chat), (emptyLabel!.Label, emptyLabel.Media));
    }

    [Fact]
    public async Task CodesUpdate_OtherOwnerOrUnknown_ReturnsNullAndChangesNothing()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner, label: "Mine");
        await Storage.Codes.CreateAsync(code, default);

        Assert.Null(await Storage.Codes.UpdateAsync(NewId("other"), code.Id, "Theirs", MediaKind.Chat, default));
        Assert.Null(await Storage.Codes.UpdateAsync(owner, NewId("c"), "Nothing", MediaKind.Chat, default));
        AssertSameCode(code, (await Storage.Codes.FindByIdAsync(owner, code.Id, default))!);
    }

    [Fact]
    public async Task CodesDelete_OwnersCode_RemovesRecordKeyAndListing()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner);
        var kept = NewCodeRecord(owner);
        await Storage.Codes.CreateAsync(code, default);
        await Storage.Codes.CreateAsync(kept, default);

        var first = await Storage.Codes.DeleteAsync(owner, code.Id, default);
        var second = await Storage.Codes.DeleteAsync(owner, code.Id, default);

        Assert.True(first);
        Assert.False(second);
        Assert.Null(await Storage.Codes.FindByIdAsync(owner, code.Id, default));
        Assert.Null(await Storage.Codes.FindByKeyAsync(code.KeyHash, default));
        Assert.Null(await Storage.Codes.TryCountScanAsync(code.KeyHash, T0, default));
        Assert.Null(await Storage.Codes.UpdateAsync(owner, code.Id, "Back", null, default));
        Assert.Equal([kept.Id], (await ToCodeListAsync(Storage.Codes.ListByOwnerAsync(owner, default))).Select(c => c.Id));
    }

    [Fact]
    public async Task CodesDelete_RevokedCode_DeletesItToo()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner);
        await Storage.Codes.CreateAsync(code, default);
        await Storage.Codes.RevokeAsync(owner, code.Id, T0.AddMinutes(1), default);

        Assert.True(await Storage.Codes.DeleteAsync(owner, code.Id, default));
        Assert.Null(await Storage.Codes.FindByKeyAsync(code.KeyHash, default));
        Assert.Equal(0, await Storage.Codes.DeleteStaleAsync(T0.AddDays(100), 100, default));
    }

    [Fact]
    public async Task CodesDelete_OtherOwnerOrUnknown_ReturnsFalseAndKeepsTheCode()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner);
        await Storage.Codes.CreateAsync(code, default);

        Assert.False(await Storage.Codes.DeleteAsync(NewId("other"), code.Id, default));
        Assert.False(await Storage.Codes.DeleteAsync(owner, NewId("c"), default));
        AssertSameCode(code, (await Storage.Codes.FindByKeyAsync(code.KeyHash, default))!);
    }

    [Fact]
    public async Task CodesDelete_RacingScans_NoScanCountsAfterTheDeleteAndTheCountsBeforeItAreGapFree()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner);
        await Storage.Codes.CreateAsync(code, default);
        using var start = new ManualResetEventSlim();

        var scans = Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await Storage.Codes.TryCountScanAsync((byte[])code.KeyHash.Clone(), T0.AddMilliseconds(i), default);
        })).ToArray();
        var delete = Task.Run(async () =>
        {
            start.Wait();
            return await Storage.Codes.DeleteAsync(owner, code.Id, default);
        });
        start.Set();
        var counted = (await Task.WhenAll(scans)).Where(r => r is not null).Select(r => r!.ScanCount).Order().ToList();

        Assert.True(await delete);
        Assert.Equal(Enumerable.Range(1, counted.Count), counted);
        Assert.Null(await Storage.Codes.FindByKeyAsync(code.KeyHash, default));
        Assert.Null(await Storage.Codes.TryCountScanAsync(code.KeyHash, T0.AddMinutes(1), default));
        Assert.Empty(await ToCodeListAsync(Storage.Codes.ListByOwnerAsync(owner, default)));
    }

    [Fact]
    public async Task CodesUpdate_RacingScans_KeepsEveryScanAndTheUpdate()
    {
        var owner = NewId("owner");
        var code = NewCodeRecord(owner, maxScans: 1000, label: "Before", media: MediaKinds.All);
        await Storage.Codes.CreateAsync(code, default);
        using var start = new ManualResetEventSlim();

        var scans = Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await Storage.Codes.TryCountScanAsync((byte[])code.KeyHash.Clone(), T0.AddMilliseconds(i), default);
        })).ToArray();
        var updates = Enumerable.Range(0, 10).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await Storage.Codes.UpdateAsync(owner, code.Id, i % 2 == 0 ? $"After {i}" : null, i % 2 == 1 ? MediaKind.Audio | MediaKind.Chat : null, default);
        })).ToArray();
        start.Set();
        var scanned = await Task.WhenAll(scans);
        var updated = await Task.WhenAll(updates);

        Assert.All(scanned, s => Assert.NotNull(s));
        Assert.All(updated, u => Assert.NotNull(u));
        var stored = (await Storage.Codes.FindByKeyAsync(code.KeyHash, default))!;
        Assert.Equal(60, stored.ScanCount);
        Assert.StartsWith("After ", stored.Label, StringComparison.Ordinal);
        Assert.Equal(MediaKind.Audio | MediaKind.Chat, stored.Media);
        // Every update saw a consistent record: never fewer scans than an earlier read of it showed.
        Assert.All(updated, u => Assert.InRange(u!.ScanCount, 0, 60));
    }

    [Fact]
    public async Task CallCreate_CodeMedia_RoundTrips()
    {
        var voiceOnly = NewCallRecord(NewId("owner")) with { Media = MediaKind.Audio, CodeMedia = MediaKind.Audio };
        var everything = NewCallRecord(NewId("owner")) with { Media = MediaKind.Chat, CodeMedia = MediaKinds.All };
        await Storage.Calls.CreateAsync(voiceOnly, default);
        await Storage.Calls.CreateAsync(everything, default);

        var storedVoice = await Storage.Calls.GetAsync(voiceOnly.CallId, default);
        var storedAll = await Storage.Calls.FindByTokenHashAsync(everything.CallTokenHash, default);
        var accepted = await Storage.Calls.TryAcceptAsync(voiceOnly.CallId, "device-1", T0.AddSeconds(1), default);

        Assert.Equal((MediaKind.Audio, MediaKind.Audio), (storedVoice!.Media, storedVoice.CodeMedia));
        Assert.Equal((MediaKind.Chat, MediaKinds.All), (storedAll!.Media, storedAll.CodeMedia));
        Assert.Equal(MediaKind.Audio, accepted!.CodeMedia);
    }

    [Fact]
    public async Task CodesUpdate_UnknownKey_DoesNotCreateAnything()
    {
        var owner = NewId("owner");
        var ghost = NewId("c");

        Assert.Null(await Storage.Codes.UpdateAsync(owner, ghost, "Ghost", MediaKind.Audio, default));
        Assert.Null(await Storage.Codes.FindByIdAsync(owner, ghost, default));
        Assert.Empty(await ToCodeListAsync(Storage.Codes.ListByOwnerAsync(owner, default)));
        Assert.Null(await Storage.Codes.FindByKeyAsync(RandomNumberGenerator.GetBytes(32), default));
    }
}
