using System.Security.Cryptography;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

// IDeviceStore.PairAsync (take the pairing and store the device in one step, the cap checked first) and the sweep of
// pending devices nobody confirmed.
public abstract partial class StorageContractTests
{
    [Fact]
    public async Task Devices_Pair_PastTheCap_DoesNotSpendThePairing_AndWorksOnceASlotIsFree()
    {
        var owner = NewId("owner");
        var hash = RandomNumberGenerator.GetBytes(32);
        var existing = NewDevice(owner);
        Assert.True(await Storage.Devices.CreateAsync(existing, 1, default));
        await Storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = hash, OwnerId = owner, ExpiresAt = T0.AddMinutes(2) }, default);

        var refused = await Storage.Devices.PairAsync(hash, T0, 1, o => NewDevice(o, "Tablet"), default);
        Assert.Equal(DevicePairStatus.QuotaExceeded, refused.Status);
        Assert.Null(refused.Device);
        Assert.Single(await Storage.Devices.ListByOwnerAsync(owner, default));

        Assert.True(await Storage.Devices.DeleteAsync(owner, existing.DeviceId, default));
        var paired = await Storage.Devices.PairAsync(hash, T0.AddMinutes(1), 1, o => NewDevice(o, "Tablet"), default);
        Assert.Equal(DevicePairStatus.Paired, paired.Status);
        Assert.Equal(owner, paired.Device!.OwnerId);
        Assert.Equal("Tablet", Assert.Single(await Storage.Devices.ListByOwnerAsync(owner, default)).Name);
        Assert.NotNull(await Storage.Devices.FindByTokenHashAsync(paired.Device.TokenHash, default));

        // Spent now: a second redemption, and an expired or unknown pairing, are all unavailable.
        Assert.Equal(DevicePairStatus.PairingUnavailable, (await Storage.Devices.PairAsync(hash, T0.AddMinutes(1), 5, o => NewDevice(o), default)).Status);
        var expired = RandomNumberGenerator.GetBytes(32);
        await Storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = expired, OwnerId = owner, ExpiresAt = T0 }, default);
        Assert.Equal(DevicePairStatus.PairingUnavailable, (await Storage.Devices.PairAsync(expired, T0, 5, o => NewDevice(o), default)).Status);
        Assert.Equal(DevicePairStatus.PairingUnavailable,
            (await Storage.Devices.PairAsync(RandomNumberGenerator.GetBytes(32), T0, 5, o => NewDevice(o), default)).Status);
    }

    [Fact]
    public async Task Devices_ConcurrentPairs_OfOnePairing_OneWins_AndOfManyPairings_TheCapHolds()
    {
        var owner = NewId("owner");
        var hash = RandomNumberGenerator.GetBytes(32);
        await Storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = hash, OwnerId = owner, ExpiresAt = T0.AddMinutes(2) }, default);
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ =>
            Storage.Devices.PairAsync(hash, T0, 20, o => NewDevice(o), default).AsTask()));
        Assert.Single(results, r => r.Status == DevicePairStatus.Paired);
        Assert.All(results.Where(r => r.Status != DevicePairStatus.Paired), r => Assert.Equal(DevicePairStatus.PairingUnavailable, r.Status));

        var other = NewId("owner");
        var hashes = Enumerable.Range(0, 8).Select(_ => RandomNumberGenerator.GetBytes(32)).ToList();
        foreach (var h in hashes)
        {
            await Storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = h, OwnerId = other, ExpiresAt = T0.AddMinutes(2) }, default);
        }
        var many = await Task.WhenAll(hashes.Select(h => Storage.Devices.PairAsync(h, T0, 3, o => NewDevice(o), default).AsTask()));
        Assert.Equal(3, many.Count(r => r.Status == DevicePairStatus.Paired));
        Assert.Equal(5, many.Count(r => r.Status == DevicePairStatus.QuotaExceeded));
        Assert.Equal(3, (await Storage.Devices.ListByOwnerAsync(other, default)).Count);
    }

    [Fact]
    public async Task Devices_DeleteExpiredPending_DeletesOnlyOldUnconfirmedDevices()
    {
        var owner = NewId("owner");
        var old = NewDevice(owner, "Old", T0);
        var fresh = NewDevice(owner, "Fresh", T0.AddMinutes(9));
        var confirmed = NewDevice(owner, "Confirmed", T0);
        foreach (var d in new[] { old, fresh, confirmed })
        {
            Assert.True(await Storage.Devices.CreateAsync(d, 10, default));
        }
        Assert.NotNull(await Storage.Devices.UpdateAsync(owner, confirmed.DeviceId, null, true, default));
        var paired = await StorePairedDeviceAsync(owner, T0);

        Assert.Equal(2, await Storage.Devices.DeleteExpiredPendingAsync(T0.AddMinutes(1), 100, default));

        var left = await Storage.Devices.ListByOwnerAsync(owner, default);
        Assert.Equal(["Confirmed", "Fresh"], left.Select(d => d.Name).Order(StringComparer.Ordinal));
        Assert.Null(await Storage.Devices.FindByTokenHashAsync(old.TokenHash, default));
        Assert.Null(await Storage.Devices.FindByTokenHashAsync(paired.TokenHash, default));
        Assert.NotNull(await Storage.Devices.FindByTokenHashAsync(confirmed.TokenHash, default));
        Assert.Equal(0, await Storage.Devices.DeleteExpiredPendingAsync(T0.AddMinutes(1), 100, default));
        // The freed slots count again.
        Assert.True(await Storage.Devices.CreateAsync(NewDevice(owner), 3, default));
        Assert.Equal(2, await Storage.Devices.DeleteExpiredPendingAsync(T0.AddMinutes(9), 100, default));
    }

    private async Task<DeviceRecord> StorePairedDeviceAsync(string owner, DateTimeOffset at)
    {
        var hash = RandomNumberGenerator.GetBytes(32);
        await Storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = hash, OwnerId = owner, ExpiresAt = at.AddMinutes(2) }, default);
        var result = await Storage.Devices.PairAsync(hash, at, 10, o => NewDevice(o, "Paired", at), default);
        Assert.Equal(DevicePairStatus.Paired, result.Status);
        return result.Device!;
    }
}
