using Microsoft.Extensions.DependencyInjection;

namespace QrCalling.Client.Tests.Calls;

/// <summary><c>AddQrCallingClient</c>: both clients from DI over the factory's named HttpClient, safe to call twice.</summary>
public sealed class RegistrationTests
{
    [Fact]
    public async Task AddQrCallingClient_TwiceWithTheOwnersToken_ResolvesWorkingClients_AndAppliesEveryConfigure()
    {
        await using var host = await ClientTestHost.StartAsync();
        var services = new ServiceCollection();
        var handlerUsed = 0;
        services.AddQrCallingClient(o => o.BaseAddress = host.Address)
            .AddHttpMessageHandler(() => new CountingHandler(() => Interlocked.Increment(ref handlerUsed)));
        services.AddQrCallingClient(o => o.OwnerAccessToken = _ => ValueTask.FromResult("test-owner-carol"));
        await using var provider = services.BuildServiceProvider();

        var owner = provider.GetRequiredService<QrCallingOwnerClient>();
        var code = await owner.CreateCodeAsync(new CodeSettings { Label = "From DI" });
        var scan = await provider.GetRequiredService<QrCallingCallerClient>().ScanAsync(code.Payload);

        Assert.Equal("From DI", scan.Label);
        Assert.Equal(2, handlerUsed);
        Assert.Single(services, s => s.ServiceType == typeof(QrCallingOwnerClient));
        Assert.Single(services, s => s.ServiceType == typeof(QrCallingCallerClient));
    }

    [Fact]
    public void Options_WithoutABaseAddressOrOwnerToken_AreRefusedNamingTheOption()
    {
        var noAddress = Assert.Throws<ArgumentException>(() => new QrCallingCallerClient(new HttpClient(), new QrCallingClientOptions()));
        Assert.Contains("BaseAddress", noAddress.Message);
        var noToken = Assert.Throws<ArgumentException>(() => new QrCallingOwnerClient(new HttpClient(), new QrCallingClientOptions { BaseAddress = new Uri("http://127.0.0.1/") }));
        Assert.Contains("OwnerAccessToken", noToken.Message);
        var noDelays = Assert.Throws<ArgumentException>(() => new QrCallingCallerClient(new HttpClient(), new QrCallingClientOptions { BaseAddress = new Uri("http://127.0.0.1/"), ReconnectDelays = [] }));
        Assert.Contains("ReconnectDelays", noDelays.Message);
    }

    private sealed class CountingHandler(Action onSend) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            onSend();
            return base.SendAsync(request, cancellationToken);
        }
    }
}
