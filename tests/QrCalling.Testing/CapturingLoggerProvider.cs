using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace QrCalling.Testing;

/// <summary>An <see cref="ILoggerProvider"/> that keeps every formatted log line (with its exception text and scope
/// values), so privacy tests can assert that no token, payload, IP, SDP or ciphertext was ever logged.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _lines = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    /// <summary>Every line logged so far: "Level Category: message | exception | scopes".</summary>
    public IReadOnlyList<string> Lines => _lines.ToArray();

    /// <summary>All lines joined by newlines.</summary>
    public string AllText => string.Join('\n', _lines);

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    /// <inheritdoc />
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    /// <inheritdoc />
    public void Dispose() { }

    private sealed class CapturingLogger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var scopes = new List<string>();
            owner._scopes.ForEachScope((scope, list) => list.Add(scope?.ToString() ?? ""), scopes);
            var structured = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(";", pairs.Select(p => $"{p.Key}={p.Value}"))
                : "";
            owner._lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} | {structured} | {exception} | {string.Join(";", scopes)}");
        }
    }
}
