using System.Text.Json;
using System.Text.Json.Serialization;

namespace QrCalling.SampleHost.Admin;

/// <summary>The runtime settings of the sample host, changed by admins (<c>PUT /api/v1/admin/settings</c>) and kept in
/// the configured store so that every instance and every restart sees them.</summary>
public sealed record AdminSettings
{
    /// <summary>New calls are refused with 503 <c>maintenance</c>; running calls go on.</summary>
    public bool MaintenanceMode { get; init; }

    /// <summary>The longest a call started from now on may last, in minutes; null for the host's configured maximum
    /// (<c>QrCalling:MaxCallDuration</c>), which it can only shorten.</summary>
    public int? MaxCallDurationMinutes { get; init; }

    /// <summary>Whether the hourly analytics aggregates are collected.</summary>
    public bool AnalyticsEnabled { get; init; } = true;

    /// <summary>Whether <c>POST /api/v1/feedback</c> takes feedback.</summary>
    public bool FeedbackEnabled { get; init; } = true;

    /// <summary>Whether <c>POST /api/v1/account/register</c> creates accounts.</summary>
    public bool RegistrationOpen { get; init; } = true;

    /// <summary>The settings as stored (JSON).</summary>
    internal string ToJson() => JsonSerializer.Serialize(this, AdminJson.Default.AdminSettings);

    /// <summary>Settings from their stored JSON (defaults for a missing document).</summary>
    internal static AdminSettings FromJson(string? json) =>
        string.IsNullOrEmpty(json) ? new AdminSettings() : JsonSerializer.Deserialize(json, AdminJson.Default.AdminSettings) ?? new AdminSettings();
}

/// <summary>One piece of feedback.</summary>
/// <param name="Id">Random id (for deletion).</param>
/// <param name="At">When it was left.</param>
/// <param name="Message">The text, 1 to <see cref="AdminLimits.FeedbackMessageMax"/> characters.</param>
/// <param name="Contact">How to answer, only when the person chose to give it; null by default.</param>
public sealed record FeedbackEntry(string Id, DateTimeOffset At, string Message, string? Contact);

/// <summary>One waitlist address.</summary>
/// <param name="Id">Random id (for deletion).</param>
/// <param name="At">When it was added (the retention sweep deletes it <c>QrCalling:Sample:WaitlistRetentionDays</c> later).</param>
/// <param name="Email">The address.</param>
public sealed record WaitlistEntry(string Id, DateTimeOffset At, string Email);

/// <summary>An hourly aggregate: how many times <paramref name="Metric"/> had <paramref name="Outcome"/> in the hour
/// starting at <paramref name="Hour"/> (UTC). Nothing else: no user, code or call.</summary>
/// <param name="Hour">The start of the hour, UTC.</param>
/// <param name="Metric">scans, calls_started, calls_ended, codes_issued.</param>
/// <param name="Outcome">The scan outcome, the media, the end reason; "all" for codes issued.</param>
/// <param name="Count">The count.</param>
public sealed record AnalyticsBucket(DateTimeOffset Hour, string Metric, string Outcome, long Count);

/// <summary>Sizes and caps of the admin console's data.</summary>
public static class AdminLimits
{
    /// <summary>Most characters of a feedback message.</summary>
    public const int FeedbackMessageMax = 2000;
    /// <summary>Most characters of a feedback contact.</summary>
    public const int FeedbackContactMax = 200;
    /// <summary>Most characters of a waitlist address.</summary>
    public const int EmailMax = 254;
    /// <summary>How many feedback entries are kept (the oldest go).</summary>
    public const int FeedbackKept = 1000;
    /// <summary>Most entries one admin list answers.</summary>
    public const int ListMax = 500;
    /// <summary>The longest maximum call duration an admin can set, in minutes (the configured maximum still caps it).</summary>
    public const int MaxCallDurationMinutesMax = 24 * 60;
}

/// <summary>Where the admin console keeps its settings, feedback, waitlist and analytics aggregates: memory, PostgreSQL
/// or Redis, like the accounts. Every operation is atomic in each store.</summary>
public interface IAdminStore
{
    /// <summary>The stored settings; the defaults when none were saved.</summary>
    ValueTask<AdminSettings> GetSettingsAsync(CancellationToken cancellationToken);

    /// <summary>Stores the settings (the whole document).</summary>
    ValueTask SaveSettingsAsync(AdminSettings settings, CancellationToken cancellationToken);

    /// <summary>Adds feedback, keeping the newest <paramref name="keep"/> entries.</summary>
    ValueTask AddFeedbackAsync(FeedbackEntry entry, int keep, CancellationToken cancellationToken);

    /// <summary>Feedback, newest first, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<FeedbackEntry>> ListFeedbackAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Deletes one feedback entry; false if there was none.</summary>
    ValueTask<bool> DeleteFeedbackAsync(string id, CancellationToken cancellationToken);

    /// <summary>Adds an address; false (and no change) when the address (compared case-insensitively) is listed already.</summary>
    ValueTask<bool> AddWaitlistAsync(WaitlistEntry entry, CancellationToken cancellationToken);

    /// <summary>The waitlist, newest first, at most <paramref name="limit"/>.</summary>
    ValueTask<IReadOnlyList<WaitlistEntry>> ListWaitlistAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Deletes one address; false if there was none.</summary>
    ValueTask<bool> DeleteWaitlistAsync(string id, CancellationToken cancellationToken);

    /// <summary>Deletes the addresses added before <paramref name="cutoff"/>; returns how many.</summary>
    ValueTask<int> DeleteWaitlistBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>Adds each bucket's count to the stored count of its (hour, metric, outcome), atomically per bucket.</summary>
    ValueTask AddAnalyticsAsync(IReadOnlyList<AnalyticsBucket> increments, CancellationToken cancellationToken);

    /// <summary>The buckets of the hours from <paramref name="from"/> on, ordered by hour, metric, outcome.</summary>
    ValueTask<IReadOnlyList<AnalyticsBucket>> ListAnalyticsAsync(DateTimeOffset from, CancellationToken cancellationToken);

    /// <summary>Deletes the buckets of hours before <paramref name="cutoff"/>; returns how many.</summary>
    ValueTask<int> DeleteAnalyticsBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken);
}

/// <summary>The admin data in process memory, with <c>QrCalling:Storage=memory</c>.</summary>
public sealed class InMemoryAdminStore : IAdminStore
{
    private readonly Lock _gate = new();
    private AdminSettings _settings = new();
    private readonly List<FeedbackEntry> _feedback = []; // newest first
    private readonly List<WaitlistEntry> _waitlist = []; // newest first
    private readonly Dictionary<(DateTimeOffset, string, string), long> _analytics = [];

    /// <inheritdoc />
    public ValueTask<AdminSettings> GetSettingsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_settings);
        }
    }

    /// <inheritdoc />
    public ValueTask SaveSettingsAsync(AdminSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        lock (_gate)
        {
            _settings = settings;
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask AddFeedbackAsync(FeedbackEntry entry, int keep, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _feedback.Insert(0, entry);
            if (_feedback.Count > keep)
            {
                _feedback.RemoveRange(keep, _feedback.Count - keep);
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<FeedbackEntry>> ListFeedbackAsync(int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<FeedbackEntry>>([.. _feedback.Take(limit)]);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteFeedbackAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_feedback.RemoveAll(f => f.Id == id) > 0);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> AddWaitlistAsync(WaitlistEntry entry, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_waitlist.Any(w => string.Equals(w.Email, entry.Email, StringComparison.OrdinalIgnoreCase)))
            {
                return ValueTask.FromResult(false);
            }
            var index = _waitlist.FindIndex(w => w.At <= entry.At);
            _waitlist.Insert(index < 0 ? _waitlist.Count : index, entry);
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<WaitlistEntry>> ListWaitlistAsync(int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<WaitlistEntry>>([.. _waitlist.Take(limit)]);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteWaitlistAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_waitlist.RemoveAll(w => w.Id == id) > 0);
        }
    }

    /// <inheritdoc />
    public ValueTask<int> DeleteWaitlistBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_waitlist.RemoveAll(w => w.At < cutoff));
        }
    }

    /// <inheritdoc />
    public ValueTask AddAnalyticsAsync(IReadOnlyList<AnalyticsBucket> increments, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var b in increments)
            {
                var key = (b.Hour.ToUniversalTime(), b.Metric, b.Outcome);
                _analytics[key] = _analytics.GetValueOrDefault(key) + b.Count;
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AnalyticsBucket>> ListAnalyticsAsync(DateTimeOffset from, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<AnalyticsBucket>>([.. _analytics.Where(a => a.Key.Item1 >= from)
                .Select(a => new AnalyticsBucket(a.Key.Item1, a.Key.Item2, a.Key.Item3, a.Value))
                .OrderBy(a => a.Hour).ThenBy(a => a.Metric, StringComparer.Ordinal).ThenBy(a => a.Outcome, StringComparer.Ordinal)]);
        }
    }

    /// <inheritdoc />
    public ValueTask<int> DeleteAnalyticsBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var old = _analytics.Keys.Where(k => k.Item1 < cutoff).ToList();
            old.ForEach(k => _analytics.Remove(k));
            return ValueTask.FromResult(old.Count);
        }
    }

    /// <summary>A fresh random id with a prefix ("fb_", "wl_").</summary>
    public static string NewId(string prefix) => prefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
}

[JsonSerializable(typeof(AdminSettings))]
[JsonSerializable(typeof(FeedbackEntry))]
[JsonSerializable(typeof(WaitlistEntry))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class AdminJson : JsonSerializerContext;
