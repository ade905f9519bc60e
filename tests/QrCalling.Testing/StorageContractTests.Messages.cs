using Microsoft.Extensions.Time.Testing;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

// The IMessageStore part of the storage contract: keys, one message per call, the per-owner cap, expiry and the sweep.
public abstract partial class StorageContractTests
{
    /// <summary>A message for a fresh call of <paramref name="ownerId"/>, created at <paramref name="createdAt"/> (T0 by
    /// default) and expiring a week later.</summary>
    protected static StoredMessage NewMessage(string ownerId, string? callId = null, DateTimeOffset? createdAt = null, TimeSpan? lifetime = null)
    {
        var created = createdAt ?? T0;
        return new StoredMessage
        {
            MessageId = NewId("m"),
            OwnerId = ownerId,
            CallId = callId ?? NewId("call"),
            CodeId = NewId("c"),
            Label = "Blue van",
            KeyId = "kid-" + Guid.NewGuid().ToString("N")[..8],
            EphemeralPublicKey = "BEPK" + Guid.NewGuid().ToString("N"),
            Iv = "aXYtMTItYnl0ZXM",
            Ciphertext = Convert.ToBase64String(Guid.NewGuid().ToByteArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
            CreatedAt = created,
            ExpiresAt = created + (lifetime ?? TimeSpan.FromDays(7)),
        };
    }

    [Fact]
    public async Task Messages_SetKey_ThenGet_ReturnsTheLatestKeyToItsOwnerOnly()
    {
        var owner = NewId("owner");
        Assert.Null(await Storage.Messages.GetKeyAsync(owner, default));

        await Storage.Messages.SetKeyAsync(new OwnerMessageKey { OwnerId = owner, PublicKey = "pk-1", KeyId = "k1", UpdatedAt = T0 }, default);
        await Storage.Messages.SetKeyAsync(new OwnerMessageKey { OwnerId = owner, PublicKey = "pk-2", KeyId = "k2", UpdatedAt = T0.AddMinutes(1) }, default);

        var key = await Storage.Messages.GetKeyAsync(owner, default);
        Assert.NotNull(key);
        Assert.Equal(new OwnerMessageKey { OwnerId = owner, PublicKey = "pk-2", KeyId = "k2", UpdatedAt = T0.AddMinutes(1) }, key);
        Assert.Null(await Storage.Messages.GetKeyAsync(NewId("other"), default));
    }

    [Fact]
    public async Task Messages_AddThenList_ReturnsEqualRecordsNewestFirst()
    {
        var owner = NewId("owner");
        var older = NewMessage(owner, createdAt: T0);
        var newer = NewMessage(owner, createdAt: T0.AddMinutes(5));
        Assert.Equal(MessageAddStatus.Added, await Storage.Messages.TryAddAsync(older, 10, T0, default));
        Assert.Equal(MessageAddStatus.Added, await Storage.Messages.TryAddAsync(newer, 10, T0.AddMinutes(5), default));
        Assert.Equal(MessageAddStatus.Added, await Storage.Messages.TryAddAsync(NewMessage(NewId("other")), 10, T0, default));

        var list = await Storage.Messages.ListByOwnerAsync(owner, T0.AddMinutes(6), 10, default);

        Assert.Equal([newer, older], list);
        Assert.Equal([newer], await Storage.Messages.ListByOwnerAsync(owner, T0.AddMinutes(6), 1, default));
    }

    [Fact]
    public async Task Messages_SecondAddForOneCall_IsExistsAndChangesNothing()
    {
        var owner = NewId("owner");
        var first = NewMessage(owner);
        var second = NewMessage(owner, callId: first.CallId);

        Assert.Equal(MessageAddStatus.Added, await Storage.Messages.TryAddAsync(first, 10, T0, default));
        Assert.Equal(MessageAddStatus.Exists, await Storage.Messages.TryAddAsync(second, 10, T0, default));

        Assert.Equal([first], await Storage.Messages.ListByOwnerAsync(owner, T0, 10, default));
    }

    [Fact]
    public async Task Messages_ConcurrentAddsForOneCall_ExactlyOneWins()
    {
        var owner = NewId("owner");
        var callId = NewId("call");
        var adds = Enumerable.Range(0, 16).Select(_ => NewMessage(owner, callId: callId)).ToList();

        var results = await Task.WhenAll(adds.Select(m => Task.Run(async () => await Storage.Messages.TryAddAsync(m, 100, T0, default))));

        Assert.Equal(1, results.Count(r => r == MessageAddStatus.Added));
        Assert.Equal(15, results.Count(r => r == MessageAddStatus.Exists));
        var stored = Assert.Single(await Storage.Messages.ListByOwnerAsync(owner, T0, 100, default));
        Assert.Equal(adds[Array.IndexOf(results, MessageAddStatus.Added)], stored);
    }

    [Fact]
    public async Task Messages_OwnerAtTheCap_IsOwnerFull_ExpiredOnesDoNotCount()
    {
        var owner = NewId("owner");
        var shortLived = NewMessage(owner, lifetime: TimeSpan.FromMinutes(1));
        Assert.Equal(MessageAddStatus.Added, await Storage.Messages.TryAddAsync(shortLived, 2, T0, default));
        Assert.Equal(MessageAddStatus.Added, await Storage.Messages.TryAddAsync(NewMessage(owner), 2, T0, default));

        Assert.Equal(MessageAddStatus.OwnerFull, await Storage.Messages.TryAddAsync(NewMessage(owner), 2, T0, default));
        Assert.Equal(MessageAddStatus.Added, await Storage.Messages.TryAddAsync(NewMessage(NewId("other")), 2, T0, default));
        // Once the short-lived one expired, there is room again, before any sweep ran.
        var later = NewMessage(owner, createdAt: T0.AddMinutes(2));
        Assert.Equal(MessageAddStatus.Added, await Storage.Messages.TryAddAsync(later, 2, T0.AddMinutes(2), default));
        Assert.Equal(2, (await Storage.Messages.ListByOwnerAsync(owner, T0.AddMinutes(2), 10, default)).Count);
    }

    [Fact]
    public async Task Messages_ConcurrentAddsForOneOwner_NeverPassTheCap()
    {
        var owner = NewId("owner");

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
            await Storage.Messages.TryAddAsync(NewMessage(owner), 5, T0, default))));

        Assert.Equal(5, results.Count(r => r == MessageAddStatus.Added));
        Assert.Equal(15, results.Count(r => r == MessageAddStatus.OwnerFull));
        Assert.Equal(5, (await Storage.Messages.ListByOwnerAsync(owner, T0, 100, default)).Count);
    }

    [Fact]
    public async Task Messages_Delete_OnlyByItsOwner()
    {
        var owner = NewId("owner");
        var message = NewMessage(owner);
        await Storage.Messages.TryAddAsync(message, 10, T0, default);

        Assert.False(await Storage.Messages.DeleteAsync(NewId("other"), message.MessageId, default));
        Assert.Single(await Storage.Messages.ListByOwnerAsync(owner, T0, 10, default));
        Assert.False(await Storage.Messages.DeleteAsync(owner, NewId("m"), default));

        Assert.True(await Storage.Messages.DeleteAsync(owner, message.MessageId, default));
        Assert.False(await Storage.Messages.DeleteAsync(owner, message.MessageId, default));
        Assert.Empty(await Storage.Messages.ListByOwnerAsync(owner, T0, 10, default));
    }

    [Fact]
    public async Task Messages_PastTheirTtl_AreHiddenThenSweptInBatches()
    {
        var clock = new FakeTimeProvider(T0);
        var owner = NewId("owner");
        var expiring = Enumerable.Range(0, 3).Select(i => NewMessage(owner, createdAt: T0.AddSeconds(i), lifetime: TimeSpan.FromHours(1))).ToList();
        var kept = NewMessage(owner, createdAt: T0, lifetime: TimeSpan.FromDays(7));
        foreach (var message in expiring.Append(kept))
        {
            Assert.Equal(MessageAddStatus.Added, await Storage.Messages.TryAddAsync(message, 10, clock.GetUtcNow(), default));
        }
        Assert.Equal(0, await Storage.Messages.DeleteExpiredAsync(clock.GetUtcNow(), 10, default));

        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1)); // past the first two, not the third
        Assert.Equal([expiring[2], kept], await Storage.Messages.ListByOwnerAsync(owner, clock.GetUtcNow(), 10, default));

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal([kept], await Storage.Messages.ListByOwnerAsync(owner, clock.GetUtcNow(), 10, default));
        Assert.Equal(2, await Storage.Messages.DeleteExpiredAsync(clock.GetUtcNow(), 2, default));
        Assert.Equal(1, await Storage.Messages.DeleteExpiredAsync(clock.GetUtcNow(), 2, default));
        Assert.Equal(0, await Storage.Messages.DeleteExpiredAsync(clock.GetUtcNow(), 2, default));
        Assert.Equal([kept], await Storage.Messages.ListByOwnerAsync(owner, clock.GetUtcNow(), 10, default));
        // A swept message frees its call: nothing of it is left.
        Assert.Equal(MessageAddStatus.Added,
            await Storage.Messages.TryAddAsync(NewMessage(owner, callId: expiring[0].CallId, createdAt: clock.GetUtcNow()), 10, clock.GetUtcNow(), default));
    }
}
