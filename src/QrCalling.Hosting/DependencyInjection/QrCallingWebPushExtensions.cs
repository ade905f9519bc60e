using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QrCalling;
using QrCalling.Hosting;
using QrCalling.Hosting.Internal;
using QrCalling.Transport;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Opts QrCalling into Web Push: owners' browsers subscribe (<c>POST /push/subscriptions</c>) and are rung by a
/// push (RFC 8030/8291/8292) for every new incoming call, also with no page open.</summary>
public static class QrCallingWebPushExtensions
{
    /// <summary>Registers Web Push with the default <see cref="QrCallingPushOptions"/>: see
    /// <see cref="AddWebPush(QrCallingBuilder, Action{QrCallingPushOptions})"/>.</summary>
    /// <param name="builder">The builder that <c>AddQrCalling</c> returned.</param>
    public static QrCallingBuilder AddWebPush(this QrCallingBuilder builder) => AddWebPushCore(builder, null);

    /// <summary>Registers Web Push: the routes (mapped by <c>MapQrCalling()</c>), the VAPID keys (configured, or generated
    /// once and kept in the storage), and a background sender fed by a bounded queue, so pushing never delays a call.
    /// Safe to call more than once.</summary>
    /// <param name="builder">The builder that <c>AddQrCalling</c> returned.</param>
    /// <param name="configure">Configures <see cref="QrCallingPushOptions"/>.</param>
    public static QrCallingBuilder AddWebPush(this QrCallingBuilder builder, Action<QrCallingPushOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddWebPushCore(builder, configure);
    }

    private static QrCallingBuilder AddWebPushCore(QrCallingBuilder builder, Action<QrCallingPushOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<QrCallingPushOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QrCallingPushOptions>, QrCallingPushOptionsDataValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QrCallingPushOptions>, QrCallingPushOptionsValidator>());
        if (services.Any(d => d.ServiceType == typeof(WebPushMarker)))
        {
            return builder;
        }
        var transport = services.LastOrDefault(d => d.ServiceType == typeof(ITransport))
            ?? throw new InvalidOperationException("AddWebPush needs the hub's transport: call it on the builder AddQrCalling returned.");
        services.AddSingleton<WebPushMarker>();
        services.TryAddSingleton<VapidKeys>();
        services.TryAddSingleton<WebPushQueue>();
        services.TryAddSingleton(sp => new PushEndpointPolicy(sp.GetRequiredService<IOptions<QrCallingPushOptions>>().Value.EffectiveAllowedEndpoints));
        services.TryAddSingleton<WebPushSender>();
        services.AddHostedService(sp => sp.GetRequiredService<WebPushSender>());
        services.Replace(ServiceDescriptor.Singleton<ITransport>(sp => new PushingTransport(Resolve(sp, transport), sp.GetRequiredService<WebPushQueue>())));
        return builder;
    }

    /// <summary>Registers Web Push with <see cref="QrCallingPushOptions"/> bound from <paramref name="configuration"/>: the
    /// <c>QrCalling:Push</c> section, or a root that holds one. <c>AllowedEndpoints</c> takes a list or a comma-separated
    /// value.</summary>
    /// <param name="builder">The builder that <c>AddQrCalling</c> returned.</param>
    /// <param name="configuration">The <c>QrCalling:Push</c> section or the configuration root.</param>
    public static QrCallingBuilder AddWebPush(this QrCallingBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration is IConfigurationSection { Path: "QrCalling:Push" } s ? s : configuration.GetSection("QrCalling:Push");
        return builder.AddWebPush(o =>
        {
            section.Bind(o);
            o.AllowedEndpoints.Clear();
            var list = section.GetSection(nameof(QrCallingPushOptions.AllowedEndpoints));
            var values = list.Value is { } value ? [value] : list.GetChildren().Select(c => c.Value ?? "");
            foreach (var item in values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            {
                o.AllowedEndpoints.Add(item);
            }
        });
    }

    private static ITransport Resolve(IServiceProvider sp, ServiceDescriptor descriptor) =>
        descriptor.ImplementationInstance as ITransport
        ?? (descriptor.ImplementationFactory is { } factory
            ? (ITransport)factory(sp)
            : (ITransport)ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!));

    private sealed class WebPushMarker;
}
