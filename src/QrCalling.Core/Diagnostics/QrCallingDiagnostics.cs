using System.Diagnostics;
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
    /// <summary>Up-down counter (a gauge when summed over instances): calls active now (accepted, not ended).</summary>
    public const string ActiveCalls = "qrcalling.calls.active";
    /// <summary>Histogram, seconds: from a call's start to its accept (the set-up time an owner keeps a caller waiting).</summary>
    public const string SetupDuration = "qrcalling.calls.setup.duration";
    /// <summary>Up-down counter: open hub connections (owner devices and callers) on this instance (Hosting).</summary>
    public const string HubConnections = "qrcalling.hub.connections";
    /// <summary>Counter: devices paired by QR.</summary>
    public const string DevicesPaired = "qrcalling.devices.paired";
    /// <summary>Counter: paired devices revoked by their owners.</summary>
    public const string DevicesRevoked = "qrcalling.devices.revoked";
    /// <summary>Counter: backup versions stored.</summary>
    public const string BackupsStored = "qrcalling.backups.stored";
    /// <summary>Counter: delegates added (invitations accepted).</summary>
    public const string DelegatesAdded = "qrcalling.delegates.added";
    /// <summary>Counter: delegates removed by the owner or who left.</summary>
    public const string DelegatesRemoved = "qrcalling.delegates.removed";
    /// <summary>Counter: delegates rung for a call still ringing after their delay.</summary>
    public const string DelegatesRung = "qrcalling.delegates.rung";
    /// <summary>Counter: rooms created.</summary>
    public const string RoomsCreated = "qrcalling.rooms.created";
    /// <summary>Up-down counter: rooms that exist (created minus ended) as seen by this instance.</summary>
    public const string RoomsActive = "qrcalling.rooms.active";
    /// <summary>Counter: room messages relayed.</summary>
    public const string RoomMessages = "qrcalling.rooms.messages";

    /// <summary>The <see cref="System.Diagnostics.ActivitySource"/> name: <c>QrCalling</c>. Its activities carry no token,
    /// payload, IP or id in their tags: only the media and the outcome (<c>ok</c> or an error code).</summary>
    public const string ActivitySourceName = "QrCalling";
    /// <summary>Activity of a scan preview (<c>POST /scan</c>).</summary>
    public const string ScanActivity = "qrcalling.scan";
    /// <summary>Activity of a call start (<c>POST /calls</c>).</summary>
    public const string CallStartActivity = "qrcalling.call.start";
    /// <summary>Activity of an accept (hub or REST).</summary>
    public const string CallAcceptActivity = "qrcalling.call.accept";
    /// <summary>Activity of a hang-up (hub or REST).</summary>
    public const string CallHangupActivity = "qrcalling.call.hangup";
    /// <summary>Tag of every activity: <c>ok</c>, or the stable error code of the refusal.</summary>
    public const string OutcomeTag = "qrcalling.outcome";
    /// <summary>Tag of a call start: the media asked for (<c>audio</c>, <c>video</c>, <c>chat</c>) when valid.</summary>
    public const string MediaTag = "qrcalling.media";
}

/// <summary>QrCalling's activity source (one per process, as .NET's tracing expects) and the helper that closes an
/// activity with its outcome.</summary>
internal static class QrCallingTracing
{
    public static ActivitySource Source { get; } = new(QrCallingDiagnostics.ActivitySourceName);

    /// <summary>Tags the outcome (<c>ok</c> or the error code) and marks a refusal as an error status; never an id.</summary>
    public static void Complete(Activity? activity, QrCallingError? error)
    {
        if (activity is null)
        {
            return;
        }
        activity.SetTag(QrCallingDiagnostics.OutcomeTag, error?.Code ?? "ok");
        if (error is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.Code);
        }
    }
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
        ActiveCalls = meter.CreateUpDownCounter<long>(QrCallingDiagnostics.ActiveCalls, "{call}", "Calls accepted and not ended yet");
        SetupDuration = meter.CreateHistogram<double>(QrCallingDiagnostics.SetupDuration, "s", "Time from a call's start to its accept",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60] });
        DevicesPaired = meter.CreateCounter<long>(QrCallingDiagnostics.DevicesPaired, "{device}", "Devices paired by QR");
        DevicesRevoked = meter.CreateCounter<long>(QrCallingDiagnostics.DevicesRevoked, "{device}", "Paired devices revoked");
        BackupsStored = meter.CreateCounter<long>(QrCallingDiagnostics.BackupsStored, "{backup}", "Backup versions stored");
        DelegatesAdded = meter.CreateCounter<long>(QrCallingDiagnostics.DelegatesAdded, "{delegate}", "Delegates added");
        DelegatesRemoved = meter.CreateCounter<long>(QrCallingDiagnostics.DelegatesRemoved, "{delegate}", "Delegates removed");
        DelegatesRung = meter.CreateCounter<long>(QrCallingDiagnostics.DelegatesRung, "{delegate}", "Delegates rung for unanswered calls");
        RoomsCreated = meter.CreateCounter<long>(QrCallingDiagnostics.RoomsCreated, "{room}", "Rooms created");
        RoomsActive = meter.CreateUpDownCounter<long>(QrCallingDiagnostics.RoomsActive, "{room}", "Rooms created and not yet ended (this instance's view)");
        RoomMessages = meter.CreateCounter<long>(QrCallingDiagnostics.RoomMessages, "{message}", "Room messages relayed");
    }

    public UpDownCounter<long> ActiveCalls { get; }
    public Histogram<double> SetupDuration { get; }

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
    public Counter<long> DelegatesAdded { get; }
    public Counter<long> DelegatesRemoved { get; }
    public Counter<long> DelegatesRung { get; }
    public Counter<long> RoomsCreated { get; }
    public UpDownCounter<long> RoomsActive { get; }
    public Counter<long> RoomMessages { get; }

    public void Scan(string outcome) => Scans.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
    public void Ended(string reason)
    {
        CallsEnded.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }
    public void Relayed(string type) => SignalsRelayed.Add(1, new KeyValuePair<string, object?>("type", type));
}
