using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using QrCalling.Storage.Postgres;
using Xunit;

namespace QrCalling.Storage.Postgres.Tests;

public sealed class OptionsTests
{
    [Theory]
    [InlineData("Bad-Schema", "Schema")]
    [InlineData("", "Schema")]
    [InlineData("1abc", "Schema")]
    public void UsePostgresStorage_BadSchema_FailsValidationNamingTheKey(string schema, string key)
    {
        var message = ValidationMessage(o =>
        {
            o.ConnectionString = "Host=127.0.0.1";
            o.Schema = schema;
        });

        Assert.Contains(key, message, StringComparison.Ordinal);
    }

    [Fact]
    public void UsePostgresStorage_NoConnectionSource_FailsValidationNamingTheKeys()
    {
        var message = ValidationMessage(_ => { });

        Assert.Contains("ConnectionString", message, StringComparison.Ordinal);
        Assert.Contains("DataSource", message, StringComparison.Ordinal);
    }

    [Fact]
    public void UsePostgresStorage_CommandTimeoutZero_FailsValidationNamingTheKey()
    {
        var message = ValidationMessage(o =>
        {
            o.ConnectionString = "Host=127.0.0.1";
            o.CommandTimeout = TimeSpan.Zero;
        });

        Assert.Contains("CommandTimeout", message, StringComparison.Ordinal);
    }

    [Fact]
    public void UsePostgresStorage_ValidOptions_ResolvesPostgresStorage()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddQrCallingCore().UsePostgresStorage(o => o.ConnectionString = "Host=127.0.0.1;Username=postgres");
        services.AddQrCallingCore().UsePostgresStorage(o => o.Schema = "other");
        using var provider = services.BuildServiceProvider();

        Assert.IsType<PostgresStorage>(provider.GetRequiredService<IStorage>());
        Assert.Equal("other", provider.GetRequiredService<IOptions<PostgresStorageOptions>>().Value.Schema);
        Assert.Single(provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<PostgresMigrationHostedService>());
    }

    private static string ValidationMessage(Action<PostgresStorageOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddQrCallingCore().UsePostgresStorage(configure);
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PostgresStorageOptions>>().Value);
        return ex.Message;
    }
}
