using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Storage;
using QrCalling.Testing;
using QrCalling.Transport;

namespace QrCalling.Core.Tests.Calls;

/// <summary>An <see cref="ITransport"/> that records every delivery (the real one is SignalR, in Hosting).</summary>
internal sealed class RecordingTransport : ITransport
{
    private readonly ConcurrentQueue<(string Target, ServerEvent Event)> _sent = new();

    /// <summary>When set, every send throws (to check a failed delivery never fails an operation).</summary>
    public bool Fail { get; set; }

    public IReadOnlyList<(string Target, ServerEvent Event)> Sent => _sent.ToArray();

    public ValueTask SendToOwnerAsync(string ownerId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        Record($"owner:{ownerId}", serverEvent);

    public ValueTask SendToOwnerExceptAsync(string ownerId, string exceptDeviceId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        Record($"owner-except:{ownerId}/{exceptDeviceId}", serverEvent);

    public ValueTask SendToDeviceAsync(string ownerId, string deviceId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        Record($"device:{ownerId}/{deviceId}", serverEvent);

    public ValueTask SendToCallerAsync(string callId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        Record($"caller:{callId}", serverEvent);

    private ValueTask Record(string target, ServerEvent serverEvent)
    {
        if (Fail)
        {
            throw new InvalidOperationException("transport down");
        }
        _sent.Enqueue((target, serverEvent));
        return ValueTask.CompletedTask;
    }

    /// <summary>What one connected owner device received (its own, its owner's, and "all but another device").</summary>
    public List<ServerEvent> ForDevice(string ownerId, string deviceId) => Sent
        .Where(s => s.Target == $"device:{ownerId}/{deviceId}" || s.Target == $"owner:{ownerId}"
            || s.Target.StartsWith($"owner-except:{ownerId}/", StringComparison.Ordinal) && s.Target != $"owner-except:{ownerId}/{deviceId}")
        .Select(s => s.Event)
        .ToList();

    /// <summary>What the caller of a call received.</summary>
    public List<ServerEvent> ForCaller(string callId) => Sent.Where(s => s.Target == $"caller:{callId}").Select(s => s.Event).ToList();
}

/// <summary>CallService wired as the container wires it, on in-memory storage, a fake clock and a recording transport.</summary>
internal sealed class CallHarness : IDisposable
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private CallHarness(Action<QrCallingOptions>? configure, bool hooked = false)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        services.AddSingleton<TimeProvider>(Time);
        services.AddSingleton<ITransport>(Transport);
        var builder = services.AddQrCallingCore(configure);
        if (hooked)
        {
            builder.UseStorage(_ => Hooked);
        }
        Provider = services.BuildServiceProvider();
        Storage = hooked ? Hooked.Inner : (InMemoryStorage)Provider.GetRequiredService<IStorage>();
        Calls = Provider.GetRequiredService<CallService>();
        Codes = Provider.GetRequiredService<CodeService>();
    }

    public FakeTimeProvider Time { get; } = new(T0);
    public RecordingTransport Transport { get; } = new();
    public CapturingLoggerProvider Logs { get; } = new();
    public ServiceProvider Provider { get; }
    public InMemoryStorage Storage { get; }
    public CallService Calls { get; }
    public CodeService Codes { get; }

    public string Owner { get; } = "owner-" + Guid.NewGuid().ToString("N");
    public CallActor Device(string deviceId) => CallActor.OwnerDevice(Owner, deviceId);

    /// <summary>Storage with a hook that runs before the next mailbox append (used only by <see cref="CreateHooked"/>).</summary>
    public HookedStorage Hooked { get; } = new();

    public static CallHarness Create(Action<QrCallingOptions>? configure = null) => new(configure);

    /// <summary>A harness whose storage runs <see cref="HookedStorage.BeforeNextAppend"/> before an append, to force an
    /// interleaving.</summary>
    public static CallHarness CreateHooked() => new(null, hooked: true);

    public async Task<IssuedCode> IssueAsync(MediaKind media = MediaKinds.All, int? maxScans = null)
    {
        var issued = await Codes.IssueAsync(Owner, new CodeSpec { Label = "Blue van", Media = media, MaxScans = maxScans }, CancellationToken.None);
        return issued.Value;
    }

    /// <summary>Issues a code and starts a call from it.</summary>
    public async Task<(IssuedCode Code, StartedCall Call, CallActor Caller)> StartAsync(MediaKind media = MediaKind.Video)
    {
        var code = await IssueAsync();
        var started = await Calls.StartAsync(code.Payload, media, CancellationToken.None);
        var call = started.Value;
        return (code, call, CallActor.Caller(call.Call.CallId));
    }

    public static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    public void Dispose() => Provider.Dispose();
}

/// <summary>In-memory storage that can run a hook before the next mailbox append, to force a race's interleaving.</summary>
internal sealed class HookedStorage : IStorage, IMailboxStore
{
    public InMemoryStorage Inner { get; } = new();
    public Func<Task>? BeforeNextAppend { get; set; }

    public ICodeStore Codes => Inner.Codes;
    public ICallStore Calls => CountedCalls;
    public IMailboxStore Mailbox => this;
    public IPushSubscriptionStore PushSubscriptions => Inner.PushSubscriptions;
    public IMessageStore Messages => Inner.Messages;
    public ICallerControlStore CallerControls => Inner.CallerControls;
    public IDeviceStore Devices => Inner.Devices;
    public IDelegateStore Delegates => CountedDelegates;
    public IBackupStore Backups => Inner.Backups;
    public IRoomStore Rooms => Inner.Rooms;

    /// <summary>The call store, counting reads of one call by id (what the cache of recent calls saves).</summary>
    public CountingCallStore CountedCalls => _countedCalls ??= new CountingCallStore(Inner.Calls);
    private CountingCallStore? _countedCalls;

    /// <summary>The delegate store, counting reads of a call's ring marks.</summary>
    public CountingDelegateStore CountedDelegates => _countedDelegates ??= new CountingDelegateStore(Inner.Delegates);
    private CountingDelegateStore? _countedDelegates;
    public ValueTask PingAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public async ValueTask<MailboxAppendResult> AppendAsync(string callId, MailboxEntry entry, MailboxBudget budget, CancellationToken cancellationToken)
    {
        var hook = BeforeNextAppend;
        BeforeNextAppend = null;
        if (hook is not null)
        {
            await hook();
        }
        return await Inner.Mailbox.AppendAsync(callId, entry, budget, cancellationToken);
    }

    public ValueTask<IReadOnlyList<MailboxEntry>> ReadAsync(string callId, CallSide side, long afterSeq, int maxCount, int maxBytes, CancellationToken cancellationToken) =>
        Inner.Mailbox.ReadAsync(callId, side, afterSeq, maxCount, maxBytes, cancellationToken);
    public ValueTask<int> AcknowledgeAsync(string callId, CallSide side, long upToSeq, CancellationToken cancellationToken) =>
        Inner.Mailbox.AcknowledgeAsync(callId, side, upToSeq, cancellationToken);
    public ValueTask<long> GetLastSeqAsync(string callId, CancellationToken cancellationToken) => Inner.Mailbox.GetLastSeqAsync(callId, cancellationToken);
    public ValueTask<long> GetPendingBytesAsync(string callId, CallSide side, CancellationToken cancellationToken) =>
        Inner.Mailbox.GetPendingBytesAsync(callId, side, cancellationToken);
    public ValueTask<int> DeleteForCallsEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) =>
        Inner.Mailbox.DeleteForCallsEndedBeforeAsync(cutoff, maxCount, cancellationToken);
}

/// <summary>A delegate store that counts reads of a call's ring marks (<see cref="RingReads"/>) and passes everything
/// through.</summary>
internal sealed class CountingDelegateStore(IDelegateStore inner) : IDelegateStore
{
    private int _ringReads;

    /// <summary>How many <see cref="IDelegateStore.ListRungAsync"/> calls were made.</summary>
    public int RingReads => Volatile.Read(ref _ringReads);

    public ValueTask<IReadOnlyList<DelegateRing>> ListRungAsync(string callId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _ringReads);
        return inner.ListRungAsync(callId, cancellationToken);
    }

    public ValueTask CreateInvitationAsync(DelegateInvitation invitation, CancellationToken cancellationToken) => inner.CreateInvitationAsync(invitation, cancellationToken);
    public ValueTask<DelegateAcceptResult> AcceptInvitationAsync(byte[] secretHash, string accountId, string delegateId, DateTimeOffset now, int maxPerCode,
        CancellationToken cancellationToken) => inner.AcceptInvitationAsync(secretHash, accountId, delegateId, now, maxPerCode, cancellationToken);
    public ValueTask<int> DeleteExpiredInvitationsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken) =>
        inner.DeleteExpiredInvitationsAsync(now, maxCount, cancellationToken);
    public ValueTask<DelegateRecord?> GetAsync(string delegateId, CancellationToken cancellationToken) => inner.GetAsync(delegateId, cancellationToken);
    public ValueTask<IReadOnlyList<DelegateRecord>> ListByCodeAsync(string codeId, CancellationToken cancellationToken) => inner.ListByCodeAsync(codeId, cancellationToken);
    public ValueTask<IReadOnlyList<DelegateRecord>> ListByDelegateAsync(string delegateOwnerId, CancellationToken cancellationToken) =>
        inner.ListByDelegateAsync(delegateOwnerId, cancellationToken);
    public ValueTask<bool> DeleteAsync(string delegateId, string accountId, CancellationToken cancellationToken) => inner.DeleteAsync(delegateId, accountId, cancellationToken);
    public ValueTask<int> DeleteByCodeAsync(string codeId, CancellationToken cancellationToken) => inner.DeleteByCodeAsync(codeId, cancellationToken);
    public ValueTask<int> EraseAccountAsync(string accountId, CancellationToken cancellationToken) => inner.EraseAccountAsync(accountId, cancellationToken);
    public ValueTask<bool> TryMarkRungAsync(DelegateRing ring, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        inner.TryMarkRungAsync(ring, expiresAt, cancellationToken);
    public ValueTask<int> DeleteExpiredRingsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken) =>
        inner.DeleteExpiredRingsAsync(now, maxCount, cancellationToken);
}
