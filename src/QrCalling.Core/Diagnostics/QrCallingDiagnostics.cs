using System.Diagnostics.Metrics;

namespace QrCalling.Diagnostics;

/// <summary>Names of QrCalling's meter and instruments. Tags never hold a token, payload, IP or id.</summary>
public static class QrCallingDiagnostics
{
    /// <summary>The <see cref="Meter"/> name: <c>QrCalling</c>.</summary>
    public const string MeterName = "QrCalling";
    /// <summary>Counter of codes issued (including rotations).</summary>
    public const string CodesIssued = "qrcalling.codes.issued";
    /// <summary>Counter of scans, tagged <c>outcome</c>: ok, malformed, checksum, unavailable.</summary>
    public const string Scans = "qrcalling.scans";
    /// <summary>Counter of calls started, tagged <c>media</c>.</summary>
    public const string CallsStarted = "qrcalling.calls.started";
    /// <summary>Counter of calls ended, tagged <c>reason</c>.</summary>
    public const string CallsEnded = "qrcalling.calls.ended";
    /// <summary>Counter of signals and chats relayed, tagged <c>type</c>.</summary>
    public const string SignalsRelayed = "qrcalling.signals.relayed";
    /// <summary>Counter of signals and chats refused because the recipient's mailbox window was full.</summary>
    public const string MailboxFull = "qrcalling.mailbox.full";
    /// <summary>Counter of signals and chats whose answer to the sender waited for the recipient's next acknowledgement
    /// (the recipient's window was more than half full): back-pressure instead of a refusal.</summary>
    public const string SendersPaced = "qrcalling.senders.paced";
    /// <summary>Counter: callers blocked by owners.</summary>
    public const string CallersBlocked = "qrcalling.callers.blocked";
    /// <summary>Counter: scans and call starts of a blocked caller (answered <c>unavailable</c>).</summary>
    public const string BlockedAttempts = "qrcalling.callers.blocked_attempts";
    /// <summary>Counter: call starts refused by a code's policy, by <c>reason</c> (quiet_hours, chat_only).</summary>
    public const string PolicyRefusals = "qrcalling.calls.policy_refusals";
    /// <summary>Counter: devices paired by QR.</summary>
    public const string DevicesPaired = "qrcalling.devices.paired";
    /// <summary>Counter: paired devices revoked by their owners.</summary>
    public const string DevicesRevoked = "qrcalling.devices.revoked";
    /// <summary>Counter: backup versions stored.</summary>
    public const string BackupsStored = "qrcalling.backups.stored";
}

/// <summary>The instruments, created from <see cref="IMeterFactory"/> so each DI container has its own.</summary>
internal sealed class QrCallingMetrics
{
    public QrCallingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(QrCallingDiagnostics.MeterName);
        CodesIssued = meter.CreateCounter<long>(QrCallingDiagnostics.CodesIssued, "{code}", "Codes issued");
        Scans = meter.CreateCounter<long>(QrCallingDiagnostics.Scans, "{scan}", "Scans by outcome");
        CallsStarted = meter.CreateCounter<long>(QrCallingDiagnostics.CallsStarted, "{call}", "Calls started");
        CallsEnded = meter.CreateCounter<long>(QrCallingDiagnostics.CallsEnded, "{call}", "Calls ended by reason");
        SignalsRelayed = meter.CreateCounter<long>(QrCallingDiagnostics.SignalsRelayed, "{message}", "Signals and chats relayed");
        MailboxFull = meter.CreateCounter<long>(QrCallingDiagnostics.MailboxFull, "{message}", "Signals and chats refused: the recipient's window was full");
        SendersPaced = meter.CreateCounter<long>(QrCallingDiagnostics.SendersPaced, "{message}", "Signals and chats answered after the lagging recipient's next acknowledgement");
        CallersBlocked = meter.CreateCounter<long>(QrCallingDiagnostics.CallersBlocked, "{caller}", "Callers blocked by owners");
        BlockedAttempts = meter.CreateCounter<long>(QrCallingDiagnostics.BlockedAttempts, "{request}", "Scans and call starts of blocked callers");
        PolicyRefusals = meter.CreateCounter<long>(QrCallingDiagnostics.PolicyRefusals, "{call}", "Call starts refused by quiet hours or chat-only mode");
        DevicesPaired = meter.CreateCounter<long>(QrCallingDiagnostics.DevicesPaired, "{device}", "Devices paired by QR");
        DevicesRevoked = meter.CreateCounter<long>(QrCallingDiagnostics.DevicesRevoked, "{device}", "Paired devices revoked");
        BackupsStored = meter.CreateCounter<long>(QrCallingDiagnostics.BackupsStored, "{backup}", "Backup versions stored");
    }

    public Counter<long> CodesIssued { get; }
    public Counter<long> Scans { get; }
    public Counter<long> CallsStarted { get; }
    public Counter<long> CallsEnded { get; }
    public Counter<long> SignalsRelayed { get; }
    public Counter<long> MailboxFull { get; }
    public Counter<long> SendersPaced { get; }
    public Counter<long> CallersBlocked { get; }
    public Counter<long> BlockedAttempts { get; }
    public Counter<long> PolicyRefusals { get; }
    public Counter<long> DevicesPaired { get; }
    public Counter<long> DevicesRevoked { get; }
    public Counter<long> BackupsStored { get; }

    public void Scan(string outcome) => Scans.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
    public void Ended(string reason) => CallsEnded.Add(1, new KeyValuePair<string, object?>("reason", reason));
    public void Relayed(string type) => SignalsRelayed.Add(1, new KeyValuePair<string, object?>("type", type));
}
