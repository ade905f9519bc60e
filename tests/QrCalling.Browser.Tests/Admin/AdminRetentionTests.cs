using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using QrCalling.SampleHost;
using QrCalling.SampleHost.Admin;
using Xunit;

namespace QrCalling.Browser.Tests.Admin;

/// <summary>Issue 13: the admin data's retention sweep and the admin console's settings (no default admin; a bad value
/// stops start-up naming its key).</summary>
public sealed class AdminRetentionTests
{
    [Fact]
    public async Task Sweep_DeletesWaitlistAndAnalyticsPastTheirRetention_KeepsTheRest()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new InMemoryAdminStore();
        var settings = new AdminConsoleSettings { WaitlistRetention = TimeSpan.FromDays(30), AnalyticsRetention = TimeSpan.FromDays(10) };
        var retention = new AdminRetention(store, settings, time);
        var now = time.GetUtcNow();
        await store.AddWaitlistAsync(new WaitlistEntry("wl_old", now.AddDays(-31), "old@example.com"), default);
        await store.AddWaitlistAsync(new WaitlistEntry("wl_new", now.AddDays(-29), "new@example.com"), default);
        await store.AddAnalyticsAsync([new(now.AddDays(-11), "scans", "ok", 1), new(now.AddDays(-9), "scans", "ok", 2)], default);

        var swept = await retention.SweepAsync(default);
        var again = await retention.SweepAsync(default);

        Assert.Equal((1, 1), swept);
        Assert.Equal((0, 0), again);
        Assert.Equal(["wl_new"], (await store.ListWaitlistAsync(10, default)).Select(w => w.Id));
        Assert.Equal(2, Assert.Single(await store.ListAnalyticsAsync(DateTimeOffset.MinValue, default)).Count);
    }

    [Fact]
    public void Settings_NoAdminByDefault_NamesAreReadCommaSeparated()
    {
        var none = AdminConsoleSettings.From(new ConfigurationBuilder().Build());
        var two = AdminConsoleSettings.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["QrCalling:Sample:Admins"] = " alice , Bob.Admin ",
        }).Build());

        Assert.Empty(none.Admins);
        Assert.Equal(TimeSpan.FromDays(90), none.WaitlistRetention);
        Assert.True(two.Admins.SetEquals(["alice", "bob.admin"]));
    }

    [Theory]
    [InlineData("--QrCalling:Sample:Admins=al", "QrCalling:Sample:Admins")]
    [InlineData("--QrCalling:Sample:Admins=alice,b c d", "QrCalling:Sample:Admins")]
    [InlineData("--QrCalling:Sample:WaitlistRetentionDays=0", "QrCalling:Sample:WaitlistRetentionDays")]
    [InlineData("--QrCalling:Sample:PublicPermitsPerMinute=lots", "QrCalling:Sample:PublicPermitsPerMinute")]
    public async Task Start_BadAdminSetting_PrintsOneLineNamingTheKeyAndExits1(string setting, string key)
    {
        using var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var exitCode = await SampleHostApp.RunAsync(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=None", setting], error, timeout.Token);

        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1, exitCode);
        Assert.Contains(key, Assert.Single(lines), StringComparison.Ordinal);
    }
}
