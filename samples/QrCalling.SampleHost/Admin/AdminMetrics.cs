using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using QrCalling.Diagnostics;

namespace QrCalling.SampleHost.Admin;

/// <summary>The dashboard's numbers. Counts since this instance started, from the <c>QrCalling</c> meter.</summary>
/// <param name="Since">When this instance started counting.</param>
/// <param name="CodesIssued">Codes issued (rotations included).</param>
/// <param name="Scans">Scans by outcome (ok, malformed, checksum, unavailable).</param>
/// <param name="CallsStarted">Calls started by media.</param>
/// <param name="CallsEnded">Calls ended by reason.</param>
/// <param name="ActiveCalls">Calls accepted and not ended, as this instance counted them.</param>
/// <param name="HubConnections">Open hub connections on this instance.</param>
/// <param name="SetupTime">The time from a call's start to its accept.</param>
/// <param name="Settings">The runtime settings in force.</param>
public sealed record AdminStats(DateTimeOffset Since, long CodesIssued, IReadOnlyDictionary<string, long> Scans,
    IReadOnlyDictionary<string, long> CallsStarted, IReadOnlyDictionary<string, long> CallsEnded, long ActiveCalls, long HubConnections,
    SetupTimeHistogram SetupTime, AdminSettings Settings);

/// <summary>A histogram of call set-up times.</summary>
/// <param name="Count">Answered calls.</param>
/// <param name="SumSeconds">Their set-up times added up.</param>
/// <param name="Buckets">Counts per bucket: set-up times up to <see cref="SetupBucket.LeSeconds"/> (and above the
/// previous bucket's); the last bucket (null) holds the rest.</param>
public sealed record SetupTimeHistogram(long Count, double SumSeconds, IReadOnlyList<SetupBucket> Buckets);

/// <summary>One histogram bucket.</summary>
/// <param name="LeSeconds">Upper bound in seconds; null for the open last bucket.</param>
/// <param name="Count">Set-ups in it.</param>
public sealed record SetupBucket(double? LeSeconds, long Count);

/// <summary>Listens to the <c>QrCalling</c> meter of this host (only the instruments its own <see cref="IMeterFactory"/>
/// made, so several hosts in one process do not mix) with a <see cref="MeterListener"/>: keeps the dashboard's counts, and
/// while analytics are on adds each measurement to an hourly bucket (hour, metric, outcome) that
/// <see cref="FlushAnalyticsAsync"/> writes to the store. Tag values outside a small vocabulary (lower-case words) are
/// counted as <c>other</c>: nothing that could be an identifier is kept.</summary>
public sealed class AdminMetrics : IDisposable
{
    /// <summary>The set-up time buckets' upper bounds, in seconds.</summary>
    public static readonly double[] SetupBounds = [1, 2, 5, 10, 20, 30, 60];

    private readonly MeterListener _listener = new();
    private readonly IMeterFactory _factory;
    private readonly AdminRuntime _runtime;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(string Metric, string Outcome), long> _totals = new();
    private readonly ConcurrentDictionary<(DateTimeOffset Hour, string Metric, string Outcome), long> _pending = new();
    private readonly long[] _setupBuckets = new long[SetupBounds.Length + 1];
    private readonly Lock _setupLock = new();
    private double _setupSum;

    /// <summary>Starts listening.</summary>
    public AdminMetrics(IMeterFactory factory, AdminRuntime runtime, TimeProvider time)
    {
        _factory = factory;
        _runtime = runtime;
        _time = time;
        Since = time.GetUtcNow();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == QrCallingDiagnostics.MeterName && ReferenceEquals(instrument.Meter.Scope, _factory) && MetricOf(instrument.Name) is not null)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => RecordDouble(instrument.Name, value));
        _listener.Start();
    }

    /// <summary>When this instance started counting.</summary>
    public DateTimeOffset Since { get; }

    /// <summary>The analytics metric name of an instrument, or null for one the console does not follow.</summary>
    private static string? MetricOf(string instrument) => instrument switch
    {
        QrCallingDiagnostics.CodesIssued => "codes_issued",
        QrCallingDiagnostics.Scans => "scans",
        QrCallingDiagnostics.CallsStarted => "calls_started",
        QrCallingDiagnostics.CallsEnded => "calls_ended",
        QrCallingDiagnostics.ActiveCalls => "active_calls",
        QrCallingDiagnostics.HubConnections => "hub_connections",
        QrCallingDiagnostics.SetupDuration => "setup_time",
        _ => null,
    };

    /// <summary>The only outcomes kept: scan outcomes, media, end reasons and policy refusals of the wire contract.</summary>
    public static readonly IReadOnlySet<string> Vocabulary = new HashSet<string>(StringComparer.Ordinal)
    {
        "ok", "malformed", "checksum", "unavailable", "audio", "video", "chat",
        "rejected", "canceled", "missed", "hangup", "timeout", "dropped", "revoked", "quiet_hours", "chat_only",
    };

    /// <summary>The outcome of a measurement: its first tag's value when it is in <see cref="Vocabulary"/>, "other" for
    /// anything else, "all" when it has none. Never an identifier.</summary>
    public static string OutcomeOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return "all";
        }
        return tags[0].Value is string value && Vocabulary.Contains(value) ? value : "other";
    }

    private void Record(string instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var metric = MetricOf(instrument)!;
        var outcome = OutcomeOf(tags);
        _totals.AddOrUpdate((metric, outcome), value, (_, old) => old + value);
        if (metric is "active_calls" or "hub_connections")
        {
            return; // gauges: no hourly series
        }
        AddAnalytics(metric, outcome, value);
    }

    /// <summary>Adds to the pending hourly bucket of now, if analytics are on.</summary>
    internal void AddAnalytics(string metric, string outcome, long value)
    {
        if (!_runtime.Current.AnalyticsEnabled)
        {
            return;
        }
        var now = _time.GetUtcNow();
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        _pending.AddOrUpdate((hour, metric, outcome), value, (_, old) => old + value);
    }

    private void RecordDouble(string instrument, double seconds)
    {
        if (instrument != QrCallingDiagnostics.SetupDuration)
        {
            return;
        }
        var index = Array.FindIndex(SetupBounds, b => seconds <= b);
        lock (_setupLock)
        {
            _setupBuckets[index < 0 ? SetupBounds.Length : index]++;
            _setupSum += seconds;
        }
        AddAnalytics("calls_answered", "all", 1);
    }

    /// <summary>The dashboard's numbers now.</summary>
    public AdminStats Snapshot(AdminSettings settings)
    {
        IReadOnlyDictionary<string, long> Of(string metric) =>
            new SortedDictionary<string, long>(_totals.Where(t => t.Key.Metric == metric).ToDictionary(t => t.Key.Outcome, t => t.Value), StringComparer.Ordinal);
        long Sum(string metric) => _totals.Where(t => t.Key.Metric == metric).Sum(t => t.Value);
        long[] buckets;
        double sum;
        lock (_setupLock)
        {
            buckets = [.. _setupBuckets];
            sum = _setupSum;
        }
        var histogram = new SetupTimeHistogram(buckets.Sum(), sum,
            [.. buckets.Select((count, i) => new SetupBucket(i < SetupBounds.Length ? SetupBounds[i] : null, count))]);
        return new AdminStats(Since, Sum("codes_issued"), Of("scans"), Of("calls_started"), Of("calls_ended"),
            Math.Max(0, Sum("active_calls")), Math.Max(0, Sum("hub_connections")), histogram, settings);
    }

    /// <summary>Writes the pending hourly counts to the store (they are kept for the next flush if the store fails).</summary>
    public async ValueTask FlushAnalyticsAsync(IAdminStore store, CancellationToken cancellationToken)
    {
        var taken = new List<AnalyticsBucket>();
        foreach (var key in _pending.Keys)
        {
            if (_pending.TryRemove(key, out var count) && count != 0)
            {
                taken.Add(new AnalyticsBucket(key.Hour, key.Metric, key.Outcome, count));
            }
        }
        try
        {
            await store.AddAnalyticsAsync(taken, cancellationToken);
        }
        catch
        {
            foreach (var b in taken)
            {
                _pending.AddOrUpdate((b.Hour, b.Metric, b.Outcome), b.Count, (_, old) => old + b.Count);
            }
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();
}

/// <summary>The analytics export's formats.</summary>
public static class AnalyticsFormat
{
    /// <summary>CSV with a header line: <c>hour,metric,outcome,count</c>, the hour in ISO 8601 UTC.</summary>
    public static string ToCsv(IEnumerable<AnalyticsBucket> buckets)
    {
        var csv = new System.Text.StringBuilder("hour,metric,outcome,count\n");
        foreach (var b in buckets)
        {
            csv.Append(System.Globalization.CultureInfo.InvariantCulture, $"{b.Hour.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ},{b.Metric},{b.Outcome},{b.Count}\n");
        }
        return csv.ToString();
    }
}
