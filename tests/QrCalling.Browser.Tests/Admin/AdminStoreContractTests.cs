using QrCalling.SampleHost.Admin;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Browser.Tests.Admin;

/// <summary>The admin console's store contract, run against each store (memory, PostgreSQL, Redis), each test in a fresh
/// schema or key prefix, so all three keep every field and behave the same.</summary>
public abstract class AdminStoreContractTests : IAsyncLifetime
{
    private IAdminStore _store = null!;

    protected abstract IAdminStore CreateStore();

    public Task InitializeAsync()
    {
        _store = CreateStore();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Settings_NoneSaved_AreDefaults_SavedAreReadBackWithEveryField()
    {
        var defaults = await _store.GetSettingsAsync(default);
        var changed = new AdminSettings { MaintenanceMode = true, MaxCallDurationMinutes = 15, AnalyticsEnabled = false, FeedbackEnabled = false, RegistrationOpen = false };

        await _store.SaveSettingsAsync(changed, default);
        var read = await _store.GetSettingsAsync(default);
        await _store.SaveSettingsAsync(changed with { MaintenanceMode = false, MaxCallDurationMinutes = null }, default);
        var again = await _store.GetSettingsAsync(default);

        Assert.Equal(new AdminSettings(), defaults);
        Assert.True(defaults.RegistrationOpen && defaults.FeedbackEnabled && defaults.AnalyticsEnabled && !defaults.MaintenanceMode);
        Assert.Equal(changed, read);
        Assert.Equal(changed with { MaintenanceMode = false, MaxCallDurationMinutes = null }, again);
    }

    [Fact]
    public async Task Feedback_ListedNewestFirst_KeepsTheNewest_DeleteById()
    {
        for (var i = 0; i < 5; i++)
        {
            await _store.AddFeedbackAsync(new FeedbackEntry($"fb_{i}", T0.AddMinutes(i), $"message \"{i}\" \"id\":\"fb_0\",", i == 2 ? "me@example.com" : null), keep: 4, default);
        }

        var list = await _store.ListFeedbackAsync(10, default);
        var limited = await _store.ListFeedbackAsync(2, default);
        var deleted = await _store.DeleteFeedbackAsync("fb_2", default);
        var deletedAgain = await _store.DeleteFeedbackAsync("fb_2", default);
        var after = await _store.ListFeedbackAsync(10, default);

        Assert.Equal(["fb_4", "fb_3", "fb_2", "fb_1"], list.Select(f => f.Id));
        Assert.Equal(new FeedbackEntry("fb_2", T0.AddMinutes(2), "message \"2\" \"id\":\"fb_0\",", "me@example.com"), list[2]);
        Assert.Null(list[0].Contact);
        Assert.Equal(["fb_4", "fb_3"], limited.Select(f => f.Id));
        Assert.True(deleted);
        Assert.False(deletedAgain);
        Assert.Equal(["fb_4", "fb_3", "fb_1"], after.Select(f => f.Id));
    }

    [Fact]
    public async Task Waitlist_AddressOnceCaseInsensitively_NewestFirst_DeleteFreesTheAddress()
    {
        Assert.True(await _store.AddWaitlistAsync(new WaitlistEntry("wl_a", T0, "Ann@Example.com"), default));
        Assert.True(await _store.AddWaitlistAsync(new WaitlistEntry("wl_b", T0.AddHours(1), "bob@example.com"), default));
        Assert.False(await _store.AddWaitlistAsync(new WaitlistEntry("wl_c", T0.AddHours(2), "ann@example.COM"), default));

        var list = await _store.ListWaitlistAsync(10, default);
        Assert.Equal([new WaitlistEntry("wl_b", T0.AddHours(1), "bob@example.com"), new WaitlistEntry("wl_a", T0, "Ann@Example.com")], list);

        Assert.True(await _store.DeleteWaitlistAsync("wl_a", default));
        Assert.False(await _store.DeleteWaitlistAsync("wl_a", default));
        Assert.True(await _store.AddWaitlistAsync(new WaitlistEntry("wl_d", T0.AddHours(3), "ann@example.com"), default));
        Assert.Equal(["wl_d", "wl_b"], (await _store.ListWaitlistAsync(10, default)).Select(w => w.Id));
    }

    [Fact]
    public async Task Waitlist_DeleteBefore_DeletesOnlyOlderAddresses()
    {
        await _store.AddWaitlistAsync(new WaitlistEntry("wl_old", T0, "old@example.com"), default);
        await _store.AddWaitlistAsync(new WaitlistEntry("wl_edge", T0.AddDays(1), "edge@example.com"), default);
        await _store.AddWaitlistAsync(new WaitlistEntry("wl_new", T0.AddDays(2), "new@example.com"), default);

        Assert.Equal(1, await _store.DeleteWaitlistBeforeAsync(T0.AddDays(1), default));
        Assert.Equal(["wl_new", "wl_edge"], (await _store.ListWaitlistAsync(10, default)).Select(w => w.Id));
        Assert.True(await _store.AddWaitlistAsync(new WaitlistEntry("wl_again", T0.AddDays(3), "old@example.com"), default)); // its address is free again
    }

    [Fact]
    public async Task Analytics_AddsUpPerBucket_ListsFromAnHourInOrder_DeleteBefore()
    {
        var h0 = T0;
        var h1 = T0.AddHours(1);
        await _store.AddAnalyticsAsync([new(h1, "scans", "ok", 2), new(h0, "scans", "ok", 1), new(h0, "calls_ended", "hangup", 1)], default);
        await _store.AddAnalyticsAsync([new(h1, "scans", "ok", 3), new(h1, "scans", "unavailable", 1)], default);
        await _store.AddAnalyticsAsync([], default);

        var all = await _store.ListAnalyticsAsync(h0, default);
        var later = await _store.ListAnalyticsAsync(h1, default);
        var deleted = await _store.DeleteAnalyticsBeforeAsync(h1, default);
        var left = await _store.ListAnalyticsAsync(h0, default);

        Assert.Equal([new(h0, "calls_ended", "hangup", 1), new(h0, "scans", "ok", 1), new(h1, "scans", "ok", 5), new AnalyticsBucket(h1, "scans", "unavailable", 1)], all);
        Assert.Equal([new(h1, "scans", "ok", 5), new AnalyticsBucket(h1, "scans", "unavailable", 1)], later);
        Assert.Equal(2, deleted);
        Assert.Equal(later, left);
    }

    [Fact]
    public async Task Analytics_ConcurrentIncrements_AreNotLost()
    {
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _store.AddAnalyticsAsync([new(T0, "scans", "ok", 1)], default).AsTask()));

        Assert.Equal(20, Assert.Single(await _store.ListAnalyticsAsync(T0, default)).Count);
    }
}

public sealed class InMemoryAdminStoreTests : AdminStoreContractTests
{
    protected override IAdminStore CreateStore() => new InMemoryAdminStore();
}

public sealed class PostgresAdminStoreTests : AdminStoreContractTests
{
    protected override IAdminStore CreateStore() => new PostgresAdminStore(TestServers.Postgres, "admin_" + Guid.NewGuid().ToString("N")[..16]);
}

public sealed class RedisAdminStoreTests : AdminStoreContractTests
{
    protected override IAdminStore CreateStore() => new RedisAdminStore(TestServers.Redis, "admin-test:" + Guid.NewGuid().ToString("N") + ":");
}
