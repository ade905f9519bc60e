using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

// IOwnerDataStore: erasing one owner's data leaves nothing of theirs and touches nobody else's.
public abstract partial class StorageContractTests
{
    private sealed record OwnerData(string OwnerId, CodeRecord[] Codes, CallRecord[] Calls, PushSubscriptionRecord Push, StoredMessage Message, DeviceRecord Device);

    /// <summary>Two codes (one revoked), two calls (one ended) with mailbox entries, a push subscription, a message key and
    /// a left message.</summary>
    private async Task<OwnerData> SeedOwnerAsync()
    {
        var owner = NewId("owner");
        var codes = new[] { NewCodeRecord(owner), NewCodeRecord(owner, createdAt: T0.AddMinutes(1)) };
        foreach (var code in codes)
        {
            await Storage.Codes.CreateAsync(code, default);
        }
        await Storage.Codes.RevokeAsync(owner, codes[1].Id, T0.AddMinutes(2), default);
        var calls = new[] { NewCallRecord(owner, codes[0].Id), NewCallRecord(owner, codes[1].Id, T0.AddMinutes(1)) };
        foreach (var call in calls)
        {
            await Storage.Calls.CreateAsync(call, default);
            Assert.Equal(MailboxAppendStatus.Appended, (await Storage.Mailbox.AppendAsync(call.CallId, NewMailboxEntry("offer"), LargeBudget, default)).Status);
        }
        Assert.NotNull(await Storage.Calls.TryEndAsync(calls[1].CallId, CallState.Ringing, CallEndReason.Missed, T0.AddMinutes(2), default));
        var push = NewPushSubscription(owner);
        await Storage.PushSubscriptions.SaveAsync(push, 10, default);
        await Storage.Messages.SetKeyAsync(new OwnerMessageKey { OwnerId = owner, PublicKey = "pk", KeyId = "k", UpdatedAt = T0 }, default);
        var message = NewMessage(owner, calls[1].CallId);
        Assert.Equal(MessageAddStatus.Added, await Storage.Messages.TryAddAsync(message, 10, T0, default));
        var device = NewDevice(owner);
        Assert.True(await Storage.Devices.CreateAsync(device, 10, default));
        await Storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), OwnerId = owner, ExpiresAt = T0.AddYears(10) }, default);
        await Storage.Backups.AddAsync(owner, new byte[] { 1, 2, 3 }, 5, T0, T0.AddYears(10), default);
        await Storage.Backups.AddAsync(owner, new byte[] { 4, 5 }, 5, T0, T0.AddYears(10), default);
        return new OwnerData(owner, codes, calls, push, message, device);
    }

    [Fact]
    public async Task OwnerData_Erase_LeavesNothingOfTheOwnerInAnyStore()
    {
        var data = await SeedOwnerAsync();
        var eraser = Assert.IsAssignableFrom<IOwnerDataStore>(Storage);

        var erased = await eraser.EraseOwnerAsync(data.OwnerId, default);

        Assert.Equal(new OwnerDataErasure(Codes: 2, Calls: 2, PushSubscriptions: 1, Messages: 1) { Devices = 1, Backups = 2 }, erased);
        Assert.Empty(await Storage.Devices.ListByOwnerAsync(data.OwnerId, default));
        Assert.Null(await Storage.Devices.FindByTokenHashAsync(data.Device.TokenHash, default));
        Assert.Empty(await Storage.Backups.ListAsync(data.OwnerId, T0, default));
        Assert.Null(await Storage.Backups.GetAsync(data.OwnerId, null, T0, default));
        Assert.Empty(await ToCodeListAsync(Storage.Codes.ListByOwnerAsync(data.OwnerId, default)));
        foreach (var code in data.Codes)
        {
            Assert.Null(await Storage.Codes.FindByKeyAsync(code.KeyHash, default));
            Assert.Null(await Storage.Codes.FindByIdAsync(data.OwnerId, code.Id, default));
        }
        Assert.Empty(await ToCallListAsync(Storage.Calls.ListByOwnerAsync(data.OwnerId, 100, null, default)));
        foreach (var call in data.Calls)
        {
            Assert.Null(await Storage.Calls.GetAsync(call.CallId, default));
            Assert.Null(await Storage.Calls.FindByTokenHashAsync(call.CallTokenHash, default));
            Assert.Equal(0, await Storage.Mailbox.GetLastSeqAsync(call.CallId, default));
            Assert.Empty(await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 0, 100, 1 << 20, default));
        }
        Assert.DoesNotContain(await ToCallListAsync(Storage.Calls.ListOpenAsync(1000, default)), c => c.OwnerId == data.OwnerId);
        Assert.Empty(await PushListAsync(data.OwnerId));
        Assert.Null(await Storage.Messages.GetKeyAsync(data.OwnerId, default));
        Assert.Empty(await Storage.Messages.ListByOwnerAsync(data.OwnerId, T0, 100, default));
    }

    [Fact]
    public async Task OwnerData_Erase_LeavesOtherOwnersAlone_AndIsIdempotent()
    {
        var erased = await SeedOwnerAsync();
        var kept = await SeedOwnerAsync();
        var eraser = Assert.IsAssignableFrom<IOwnerDataStore>(Storage);

        await eraser.EraseOwnerAsync(erased.OwnerId, default);
        var again = await eraser.EraseOwnerAsync(erased.OwnerId, default);

        Assert.Equal(default, again);
        Assert.Equal(2, (await ToCodeListAsync(Storage.Codes.ListByOwnerAsync(kept.OwnerId, default))).Count);
        Assert.Equal(2, (await ToCallListAsync(Storage.Calls.ListByOwnerAsync(kept.OwnerId, 100, null, default))).Count);
        Assert.Equal(1, await Storage.Mailbox.GetLastSeqAsync(kept.Calls[0].CallId, default));
        Assert.Single(await PushListAsync(kept.OwnerId));
        Assert.NotNull(await Storage.Messages.GetKeyAsync(kept.OwnerId, default));
        Assert.Single(await Storage.Messages.ListByOwnerAsync(kept.OwnerId, T0, 100, default));
        Assert.Single(await Storage.Devices.ListByOwnerAsync(kept.OwnerId, default));
        Assert.Equal(2, (await Storage.Backups.ListAsync(kept.OwnerId, T0, default)).Count);
    }
}
