using QrCalling;
using QrCalling.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Opts QrCalling's hub into SignalR's MessagePack protocol.</summary>
public static class QrCallingMessagePackExtensions
{
    /// <summary>Registers SignalR's MessagePack hub protocol (for every hub of the app, as
    /// <c>services.AddSignalR().AddMessagePackProtocol()</c> does) and sets
    /// <see cref="QrCallingHostingOptions.EnableMessagePack"/>, so QrCalling's hub accepts MessagePack clients next to
    /// JSON ones with the same event shapes. Safe to call more than once.</summary>
    /// <param name="builder">The builder that <c>AddQrCalling</c> returned.</param>
    public static QrCallingBuilder AddMessagePackProtocol(this QrCallingBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSignalR().AddMessagePackProtocol();
        builder.Services.Configure<QrCallingHostingOptions>(o => o.EnableMessagePack = true);
        return builder;
    }
}
