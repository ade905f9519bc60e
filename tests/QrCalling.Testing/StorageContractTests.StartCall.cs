using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

public abstract partial class StorageContractTests
{
    /// <summary>A call record for <paramref name="code"/>, as CallService builds it before the scan is counted.</summary>
    private static CallRecord CallFor(CodeRecord code) => NewCallRecord(code.OwnerId, code.Id) with
    {
        Label = code.Label,
        CodeMedia = code.Media,
        Media = MediaKind.Chat,
        State = CallState.Ringing,
    };

    [Fact]
    public async Task StartCall_AvailableCode_CountsTheScanAndStoresTheRingingCall()
    {
        var code = NewCodeRecord(NewId("owner"), maxScans: 2, label: "Gate", media: MediaKind.Audio | MediaKind.Chat);
        await Storage.Codes.CreateAsync(code, default);
        var call = CallFor(code);

        var counted = await Storage.TryStartCallAsync(code.KeyHash, call, T0.AddMinutes(1), default);

        Assert.NotNull(counted);
        Assert.Equal(code.Id, counted.Id);
        Assert.Equal(1, counted.ScanCount);
        Assert.Equal(T0.AddMinutes(1), counted.LastScannedAt);
        var stored = await Storage.Calls.GetAsync(call.CallId, default);
        Assert.NotNull(stored);
        Assert.Equal(CallState.Ringing, stored.State);
        Assert.Equal((code.Id, code.OwnerId, "Gate", MediaKind.Audio | MediaKind.Chat, MediaKind.Chat),
            (stored.CodeId, stored.OwnerId, stored.Label, stored.CodeMedia, stored.Media));
        Assert.Equal(call.CallTokenHash, stored.CallTokenHash);
        Assert.Equal((call.CallerId, call.CalleeId, call.RingExpiresAt, call.ExpiresAt), (stored.CallerId, stored.CalleeId, stored.RingExpiresAt, stored.ExpiresAt));
    }

    [Fact]
    public async Task StartCall_RevokedOrUsedUpCode_ReturnsNullAndStoresNoOpenCall()
    {
        var owner = NewId("owner");
        var revoked = NewCodeRecord(owner);
        var usedUp = NewCodeRecord(owner, maxScans: 1);
        await Storage.Codes.CreateAsync(revoked, default);
        await Storage.Codes.CreateAsync(usedUp, default);
        Assert.True(await Storage.Codes.RevokeAsync(owner, revoked.Id, T0, default));
        Assert.NotNull(await Storage.Codes.TryCountScanAsync(usedUp.KeyHash, T0, default));

        foreach (var code in new[] { revoked, usedUp })
        {
            var call = CallFor(code);
            Assert.Null(await Storage.TryStartCallAsync(code.KeyHash, call, T0.AddMinutes(1), default));
            Assert.Empty(await ToCallListAsync(Storage.Calls.ListOpenByCodeAsync(code.Id, 10, default)));
        }
        Assert.Equal(1, (await Storage.Codes.FindByIdAsync(owner, usedUp.Id, default))!.ScanCount);
    }

    [Fact]
    public async Task StartCall_RacingARevoke_AStartedCallIsAlwaysSeenByTheRevokesLookUp()
    {
        // The revoke's side, as CodeService does it: revoke, then look up the code's open calls to end them. A start that
        // succeeded must show up in that look-up; otherwise the owner would be rung by a withdrawn code.
        for (var round = 0; round < 40; round++)
        {
            var owner = NewId("owner");
            var code = NewCodeRecord(owner);
            await Storage.Codes.CreateAsync(code, default);
            var call = CallFor(code);
            using var go = new ManualResetEventSlim();
            var start = Task.Run(async () => { go.Wait(); return await Storage.TryStartCallAsync(code.KeyHash, call, T0.AddMinutes(1), default); });
            var revoke = Task.Run(async () =>
            {
                go.Wait();
                Assert.True(await Storage.Codes.RevokeAsync(owner, code.Id, T0.AddMinutes(1), default));
                return await ToCallListAsync(Storage.Calls.ListOpenByCodeAsync(code.Id, 10, default));
            });
            go.Set();
            var started = await start;
            var seen = await revoke;
            if (started is not null)
            {
                Assert.Contains(seen, c => c.CallId == call.CallId);
            }
            else
            {
                var stored = await Storage.Calls.GetAsync(call.CallId, default);
                Assert.True(stored is null || stored.State == CallState.Ended, "a refused start left an open call");
            }
        }
    }
}
