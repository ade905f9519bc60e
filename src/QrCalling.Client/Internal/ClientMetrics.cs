using System.Diagnostics.Metrics;

namespace QrCalling.Client.Internal;

/// <summary>The client's counters, in the <c>QrCalling</c> meter (the same name as the host's
/// <c>QrCallingDiagnostics.MeterName</c>, so one listener sees both).</summary>
internal static class ClientMetrics
{
    public const string MeterName = "QrCalling";
    private static readonly Meter Meter = new(MeterName);

    /// <summary>Hub connections that came back after a drop.</summary>
    public static readonly Counter<long> Reconnects = Meter.CreateCounter<long>("qrcalling.client.reconnects", "{connection}",
        "Hub connections of QrCalling.Client that came back after a drop.");

    /// <summary>Signals and chats received twice (live and in a Resume) and delivered once.</summary>
    public static readonly Counter<long> Duplicates = Meter.CreateCounter<long>("qrcalling.client.events.duplicates", "{event}",
        "Signals and chats QrCalling.Client received again and dropped.");

    /// <summary>Mailbox entries that a Resume after a reconnect delivered (the connection had missed them).</summary>
    public static readonly Counter<long> Resumed = Meter.CreateCounter<long>("qrcalling.client.events.resumed", "{event}",
        "Mailbox entries QrCalling.Client received through Resume after a reconnect.");
}
