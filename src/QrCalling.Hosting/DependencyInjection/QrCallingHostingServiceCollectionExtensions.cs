using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling;
using QrCalling.Hosting;
using QrCalling.Hosting.Http;
using QrCalling.Hosting.Hubs;
using QrCalling.Hosting.Internal;
using QrCalling.Transport;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers QrCalling for ASP.NET Core: the core, SignalR and its <see cref="ITransport"/>, rate limits, health
/// checks, CORS, OpenAPI, problem details and the background sweep. Map the endpoints with <c>app.MapQrCalling()</c>.</summary>
public static class QrCallingHostingServiceCollectionExtensions
{
    /// <summary>The CORS policy applied to QrCalling's endpoints when <see cref="QrCallingHostingOptions.CorsOrigins"/>
    /// is not empty.</summary>
    public const string CorsPolicyName = "QrCalling";

    private const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";
    private static readonly string[] QuietCategories = ["Microsoft.AspNetCore.SignalR", "Microsoft.AspNetCore.Http.Connections"];

    /// <summary>Registers QrCalling with options set in code. Safe to call more than once.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the core options.</param>
    /// <param name="configureHosting">Configures the hosting options.</param>
    public static QrCallingBuilder AddQrCalling(this IServiceCollection services, Action<QrCallingOptions>? configure = null,
        Action<QrCallingHostingOptions>? configureHosting = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddQrCallingCore(configure);
        var hosting = services.AddOptions<QrCallingHostingOptions>();
        if (configureHosting is not null)
        {
            hosting.Configure(configureHosting);
        }
        hosting.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QrCallingHostingOptions>, QrCallingHostingOptionsDataValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QrCallingHostingOptions>, QrCallingHostingOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QrCallingOptions>, PublicBaseUrlValidator>());

        if (services.Any(d => d.ServiceType == typeof(QrCallingHostingMarker)))
        {
            return builder;
        }
        services.AddSingleton<QrCallingHostingMarker>();

        services.TryAddSingleton<ClientKeyHasher>();
        services.TryAddSingleton<IceServerProvider>();
        services.TryAddSingleton<CodeCallLimiter>();
        services.TryAddSingleton<HubRateLimiter>();
        services.TryAddSingleton<AttemptLimiter>();
        services.TryAddSingleton<LongPollLimiter>();
        services.TryAddSingleton<PresenceCounter>();
        services.TryAddSingleton<RestPresence>();
        services.TryAddSingleton<HostingMetrics>();
        services.TryAddSingleton<ReadinessReport>();
        services.TryAddSingleton<ParticipantResolver>();
        services.TryAddSingleton<RecentCallTokens>();
        services.TryAddSingleton<CallerAuthenticator>();
        services.TryAddSingleton<OriginGuard>();
        services.TryAddSingleton<ConnectionCaps>();
        services.TryAddSingleton<ProofOfWork>();
        services.TryAddSingleton<DeviceCredentials>();
        services.TryAddSingleton<HubTickets>();
        services.TryAddSingleton<RoomCreationLimiter>();
        services.TryAddSingleton<RoomNotifier>();
        services.TryAddSingleton<QrCallingConnections>();
        // Device groups only behind a backplane: a single instance addresses a device by its tracked connection ids.
        services.TryAddSingleton(sp => new ConnectionTracker(deviceGroups: sp.GetRequiredService<HubLifetimeManager<CallHub>>() is not DefaultHubLifetimeManager<CallHub>));
        services.TryAddSingleton<DeviceRevocations>();
        services.TryAddSingleton<ITransport, SignalRTransport>();

        services.AddSignalR().AddHubOptions<CallHub>(o => o.AddFilter<CallHubFilter>())
            .AddHubOptions<RoomHub>(o => o.AddFilter<RoomHubFilter>());
        services.TryAddSingleton<CallHubFilter>();
        services.TryAddSingleton<RoomHubFilter>();
        services.AddSingleton<IConfigureOptions<HubOptions<CallHub>>, ConfigureHubSize>();
        services.AddSingleton<IPostConfigureOptions<HubOptions<CallHub>>, CallHubProtocolSetup>();
        services.AddSingleton<IPostConfigureOptions<HubOptions<RoomHub>>, RoomHubProtocolSetup>();
        services.AddSingleton<IConfigureOptions<HubOptions<RoomHub>>, ConfigureRoomHubSize>();
        services.AddSingleton<IPostConfigureOptions<MessagePackHubProtocolOptions>, MessagePackFormatterSetup>();

        services.AddRateLimiter(o =>
        {
            o.AddPolicy<string, ScanRateLimitPolicy>(QrCallingEndpoints.ScanPolicy);
            o.AddPolicy<string, CallsRateLimitPolicy>(QrCallingEndpoints.CallsPolicy);
            o.AddPolicy<string, ParticipantRateLimitPolicy>(QrCallingEndpoints.ParticipantPolicy);
            o.AddPolicy<string, OwnerRequestsRateLimitPolicy>(QrCallingEndpoints.OwnerPolicy);
            o.AddPolicy<string, QrRateLimitPolicy>(QrCallingEndpoints.QrPolicy);
            o.AddPolicy<string, RoomsRateLimitPolicy>(RoomEndpoints.CreatePolicy);
            o.AddPolicy<string, RoomParticipantRateLimitPolicy>(RoomEndpoints.ParticipantPolicy);
        });
        services.AddHealthChecks().AddCheck<StorageHealthCheck>("qrcalling-storage", tags: ["ready"]);
        services.AddCors();
        services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>()
            .Configure<IOptions<QrCallingHostingOptions>>((cors, hostingOptions) =>
            {
                var origins = hostingOptions.Value.CorsOrigins.ToArray();
                if (origins.Length > 0)
                {
                    cors.AddPolicy(CorsPolicyName, p => p.WithOrigins(origins).AllowAnyHeader().WithMethods("GET", "POST", "PUT", "DELETE").AllowCredentials());
                }
            });
        services.AddAuthorization();
        services.AddProblemDetails();
        services.AddOpenApi();
        services.AddHostedService<CallSweepService>();
        services.AddHostedService<MessageSweepService>();
        services.TryAddSingleton<QrCalling.Transport.IOwnerPresence, SignalROwnerPresence>();

        // ASP.NET Core's request-start and request-finish lines (Information) print the query string, which holds the
        // call token (?access_token=) of browser hub connections. Keep that category at Warning so no token is logged.
        services.Configure<LoggerFilterOptions>(o => o.AddFilter(HostingDiagnosticsCategory, LogLevel.Warning));
        // SignalR's dispatcher logs every hub invocation with its arguments at Debug (SDP, candidates with IP addresses,
        // chat ciphertext); the connection layer logs transport details at Trace. The privacy invariant holds at every
        // log level: these stay at Information unless the host opts in with LogHubTraffic (or names a more specific
        // category in its own logging configuration).
        services.AddOptions<LoggerFilterOptions>().Configure<IOptions<QrCallingHostingOptions>>((filters, hostingOptions) =>
        {
            if (!hostingOptions.Value.LogHubTraffic)
            {
                foreach (var category in QuietCategories)
                {
                    filters.AddFilter(category, LogLevel.Information);
                }
            }
        });
        return builder;
    }

    /// <summary>Registers QrCalling and binds <see cref="QrCallingOptions"/> and <see cref="QrCallingHostingOptions"/>
    /// from <paramref name="configuration"/> (a <c>QrCalling</c> section, or the root that holds one).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The <c>QrCalling</c> section or the configuration root.</param>
    public static QrCallingBuilder AddQrCalling(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration is IConfigurationSection { Key: QrCallingOptions.SectionName } s ? s : configuration.GetSection(QrCallingOptions.SectionName);
        services.AddOptions<QrCallingOptions>().Bind(section);
        services.AddOptions<QrCallingHostingOptions>().Configure(o => BindHosting(section, o));
        return services.AddQrCalling();
    }

    // Keys that hold lists: each accepts a comma-separated value (environment variables) or a list (Key:0, Key:1, …).
    private static readonly string[] ListKeys = ["CorsOrigins", "OwnerAuthenticationSchemes", "Stun:Urls", "Turn:Urls", "Turn:PreviousSecrets"];

    private static void BindHosting(IConfigurationSection section, QrCallingHostingOptions options)
    {
        var scalars = section.AsEnumerable(makePathsRelative: true)
            .Where(kv => kv.Value is not null && !ListKeys.Any(k => kv.Key.Equals(k, StringComparison.OrdinalIgnoreCase)
                || kv.Key.StartsWith(k + ":", StringComparison.OrdinalIgnoreCase)));
        new ConfigurationBuilder().AddInMemoryCollection(scalars).Build().Bind(options);
        options.Stun.Urls = JoinList(section.GetSection("Stun:Urls")) ?? options.Stun.Urls;
        options.Turn.Urls = JoinList(section.GetSection("Turn:Urls")) ?? options.Turn.Urls;
        AddList(section.GetSection("CorsOrigins"), options.CorsOrigins);
        AddList(section.GetSection("OwnerAuthenticationSchemes"), options.OwnerAuthenticationSchemes);
        AddList(section.GetSection("Turn:PreviousSecrets"), options.Turn.PreviousSecrets);
    }

    private static IEnumerable<string> ListValues(IConfigurationSection section) =>
        (section.Value is { } value ? [value] : section.GetChildren().Select(c => c.Value ?? ""))
            .SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string? JoinList(IConfigurationSection section)
    {
        var values = ListValues(section).ToArray();
        return values.Length > 0 ? string.Join(',', values) : null;
    }

    private static void AddList(IConfigurationSection section, IList<string> list)
    {
        foreach (var value in ListValues(section))
        {
            if (!list.Contains(value))
            {
                list.Add(value);
            }
        }
    }

    private sealed class QrCallingHostingMarker;

    private sealed class ConfigureRoomHubSize(IOptions<QrCallingOptions> options) : IConfigureOptions<HubOptions<RoomHub>>
    {
        public void Configure(HubOptions<RoomHub> hub) => hub.MaximumReceiveMessageSize = options.Value.Rooms.MaxMessageBytes * 2L + 64 * 1024;
    }

    private sealed class ConfigureHubSize(IOptions<QrCallingOptions> options) : IConfigureOptions<HubOptions<CallHub>>
    {
        public void Configure(HubOptions<CallHub> hub)
        {
            var core = options.Value;
            hub.MaximumReceiveMessageSize = Math.Max(core.MaxSignalDataBytes, core.MaxChatCiphertextBytes) * 2L + 16 * 1024;
        }
    }
}
