using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QrCalling;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Diagnostics;
using QrCalling.Storage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The root builder returned by <c>AddQrCalling</c>/<see cref="QrCallingServiceCollectionExtensions.AddQrCallingCore"/>;
/// storage and transport adapters add verbs to it (<c>.UsePostgresStorage(…)</c>, <c>.UseRedisStorage(…)</c>).</summary>
public sealed class QrCallingBuilder
{
    internal QrCallingBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Replaces the storage (the in-memory store is the default) with an adapter's implementation.</summary>
    public QrCallingBuilder UseStorage<TStorage>() where TStorage : class, IStorage
    {
        Services.Replace(ServiceDescriptor.Singleton<IStorage, TStorage>());
        return this;
    }

    /// <summary>Replaces the default <see cref="IQrCallingRuntimeSettings"/> (nothing changed at run time) with the host's,
    /// e.g. settings an admin console keeps in the host's store.</summary>
    public QrCallingBuilder UseRuntimeSettings(Func<IServiceProvider, IQrCallingRuntimeSettings> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.Replace(ServiceDescriptor.Singleton(factory));
        return this;
    }

    /// <summary>Replaces the storage with one built by a factory.</summary>
    public QrCallingBuilder UseStorage(Func<IServiceProvider, IStorage> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.Replace(ServiceDescriptor.Singleton(factory));
        return this;
    }
}

/// <summary>Registers QrCalling's core services.</summary>
public static class QrCallingServiceCollectionExtensions
{
    /// <summary>Registers the core (code and call services, hashing, QR rendering, metrics) with the in-memory store as
    /// the default storage, and validates <see cref="QrCallingOptions"/> at start-up. Safe to call more than once.
    /// ASP.NET Core apps call <c>AddQrCalling</c> from QrCalling.Hosting instead, which calls this.</summary>
    public static QrCallingBuilder AddQrCallingCore(this IServiceCollection services, Action<QrCallingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<QrCallingOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QrCallingOptions>, QrCallingOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QrCallingOptions>, SessionQrOptionsValidator>());

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<QrCallingMetrics>();
        services.TryAddSingleton<TokenHasher>();
        services.TryAddSingleton<QrRenderer>();
        services.TryAddSingleton<ISessionQrSigner, SessionQrKeyRing>();
        services.TryAddSingleton<IStorage, InMemoryStorage>();
        // CallService's constructor is internal too (it takes internal types). ITransport comes from the hosting package.
        services.TryAddSingleton(sp => new CallService(
            sp.GetRequiredService<IStorage>(),
            sp.GetRequiredService<QrCalling.Transport.ITransport>(),
            sp.GetRequiredService<CodeResolver>(),
            sp.GetRequiredService<TokenHasher>(),
            sp.GetRequiredService<IOptions<QrCallingOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<CallService>>(),
            sp.GetRequiredService<QrCallingMetrics>(),
            sp.GetRequiredService<IQrCallingRuntimeSettings>()));
        services.TryAddSingleton<IQrCallingRuntimeSettings, DefaultRuntimeSettings>();
        services.TryAddSingleton(sp => new CodeResolver(
            sp.GetRequiredService<IStorage>(),
            sp.GetRequiredService<TokenHasher>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<QrCallingMetrics>(),
            sp.GetRequiredService<CallerControlService>(),
            sp.GetService<ISessionQrSigner>()));
        // CodeService's constructor is internal (it takes internal types), which the container does not call by itself.
        services.TryAddSingleton(sp => new CodeService(
            sp.GetRequiredService<IStorage>(),
            sp.GetRequiredService<TokenHasher>(),
            sp.GetRequiredService<CallService>().CodeCallEnder,
            sp.GetRequiredService<IOptions<QrCallingOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<CodeService>>(),
            sp.GetRequiredService<QrCallingMetrics>(),
            sp.GetRequiredService<CallerControlService>(),
            sp.GetService<ISessionQrSigner>()));
        services.TryAddSingleton<CallerPseudonyms>();
        services.TryAddSingleton(sp => new CallerControlService(
            sp.GetRequiredService<IStorage>(),
            sp.GetRequiredService<CallerPseudonyms>(),
            sp.GetRequiredService<IOptions<QrCallingOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<CallerControlService>>(),
            sp.GetRequiredService<QrCallingMetrics>()));
        // Leave-a-message and reachability (IOwnerPresence comes from the hosting package, like ITransport).
        services.TryAddSingleton(sp => new QrCalling.Messages.MessageService(
            sp.GetRequiredService<IStorage>(),
            sp.GetRequiredService<IOptions<QrCallingOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<QrCalling.Messages.MessageService>>()));
        services.TryAddSingleton(sp => new CodeReachability(
            sp.GetRequiredService<QrCalling.Transport.IOwnerPresence>(),
            sp.GetRequiredService<IOptions<QrCallingOptions>>()));
        services.TryAddSingleton(sp => new QrCalling.Devices.DeviceService(
            sp.GetRequiredService<IStorage>(),
            sp.GetRequiredService<TokenHasher>(),
            sp.GetRequiredService<IOptions<QrCallingOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<QrCalling.Devices.DeviceService>>(),
            sp.GetRequiredService<QrCallingMetrics>()));
        services.TryAddSingleton(sp => new QrCalling.Devices.BackupService(
            sp.GetRequiredService<IStorage>(),
            sp.GetRequiredService<IOptions<QrCallingOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<QrCalling.Devices.BackupService>>(),
            sp.GetRequiredService<QrCallingMetrics>()));
        services.TryAddSingleton(sp => new QrCalling.Delegates.DelegateService(
            sp.GetRequiredService<IStorage>(),
            sp.GetRequiredService<TokenHasher>(),
            sp.GetRequiredService<IOptions<QrCallingOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<QrCalling.Delegates.DelegateService>>(),
            sp.GetRequiredService<QrCallingMetrics>()));
        services.TryAddSingleton(sp => new QrCalling.Rooms.RoomService(
            sp.GetRequiredService<IStorage>(),
            sp.GetRequiredService<TokenHasher>(),
            sp.GetRequiredService<IOptions<QrCallingOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<QrCalling.Rooms.RoomService>>(),
            sp.GetRequiredService<QrCallingMetrics>()));
        return new QrCallingBuilder(services);
    }
}
