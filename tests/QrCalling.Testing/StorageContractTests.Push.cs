using System.Security.Cryptography;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

// The IPushSubscriptionStore part of the storage contract.
public abstract partial class StorageContractTests
{
    /// <summary>A subscription with a fresh endpoint and random keys (as a browser would give them).</summary>
    protected static PushSubscriptionRecord NewPushSubscription(string ownerId, DateTimeOffset? createdAt = null) => new()
    {
        OwnerId = ownerId,
        Endpoint = "https://push.example.test/send/" + Guid.NewGuid().ToString("N"),
        P256dh = Base64Url(RandomNumberGenerator.GetBytes(65)),
        Auth = Base64Url(RandomNumberGenerator.GetBytes(16)),
        CreatedAt = createdAt ?? T0,
    };

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private async Task<List<PushSubscriptionRecord>> PushListAsync(string ownerId)
    {
        var list = new List<PushSubscriptionRecord>();
        await foreach (var s in Storage.PushSubscriptions.ListByOwnerAsync(ownerId, default))
        {
            list.Add(s);
        }
        return list;
    }

    [Fact]
    public async Task Push_SaveThenList_ReturnsEqualRecordsOldestFirst_OnlyToTheirOwner()
    {
        var owner = NewId("owner");
        var second = NewPushSubscription(owner, T0.AddMinutes(1));
        var first = NewPushSubscription(owner, T0);

        Assert.Equal(PushSubscriptionSaveStatus.Added, await Storage.PushSubscriptions.SaveAsync(second, 10, default));
        Assert.Equal(PushSubscriptionSaveStatus.Added, await Storage.PushSubscriptions.SaveAsync(first, 10, default));

        Assert.Equal([first, second], await PushListAsync(owner));
        Assert.Empty(await PushListAsync(NewId("other")));
    }

    [Fact]
    public async Task Push_SaveSameEndpointAgain_ReplacesKeysAndKeepsCreatedAt()
    {
        var owner = NewId("owner");
        var original = NewPushSubscription(owner);
        await Storage.PushSubscriptions.SaveAsync(original, 10, default);
        var renewed = NewPushSubscription(owner, T0.AddHours(1)) with { Endpoint = original.Endpoint };

        Assert.Equal(PushSubscriptionSaveStatus.Updated, await Storage.PushSubscriptions.SaveAsync(renewed, 10, default));

        var stored = Assert.Single(await PushListAsync(owner));
        Assert.Equal(renewed with { CreatedAt = original.CreatedAt }, stored);
    }

    [Fact]
    public async Task Push_SaveOverTheCap_IsRefusedButAnExistingEndpointCanStillBeRenewed()
    {
        var owner = NewId("owner");
        var kept = new List<PushSubscriptionRecord>();
        for (var i = 0; i < 3; i++)
        {
            var s = NewPushSubscription(owner, T0.AddSeconds(i));
            kept.Add(s);
            Assert.Equal(PushSubscriptionSaveStatus.Added, await Storage.PushSubscriptions.SaveAsync(s, 3, default));
        }

        Assert.Equal(PushSubscriptionSaveStatus.LimitReached, await Storage.PushSubscriptions.SaveAsync(NewPushSubscription(owner), 3, default));
        Assert.Equal(PushSubscriptionSaveStatus.Updated,
            await Storage.PushSubscriptions.SaveAsync(NewPushSubscription(owner) with { Endpoint = kept[0].Endpoint }, 3, default));
        Assert.Equal(3, (await PushListAsync(owner)).Count);
        // Another owner has its own cap.
        Assert.Equal(PushSubscriptionSaveStatus.Added, await Storage.PushSubscriptions.SaveAsync(NewPushSubscription(NewId("other")), 3, default));
    }

    [Fact]
    public async Task Push_ConcurrentSaves_NeverPassTheCap()
    {
        var owner = NewId("owner");
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Task.Run(async () => await Storage.PushSubscriptions.SaveAsync(NewPushSubscription(owner, T0.AddSeconds(i)), 5, default))));

        Assert.Equal(5, results.Count(r => r == PushSubscriptionSaveStatus.Added));
        Assert.Equal(15, results.Count(r => r == PushSubscriptionSaveStatus.LimitReached));
        Assert.Equal(5, (await PushListAsync(owner)).Count);
    }

    [Fact]
    public async Task Push_Delete_RemovesOnlyThatOwnersEndpoint()
    {
        var owner = NewId("owner");
        var other = NewId("other");
        var mine = NewPushSubscription(owner);
        var theirs = mine with { OwnerId = other };
        var keep = NewPushSubscription(owner, T0.AddSeconds(1));
        await Storage.PushSubscriptions.SaveAsync(mine, 10, default);
        await Storage.PushSubscriptions.SaveAsync(theirs, 10, default);
        await Storage.PushSubscriptions.SaveAsync(keep, 10, default);

        Assert.True(await Storage.PushSubscriptions.DeleteAsync(owner, mine.Endpoint, default));
        Assert.False(await Storage.PushSubscriptions.DeleteAsync(owner, mine.Endpoint, default));

        Assert.Equal([keep], await PushListAsync(owner));
        Assert.Equal([theirs], await PushListAsync(other));
    }

    [Fact]
    public async Task Push_VapidKeys_TheFirstStoredPairWins_AlsoUnderConcurrency()
    {
        var candidates = Enumerable.Range(0, 8).Select(i => new VapidKeyPair("pub" + i, "priv" + i)).ToArray();

        var results = await Task.WhenAll(candidates.Select(c => Task.Run(async () => await Storage.PushSubscriptions.GetOrAddVapidKeysAsync(c, default))));

        var winner = results[0];
        Assert.Contains(winner, candidates);
        Assert.All(results, r => Assert.Equal(winner, r));
        Assert.Equal(winner, await Storage.PushSubscriptions.GetOrAddVapidKeysAsync(new VapidKeyPair("later", "later"), default));
    }
}
