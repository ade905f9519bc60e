using QrCalling.SampleHost.Accounts;

namespace QrCalling.SampleHost.Admin;

/// <summary>The admin console's settings as read by the host: answers from memory and reads the store again when its copy
/// is older than <see cref="RefreshInterval"/> (so another instance's change is seen within it); a change made here is
/// seen here at once. It drives QrCalling's <see cref="IQrCallingRuntimeSettings"/>: maintenance mode and the maximum
/// call duration are enforced by the library on <c>POST /api/v1/calls</c>.</summary>
public sealed class AdminRuntime(IAdminStore store, TimeProvider time) : IQrCallingRuntimeSettings
{
    /// <summary>How long a read copy of the settings is used.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private (AdminSettings Settings, DateTimeOffset ReadAt)? _cached;

    /// <summary>The settings in force.</summary>
    public async ValueTask<AdminSettings> GetSettingsAsync(CancellationToken cancellationToken)
    {
        var cached = _cached;
        if (cached is { } c && time.GetUtcNow() - c.ReadAt < RefreshInterval)
        {
            return c.Settings;
        }
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            cached = _cached;
            if (cached is { } again && time.GetUtcNow() - again.ReadAt < RefreshInterval)
            {
                return again.Settings;
            }
            var settings = await store.GetSettingsAsync(cancellationToken);
            _cached = (settings, time.GetUtcNow());
            return settings;
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>The last settings read, without waiting (the defaults before the first read): for the meter listener, which
    /// must not block.</summary>
    public AdminSettings Current => _cached?.Settings ?? new AdminSettings();

    /// <summary>Stores new settings and uses them at once on this instance.</summary>
    public async ValueTask SaveAsync(AdminSettings settings, CancellationToken cancellationToken)
    {
        await store.SaveSettingsAsync(settings, cancellationToken);
        _cached = (settings, time.GetUtcNow());
    }

    /// <inheritdoc />
    async ValueTask<QrCallingRuntimeSettings> IQrCallingRuntimeSettings.GetAsync(CancellationToken cancellationToken)
    {
        var settings = await GetSettingsAsync(cancellationToken);
        return new QrCallingRuntimeSettings
        {
            MaintenanceMode = settings.MaintenanceMode,
            MaxCallDuration = settings.MaxCallDurationMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : null,
        };
    }
}

/// <summary>The admin console's configuration: <c>QrCalling:Sample:Admins</c> (comma-separated user names; no default
/// admin), <c>QrCalling:Sample:WaitlistRetentionDays</c> (default 90), <c>QrCalling:Sample:AnalyticsRetentionDays</c>
/// (default 90), <c>QrCalling:Sample:PublicPermitsPerMinute</c> (feedback and waitlist requests per client and
/// minute, default 5) and <c>QrCalling:Sample:AdminsRequireTwoStep</c> (default true).</summary>
public sealed record AdminConsoleSettings
{
    /// <summary>The admins' user names (compared case-insensitively).</summary>
    public IReadOnlySet<string> Admins { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
    /// <summary>How long a waitlist address is kept.</summary>
    public TimeSpan WaitlistRetention { get; init; } = TimeSpan.FromDays(90);
    /// <summary>How long hourly analytics are kept.</summary>
    public TimeSpan AnalyticsRetention { get; init; } = TimeSpan.FromDays(90);
    /// <summary>Feedback and waitlist requests per client address and minute.</summary>
    public int PublicPermitsPerMinute { get; init; } = 5;
    /// <summary>Whether an admin must have two-step sign-in on before the console answers (default true; turn it off only
    /// for a development host).</summary>
    public bool AdminsRequireTwoStep { get; init; } = true;

    /// <summary>Reads and checks the settings; a bad value throws <see cref="SampleConfigurationException"/> naming the key.</summary>
    public static AdminConsoleSettings From(IConfiguration configuration)
    {
        const string adminsKey = "QrCalling:Sample:Admins";
        var admins = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in (configuration[adminsKey] ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Concat(configuration.GetSection(adminsKey).GetChildren().Select(c => c.Value?.Trim()).OfType<string>().Where(v => v.Length > 0)))
        {
            if (name.Length is < 3 or > 32 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                throw new SampleConfigurationException($"{adminsKey} must be comma-separated user names (3 to 32 letters, digits, '.', '_' or '-').");
            }
            admins.Add(name);
        }
        return new AdminConsoleSettings
        {
            Admins = admins,
            WaitlistRetention = TimeSpan.FromDays(Number(configuration, "QrCalling:Sample:WaitlistRetentionDays", 90, 1, 3650)),
            AnalyticsRetention = TimeSpan.FromDays(Number(configuration, "QrCalling:Sample:AnalyticsRetentionDays", 90, 1, 3650)),
            PublicPermitsPerMinute = Number(configuration, "QrCalling:Sample:PublicPermitsPerMinute", 5, 1, 100_000),
            AdminsRequireTwoStep = Flag(configuration, "QrCalling:Sample:AdminsRequireTwoStep", true),
        };
    }

    private static bool Flag(IConfiguration configuration, string key, bool fallback)
    {
        var text = configuration[key];
        if (text is null)
        {
            return fallback;
        }
        return bool.TryParse(text.Trim(), out var value) ? value : throw new SampleConfigurationException($"{key} must be true or false.");
    }

    private static int Number(IConfiguration configuration, string key, int fallback, int min, int max)
    {
        var text = configuration[key];
        if (text is null)
        {
            return fallback;
        }
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new SampleConfigurationException($"{key} must be a whole number from {min} to {max}.");
        }
        return value;
    }
}
