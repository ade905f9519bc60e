using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Client;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="QrCallingOwnerClient"/> and <see cref="QrCallingCallerClient"/> over a named
/// <see cref="HttpClient"/> from <c>IHttpClientFactory</c>.</summary>
public static class QrCallingClientServiceCollectionExtensions
{
    /// <summary>The name of the <see cref="HttpClient"/> the clients use.</summary>
    public const string HttpClientName = "QrCalling.Client";

    /// <summary>Registers both clients (transient) and their named <see cref="HttpClient"/>; safe to call again (each
    /// configure delegate applies). To take the owner's token from a service, configure the options with it:
    /// <c>services.AddOptions&lt;QrCallingClientOptions&gt;().Configure&lt;MyTokens&gt;((o, t) =&gt; o.OwnerAccessToken = t.GetAsync)</c>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the host's address and the other options.</param>
    /// <returns>The HTTP client's builder, to add handlers (retries, logging, a proxy).</returns>
    public static IHttpClientBuilder AddQrCallingClient(this IServiceCollection services, Action<QrCallingClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<QrCallingClientOptions>().Configure(configure);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddTransient(sp => new QrCallingOwnerClient(HttpClientOf(sp), sp.GetRequiredService<IOptions<QrCallingClientOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(), sp.GetService<ILoggerFactory>()));
        services.TryAddTransient(sp => new QrCallingCallerClient(HttpClientOf(sp), sp.GetRequiredService<IOptions<QrCallingClientOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(), sp.GetService<ILoggerFactory>()));
        return services.AddHttpClient(HttpClientName);
    }

    private static HttpClient HttpClientOf(IServiceProvider services) => services.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName);
}
