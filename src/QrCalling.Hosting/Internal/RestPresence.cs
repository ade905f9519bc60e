using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Calls;
using QrCalling.Hosting.Hubs;

namespace QrCalling.Hosting.Internal;

/// <summary>Presence of a side of a call that uses REST only. Every REST request of a participant about a call
/// (<see cref="Seen"/>) keeps it present; one that has made none for <see cref="QrCallingHostingOptions.RestPresenceTimeout"/>
/// and holds no hub connection to the call on this instance is marked gone, exactly as a hub side whose last connection
/// closed (the call's sweep then ends it <c>dropped</c> once it stays gone past the reconnect grace). Its next request
/// marks it present again. A side with a hub connection here is left to the hub's presence. Per instance, like the hub's.</summary>
internal sealed class RestPresence : IDisposable
{
    private readonly CallService _calls;
    private readonly PresenceCounter _hubPresence;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly ILogger<RestPresence> _logger;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _timerLock = new();
    private ITimer? _timer;

    public RestPresence(CallService calls, PresenceCounter hubPresence, TimeProvider time, IOptions<QrCallingHostingOptions> options,
        IOptions<QrCallingOptions> core, ILogger<RestPresence> logger)
    {
        _calls = calls;
        _hubPresence = hubPresence;
        _time = time;
        _timeout = options.Value.RestPresenceTimeout;
        _logger = logger;
        // An entry gone this long is forgotten: the sweep has ended its call by then.
        ForgetAfter = core.Value.ReconnectGrace * 4 + _timeout;
    }

    private TimeSpan ForgetAfter { get; }

    /// <summary>How many sides are tracked (for tests and the readiness report).</summary>
    public int Count => _entries.Count;

    /// <summary>A REST request of <paramref name="actor"/> about <paramref name="callId"/> succeeded: it is present now.</summary>
    public void Seen(CallActor actor, string callId)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var key = KeyOf(actor, callId);
        var now = _time.GetUtcNow();
        var entry = _entries.GetOrAdd(key, _ => new Entry(actor, callId, now));
        bool wasGone;
        lock (entry)
        {
            entry.LastSeen = now;
            wasGone = entry.GoneSince is not null;
            entry.GoneSince = null;
        }
        if (wasGone)
        {
            _ = RunAsync(() => _calls.ConnectedAsync(actor, callId, CancellationToken.None));
        }
        EnsureTimer();
    }

    private static string KeyOf(CallActor actor, string callId) =>
        actor.IsCaller ? PresenceCounter.CallerKey(callId) : PresenceCounter.DeviceKey(actor.OwnerId!, actor.DeviceId!, callId);

    private void EnsureTimer()
    {
        if (Volatile.Read(ref _timer) is not null)
        {
            return;
        }
        lock (_timerLock)
        {
            if (_timer is null)
            {
                var period = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerSecond, _timeout.Ticks / 4));
                _timer = _time.CreateTimer(_ => Check(), null, period, period);
            }
        }
    }

    /// <summary>Marks gone every side whose last request is older than the timeout and that has no hub connection here.</summary>
    internal void Check()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, entry) in _entries)
        {
            var markGone = false;
            lock (entry)
            {
                if (entry.GoneSince is { } since)
                {
                    if (now - since > ForgetAfter)
                    {
                        _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
                    }
                    continue;
                }
                if (now - entry.LastSeen <= _timeout)
                {
                    continue;
                }
                entry.GoneSince = now;
                markGone = _hubPresence.CountOf(key) == 0;
            }
            if (markGone)
            {
                _ = RunAsync(() => _calls.DisconnectedAsync(entry.Actor, entry.CallId, CancellationToken.None));
            }
        }
    }

    private async Task RunAsync(Func<ValueTask> update)
    {
        try
        {
            await update().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.RestPresenceFailed(_logger, ex);
        }
    }

    public void Dispose() => _timer?.Dispose();

    private sealed class Entry(CallActor actor, string callId, DateTimeOffset lastSeen)
    {
        public CallActor Actor { get; } = actor;
        public string CallId { get; } = callId;
        public DateTimeOffset LastSeen { get; set; } = lastSeen;
        public DateTimeOffset? GoneSince { get; set; }
    }
}
