using System.Text.RegularExpressions;

namespace QrCalling.SampleHost.Admin;

/// <summary>One entry of the operations log view.</summary>
/// <param name="At">When.</param>
/// <param name="Level">Warning, Error or Critical.</param>
/// <param name="Category">The logger's category (a type name).</param>
/// <param name="Message">The message, scrubbed (<see cref="OpsLog.Scrub"/>).</param>
/// <param name="Exception">The exception's type name, if any (never its message).</param>
public sealed record OpsLogEntry(DateTimeOffset At, string Level, string Category, string Message, string? Exception);

/// <summary>The recent warnings and errors of this instance, for the admin console: a ring buffer of the newest
/// <see cref="Capacity"/> entries, filled by <see cref="OpsLogProvider"/>. Every message is scrubbed before it is kept:
/// tokens, payloads, addresses (IP and e-mail), ids and any long opaque string become placeholders, and exceptions keep
/// their type name only.</summary>
public sealed partial class OpsLog(TimeProvider time)
{
    /// <summary>How many entries are kept.</summary>
    public const int Capacity = 200;

    private readonly Lock _gate = new();
    private readonly LinkedList<OpsLogEntry> _entries = new();

    /// <summary>Keeps a scrubbed entry.</summary>
    public void Add(LogLevel level, string category, string message, Exception? exception)
    {
        // The category is a type name chosen by code (not data), so it is kept as it is.
        var entry = new OpsLogEntry(time.GetUtcNow(), level.ToString(), category, Scrub(message), exception?.GetType().Name);
        lock (_gate)
        {
            _entries.AddFirst(entry);
            if (_entries.Count > Capacity)
            {
                _entries.RemoveLast();
            }
        }
    }

    /// <summary>The newest entries first, at most <paramref name="limit"/>.</summary>
    public IReadOnlyList<OpsLogEntry> Recent(int limit)
    {
        lock (_gate)
        {
            return [.. _entries.Take(limit)];
        }
    }

    /// <summary>Replaces what could identify someone or something with placeholders: QrCalling payloads and tokens
    /// (<c>[token]</c>), JWTs (<c>[token]</c>), e-mail addresses (<c>[email]</c>), IPv4 and IPv6 addresses (<c>[ip]</c>),
    /// GUIDs, prefixed ids (<c>u_…</c>, <c>c_…</c>), any word of 16 or more characters and any of 12 or more with a digit in
    /// it (<c>[id]</c>).</summary>
    public static string Scrub(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        text = Payload().Replace(text, "[token]");
        text = Jwt().Replace(text, "[token]");
        text = Email().Replace(text, "[email]");
        text = Ipv6().Replace(text, "[ip]");
        text = Ipv4().Replace(text, "[ip]");
        text = Guid().Replace(text, "[id]");
        text = PrefixedId().Replace(text, "[id]");
        text = Opaque().Replace(text, m => m.Value.Length >= 16 || m.Value.Any(char.IsAsciiDigit) ? "[id]" : m.Value);
        return text.Length > 500 ? text[..500] + "…" : text;
    }

    [GeneratedRegex(@"pqc:\d+:[^\s""']*|\bq[a-z]{1,3}_[A-Za-z0-9_\-]+", RegexOptions.IgnoreCase)]
    private static partial Regex Payload();

    [GeneratedRegex(@"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]*)?")]
    private static partial Regex Jwt();

    [GeneratedRegex(@"[^\s@""'<>]+@[^\s@""'<>]+")]
    private static partial Regex Email();

    [GeneratedRegex(@"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3})(?![\w:])")]
    private static partial Regex Ipv6();

    [GeneratedRegex(@"\b\d{1,3}(?:\.\d{1,3}){3}\b")]
    private static partial Regex Ipv4();

    [GeneratedRegex(@"\b[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}\b")]
    private static partial Regex Guid();

    [GeneratedRegex(@"\b[a-z]{1,3}_(?=[A-Za-z_\-]*\d)[A-Za-z0-9_\-]{6,}")]
    private static partial Regex PrefixedId();

    [GeneratedRegex(@"[A-Za-z0-9_\-+/=]{12,}")]
    private static partial Regex Opaque();
}

/// <summary>Feeds <see cref="OpsLog"/> with the host's warnings and errors.</summary>
public sealed class OpsLogProvider(OpsLog log) : ILoggerProvider
{
    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new OpsLogger(log, categoryName);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class OpsLogger(OpsLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                log.Add(logLevel, category, formatter(state, null), exception);
            }
        }
    }
}
