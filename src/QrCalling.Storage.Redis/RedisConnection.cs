using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Holds the Redis connection of the storage (its own, or the app's), connects lazily, and turns every
/// "Redis is down" failure into <see cref="StorageUnavailableException"/>.</summary>
internal sealed class RedisConnection : IAsyncDisposable
{
    private readonly Func<Task<IConnectionMultiplexer>> _connect;
    private readonly bool _ownsConnection;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnectionMultiplexer? _multiplexer;
    private bool _disposed;

    internal RedisConnection(Func<Task<IConnectionMultiplexer>> connect, bool ownsConnection, ILogger logger)
    {
        _connect = connect;
        _ownsConnection = ownsConnection;
        _logger = logger;
    }

    /// <summary>A connection the adapter owns, built from a configuration string with fail-fast defaults.</summary>
    internal static RedisConnection FromConfiguration(string configuration, ILogger? logger = null)
    {
        var options = TryParse(configuration) ?? throw new ArgumentException("Not a valid StackExchange.Redis configuration string.", nameof(configuration));
        ApplyFailFastDefaults(options, configuration);
        return new RedisConnection(async () => await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false), true, logger ?? NullLogger.Instance);
    }

    internal static ConfigurationOptions? TryParse(string configuration)
    {
        try
        {
            return ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Short timeouts, no abort on a failed first connect (it keeps retrying in the background), and no
    /// command backlog while disconnected: an outage fails each call at once instead of queueing it.</summary>
    internal static void ApplyFailFastDefaults(ConfigurationOptions options, string configuration)
    {
        if (!Sets(configuration, "connectTimeout"))
        {
            options.ConnectTimeout = 2000;
        }
        if (!Sets(configuration, "syncTimeout"))
        {
            options.SyncTimeout = 2000;
        }
        if (!Sets(configuration, "asyncTimeout"))
        {
            options.AsyncTimeout = 2000;
        }
        if (!Sets(configuration, "abortConnect"))
        {
            options.AbortOnConnectFail = false;
        }
        options.BacklogPolicy = BacklogPolicy.FailFast;
        // Keeps keys (owner ids, hex of keyed hashes) out of the client's exception messages.
        options.IncludeDetailInExceptions = false;
        static bool Sets(string configuration, string key) => configuration.Contains(key + "=", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The connected (or reconnecting) multiplexer; the first call connects.</summary>
    internal async ValueTask<IConnectionMultiplexer> GetMultiplexerAsync(CancellationToken cancellationToken)
    {
        if (_multiplexer is { } existing)
        {
            return existing;
        }
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_multiplexer is null)
            {
                var multiplexer = await _connect().ConfigureAwait(false);
                multiplexer.ConnectionFailed += OnConnectionFailed;
                multiplexer.ConnectionRestored += OnConnectionRestored;
                _multiplexer = multiplexer;
            }
            return _multiplexer;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => Log.ConnectionFailed(_logger, e.ConnectionType, e.FailureType);

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => Log.ConnectionRestored(_logger, e.ConnectionType);

    /// <summary>Runs one storage operation; a Redis outage becomes <see cref="StorageUnavailableException"/>.</summary>
    internal async ValueTask<T> RunAsync<T>(string operation, Func<IDatabase, Task<T>> action, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var multiplexer = await GetMultiplexerAsync(cancellationToken).ConfigureAwait(false);
            return await action(multiplexer.GetDatabase()).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            // StackExchange.Redis puts the command and its key (an owner id, or the hex of a keyed hash) in its messages,
            // so the client's exception is summarized, never attached: hosts log this exception.
            var reason = Describe(ex);
            Log.Unavailable(_logger, operation, reason);
            throw new StorageUnavailableException($"The Redis storage is unavailable ({reason}).");
        }
    }

    /// <summary>A summary of a failure that holds no key, command argument or address.</summary>
    internal static string Describe(Exception exception) => exception switch
    {
        RedisConnectionException connection => $"{nameof(RedisConnectionException)}: {connection.FailureType}",
        RedisServerException server => $"{nameof(RedisServerException)}: {server.Message.Split(' ', 2)[0]}",
        _ => exception.GetType().Name,
    };

    /// <summary>True for failures that mean "Redis cannot serve this now" rather than a bug.</summary>
    internal static bool IsUnavailable(Exception exception) => exception switch
    {
        RedisConnectionException or RedisTimeoutException or TimeoutException or ObjectDisposedException => true,
        RedisServerException server => IsUnavailableReply(server.Message),
        RedisException redis when redis.Message.Contains("No connection", StringComparison.OrdinalIgnoreCase) => true,
        System.IO.IOException or System.Net.Sockets.SocketException => true,
        _ => false,
    };

    private static readonly string[] UnavailableReplies =
        ["LOADING", "MASTERDOWN", "READONLY", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MISCONF", "NOREPLICAS"];

    private static bool IsUnavailableReply(string message)
    {
        foreach (var reply in UnavailableReplies)
        {
            if (message.StartsWith(reply, StringComparison.Ordinal) || message.Contains(" " + reply + " ", StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (_multiplexer is { } multiplexer)
        {
            multiplexer.ConnectionFailed -= OnConnectionFailed;
            multiplexer.ConnectionRestored -= OnConnectionRestored;
            if (_ownsConnection)
            {
                await multiplexer.DisposeAsync().ConfigureAwait(false);
            }
        }
        _gate.Dispose();
    }
}
