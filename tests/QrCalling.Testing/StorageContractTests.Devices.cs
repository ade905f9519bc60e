using System.Security.Cryptography;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

// IDeviceStore and IBackupStore: pairings are single use and expire, devices are per owner, backups keep the latest N.
public abstract partial class StorageContractTests
{
    private static DeviceRecord NewDevice(string owner, string? name = null, DateTimeOffset? createdAt = null) => new()
    {
        DeviceId = NewId("dev"),
        OwnerId = owner,
        Name = name ?? "Phone",
        TokenHash = RandomNumberGenerator.GetBytes(32),
        CreatedAt = createdAt ?? T0,
        CheckCode = "123456",
    };

    [Fact]
    public async Task Devices_Pairing_IsTakenOnce_AndNotAfterItExpired()
    {
        var owner = NewId("owner");
        var hash = RandomNumberGenerator.GetBytes(32);
        var expired = RandomNumberGenerator.GetBytes(32);
        await Storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = hash, OwnerId = owner, ExpiresAt = T0.AddMinutes(2) }, default);
        await Storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = expired, OwnerId = owner, ExpiresAt = T0 }, default);

        var first = await Storage.Devices.TakePairingAsync(hash, T0.AddMinutes(1), default);
        var second = await Storage.Devices.TakePairingAsync(hash, T0.AddMinutes(1), default);

        Assert.Equal(owner, first?.OwnerId);
        Assert.Null(second);
        Assert.Null(await Storage.Devices.TakePairingAsync(expired, T0.AddSeconds(1), default));
        Assert.Null(await Storage.Devices.TakePairingAsync(RandomNumberGenerator.GetBytes(32), T0, default));
    }

    [Fact]
    public async Task Devices_ConcurrentTakes_OneWins()
    {
        var hash = RandomNumberGenerator.GetBytes(32);
        await Storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = hash, OwnerId = NewId("owner"), ExpiresAt = T0.AddMinutes(2) }, default);

        var takes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Storage.Devices.TakePairingAsync(hash, T0, default).AsTask()));

        Assert.Single(takes, t => t is not null);
    }

    [Fact]
    public async Task Devices_DeleteExpiredPairings_DeletesOnlyExpired()
    {
        var live = RandomNumberGenerator.GetBytes(32);
        await Storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = live, OwnerId = "o", ExpiresAt = T0.AddMinutes(5) }, default);
        await Storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = RandomNumberGenerator.GetBytes(32), OwnerId = "o", ExpiresAt = T0 }, default);

        Assert.Equal(1, await Storage.Devices.DeleteExpiredPairingsAsync(T0.AddMinutes(1), 100, default));
        Assert.NotNull(await Storage.Devices.TakePairingAsync(live, T0.AddMinutes(1), default));
    }

    [Fact]
    public async Task Devices_CreateFindListUpdateTouchDelete_RoundTrip()
    {
        var owner = NewId("owner");
        var device = NewDevice(owner, "Kitchen tablet");
        var other = NewDevice(NewId("other"));
        Assert.True(await Storage.Devices.CreateAsync(device, 10, default));
        Assert.True(await Storage.Devices.CreateAsync(other, 10, default));

        var found = await Storage.Devices.FindByTokenHashAsync(device.TokenHash, default);
        Assert.Equal(device.DeviceId, found?.DeviceId);
        Assert.Equal("Kitchen tablet", found?.Name);
        Assert.Equal(T0, found?.CreatedAt);
        Assert.False(found?.Confirmed);
        Assert.Equal("123456", found?.CheckCode);
        Assert.Null(found?.LastSeenAt);

        var renamed = await Storage.Devices.UpdateAsync(owner, device.DeviceId, "Hall", null, default);
        Assert.Equal("Hall", renamed?.Name);
        Assert.False(renamed?.Confirmed);
        var confirmed = await Storage.Devices.UpdateAsync(owner, device.DeviceId, null, true, default);
        Assert.True(confirmed?.Confirmed);
        Assert.Equal("Hall", confirmed?.Name);
        Assert.Null(await Storage.Devices.UpdateAsync(owner, other.DeviceId, "Mine now", null, default));

        await Storage.Devices.TouchAsync(owner, device.DeviceId, T0.AddHours(1), default);
        var listed = Assert.Single(await Storage.Devices.ListByOwnerAsync(owner, default));
        Assert.Equal(T0.AddHours(1), listed.LastSeenAt);
        Assert.True(listed.Confirmed);

        Assert.False(await Storage.Devices.DeleteAsync(owner, other.DeviceId, default));
        Assert.True(await Storage.Devices.DeleteAsync(owner, device.DeviceId, default));
        Assert.False(await Storage.Devices.DeleteAsync(owner, device.DeviceId, default));
        Assert.Null(await Storage.Devices.FindByTokenHashAsync(device.TokenHash, default));
        Assert.Empty(await Storage.Devices.ListByOwnerAsync(owner, default));
        Assert.NotNull(await Storage.Devices.FindByTokenHashAsync(other.TokenHash, default));
    }

    [Fact]
    public async Task Devices_Create_RefusesPastTheCap()
    {
        var owner = NewId("owner");
        Assert.True(await Storage.Devices.CreateAsync(NewDevice(owner), 2, default));
        Assert.True(await Storage.Devices.CreateAsync(NewDevice(owner, createdAt: T0.AddSeconds(1)), 2, default));
        var third = NewDevice(owner);

        Assert.False(await Storage.Devices.CreateAsync(third, 2, default));
        Assert.Null(await Storage.Devices.FindByTokenHashAsync(third.TokenHash, default));
        Assert.Equal(2, (await Storage.Devices.ListByOwnerAsync(owner, default)).Count);
    }

    [Fact]
    public async Task Backups_AddGetList_RoundTripsBytes_AndKeepsTheLatestN()
    {
        var owner = NewId("owner");
        var blobs = Enumerable.Range(0, 4).Select(i => RandomNumberGenerator.GetBytes(1000 + i)).ToArray();
        var versions = new List<BackupVersion>();
        for (var i = 0; i < blobs.Length; i++)
        {
            versions.Add(await Storage.Backups.AddAsync(owner, blobs[i], 3, T0.AddMinutes(i), T0.AddDays(30), default));
        }

        Assert.Equal([1L, 2, 3, 4], versions.Select(v => v.Version));
        var latest = await Storage.Backups.GetAsync(owner, null, T0, default);
        Assert.Equal(4, latest?.Version.Version);
        Assert.Equal(blobs[3], latest!.Content.ToArray());
        Assert.Equal(blobs[1], (await Storage.Backups.GetAsync(owner, 2, T0, default))!.Content.ToArray());
        Assert.Null(await Storage.Backups.GetAsync(owner, 1, T0, default)); // only the latest 3 are kept
        var listed = await Storage.Backups.ListAsync(owner, T0, default);
        Assert.Equal([4L, 3, 2], listed.Select(v => v.Version));
        Assert.Equal(1003, listed[0].Size);
        Assert.Equal(T0.AddMinutes(3), listed[0].CreatedAt);
        Assert.Equal(T0.AddDays(30), listed[0].ExpiresAt);
    }

    [Fact]
    public async Task Backups_AnotherOwner_CannotReadOrDelete()
    {
        var owner = NewId("owner");
        var version = await Storage.Backups.AddAsync(owner, new byte[] { 1, 2, 3 }, 5, T0, T0.AddDays(1), default);
        var stranger = NewId("stranger");

        Assert.Null(await Storage.Backups.GetAsync(stranger, null, T0, default));
        Assert.Null(await Storage.Backups.GetAsync(stranger, version.Version, T0, default));
        Assert.Empty(await Storage.Backups.ListAsync(stranger, T0, default));
        Assert.False(await Storage.Backups.DeleteAsync(stranger, version.Version, default));
        Assert.NotNull(await Storage.Backups.GetAsync(owner, null, T0, default));
    }

    [Fact]
    public async Task Backups_Delete_AndExpiry_AndSweep()
    {
        var owner = NewId("owner");
        var old = await Storage.Backups.AddAsync(owner, new byte[] { 1 }, 5, T0, T0.AddMinutes(10), default);
        var fresh = await Storage.Backups.AddAsync(owner, new byte[] { 2 }, 5, T0, T0.AddDays(10), default);
        var gone = await Storage.Backups.AddAsync(owner, new byte[] { 3 }, 5, T0, T0.AddDays(10), default);

        Assert.True(await Storage.Backups.DeleteAsync(owner, gone.Version, default));
        Assert.False(await Storage.Backups.DeleteAsync(owner, gone.Version, default));
        Assert.Equal(fresh.Version, (await Storage.Backups.GetAsync(owner, null, T0, default))?.Version.Version);
        // Past its TTL a version is not read, even before the sweep.
        Assert.Null(await Storage.Backups.GetAsync(owner, old.Version, T0.AddMinutes(11), default));
        Assert.Equal([fresh.Version], (await Storage.Backups.ListAsync(owner, T0.AddMinutes(11), default)).Select(v => v.Version));

        Assert.Equal(1, await Storage.Backups.DeleteExpiredAsync(T0.AddMinutes(11), 100, default));
        Assert.Equal([fresh.Version], (await Storage.Backups.ListAsync(owner, T0, default)).Select(v => v.Version));
        var next = await Storage.Backups.AddAsync(owner, new byte[] { 4 }, 5, T0, T0.AddDays(10), default);
        Assert.Equal(4, next.Version); // numbers are never reused
    }
}
