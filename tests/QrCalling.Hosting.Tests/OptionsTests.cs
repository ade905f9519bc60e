using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace QrCalling.Hosting.Tests;

public sealed class OptionsTests
{
    [Theory]
    [InlineData("turn:127.0.0.1:3478", null, "QrCalling:Turn:SharedSecret")]
    [InlineData("http://turn.example.org", "secret", "QrCalling:Turn:Urls")]
    [InlineData(null, null, null)]
    public async Task Startup_TurnSettings_FailWithMessageNamingTheKey(string? urls, string? secret, string? key)
    {
        var settings = new Dictionary<string, string?> { ["QrCalling:Turn:Urls"] = urls, ["QrCalling:Turn:SharedSecret"] = secret };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var start = async () =>
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddQrCalling(configuration);
            await using var provider = services.BuildServiceProvider();
            return provider.GetRequiredService<IOptions<QrCallingHostingOptions>>().Value;
        };
        if (key is null)
        {
            Assert.Null((await start()).Turn.Urls);
            return;
        }
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(start);
        Assert.Contains(key, ex.Message);
    }

    [Fact]
    public async Task Startup_CallsPerCodeBelowCallsPerClient_FailsNamingTheKey()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => TestHost.StartAsync(hosting: o =>
        {
            o.RateLimits.CallsPerClient = 10;
            o.RateLimits.CallsPerCode = 9;
        }));
        Assert.Contains("QrCalling:RateLimits:CallsPerCode", ex.Message);
    }

    [Fact]
    public void RateLimitDefaults_CallsPerCode_ThreeTimesCallsPerClient()
    {
        var limits = new QrCallingRateLimitOptions();
        Assert.Equal(10, limits.CallsPerClient);
        Assert.Equal(30, limits.CallsPerCode);
    }

    [Fact]
    public async Task Startup_InvalidTurnOnWebHost_StopsStartup()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestHost.StartAsync(hosting: o => o.Turn.Urls = "turn:127.0.0.1:3478"));
        Assert.Contains("QrCalling:Turn:SharedSecret", ex.Message);
    }

    [Fact]
    public void AddQrCalling_ConfigurationWithListsAndScalars_BindsAll()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["QrCalling:PublicBaseUrl"] = "https://call.example.org/c",
            ["QrCalling:Stun:Urls:0"] = "stun:a.example.org",
            ["QrCalling:Stun:Urls:1"] = "stun:b.example.org",
            ["QrCalling:Turn:Urls"] = "turn:t.example.org, turns:t.example.org:5349",
            ["QrCalling:Turn:SharedSecret"] = "s3cret",
            ["QrCalling:CorsOrigins"] = "https://a.example.org,https://b.example.org",
            ["QrCalling:RateLimits:ScansPerClient"] = "7",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddQrCalling(configuration);
        using var provider = services.BuildServiceProvider();
        var hosting = provider.GetRequiredService<IOptions<QrCallingHostingOptions>>().Value;
        Assert.Equal("stun:a.example.org,stun:b.example.org", hosting.Stun.Urls);
        Assert.Equal("turn:t.example.org,turns:t.example.org:5349", hosting.Turn.Urls);
        Assert.Equal(["https://a.example.org", "https://b.example.org"], hosting.CorsOrigins);
        Assert.Equal(7, hosting.RateLimits.ScansPerClient);
        Assert.Equal("https://call.example.org/c", provider.GetRequiredService<IOptions<QrCallingOptions>>().Value.PublicBaseUrl);
    }

    [Theory]
    [InlineData("Production", "*", null, false)]
    [InlineData("Production", "", null, false)]
    [InlineData("Staging", "localhost;*", null, false)]
    [InlineData("Production", "call.example.org", null, true)]
    [InlineData("Production", "*", "https://call.example.org/c", true)]
    [InlineData("Development", "*", null, true)]
    public async Task Startup_NoPublicBaseUrlOutsideDevelopment_NeedsRestrictedAllowedHosts(string environment, string allowedHosts, string? publicBaseUrl, bool starts)
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder(new Microsoft.AspNetCore.Builder.WebApplicationOptions { EnvironmentName = environment });
        Microsoft.AspNetCore.TestHost.WebHostBuilderExtensions.UseTestServer(builder.WebHost);
        builder.Configuration["AllowedHosts"] = allowedHosts;
        builder.Services.AddQrCalling(o => o.PublicBaseUrl = publicBaseUrl);
        await using var app = builder.Build();
        var start = () => app.StartAsync();

        if (starts)
        {
            await start();
            return;
        }
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(start);
        Assert.Contains("QrCalling:PublicBaseUrl is required outside Development", ex.Message);
        Assert.Contains("AllowedHosts", ex.Message);
    }
}
