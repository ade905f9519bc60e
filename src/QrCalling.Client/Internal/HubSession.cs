using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace QrCalling.Client.Internal;

/// <summary>One hub connection and what makes it dependable: automatic reconnect with a fresh hub ticket, Resume of every
/// call this side takes part in after a reconnect, events delivered once and in seq order (live and resumed ones
/// merged), acknowledgements of consumed entries, <c>mailbox_full</c> retries, and coded errors.</summary>
internal sealed partial class HubSession : IAsyncDisposable
{
    private static readonly string[] EventNames =
        ["IncomingCall", "CallAccepted", "CallAnsweredElsewhere", "CallEnded", "Signal", "Typing", "Chat", "PeerLeft", "PeerJoined"];

    private readonly HubConnection _connection;
    private readonly QrCallingClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<CallEvent> _events = Channel.CreateUnbounded<CallEvent>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly Lock _lock = new();
    private readonly Dictionary<string, CallState> _calls = new(StringComparer.Ordinal);
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;
    private bool _disposed;

    public HubSession(RestClient rest, Func<CancellationToken, Task<string>> credential, string query, IReadOnlyDictionary<string, string> headers,
        TimeProvider time, ILogger logger)
    {
        _options = rest.Options;
        _time = time;
        _logger = logger;
        var url = new Uri(rest.BaseAddress, _options.HubPath.TrimStart('/') + query);
        var builder = new HubConnectionBuilder()
            .WithUrl(url, o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
                // A single-use hub ticket for every (re)connect: no long-lived credential in a URL or a proxy's log.
                o.AccessTokenProvider = async () => await rest.HubTicketAsync(await credential(CancellationToken.None).ConfigureAwait(false), CancellationToken.None).ConfigureAwait(false);
                foreach (var (name, value) in headers)
                {
                    o.Headers[name] = value;
                }
                _options.ConfigureHubConnection?.Invoke(o);
            })
            .WithAutomaticReconnect(new RetryPolicy(_options));
        if (_options.HubProtocol == QrCallingHubProtocol.MessagePack)
        {
            builder.AddMessagePackProtocol(o => o.SerializerOptions = JsonElementMessagePackFormatter.Options);
        }
        _connection = builder.Build();
        foreach (var name in EventNames)
        {
            _connection.On<JsonElement>(name, e => OnEvent(name, e));
        }
        _connection.Reconnecting += OnReconnecting;
        _connection.Reconnected += OnReconnected;
        _connection.Closed += OnClosed;
    }

    /// <summary>Connects and makes sure the host admitted the connection (it refuses a bad credential only after the
    /// handshake). For a caller, <paramref name="callId"/> is its call, resumed at once, so that every event of the call
    /// reaches it (also those sent before); a device's first invocation is a refused probe, after which the host has
    /// joined it to its owner's calls.</summary>
    public async Task StartAsync(string? callId, CancellationToken cancellationToken)
    {
        if (callId is not null)
        {
            lock (_lock)
            {
                var state = State(callId);
                state.Participating = true;
                state.Resuming = true;
            }
        }
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task Closed(Exception? e)
        {
            closed.TrySetResult(e);
            return Task.CompletedTask;
        }
        _connection.Closed += Closed;
        try
        {
            await _connection.StartAsync(cancellationToken).ConfigureAwait(false);
            _connected.TrySetResult();
            if (callId is not null)
            {
                await ResumeAsync(callId, cancellationToken, initial: true).ConfigureAwait(false);
            }
            else
            {
                try
                {
                    await _connection.InvokeAsync<JsonElement>("Resume", "", 0L, cancellationToken).ConfigureAwait(false);
                }
                catch (HubException ex) when (Coded(ex, "Resume").Code is "invalid_request" or "rate_limited")
                {
                    // The expected refusal: the connection is up and admitted.
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A refused connection is closed by the host with its coded reason: report that rather than the cut-off call.
            var reason = closed.Task.IsCompleted || _connection.State != HubConnectionState.Connected
                ? await closed.Task.WaitAsync(TimeSpan.FromSeconds(5), _time, CancellationToken.None).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default).ConfigureAwait(false)
                : null;
            throw Coded(reason ?? ex, "connect");
        }
        finally
        {
            _connection.Closed -= Closed;
        }
    }

    public async IAsyncEnumerable<CallEvent> ReadEventsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await _events.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (_events.Reader.TryRead(out var e))
            {
                Consumed(e);
                yield return e;
            }
        }
    }

    public Task<long> SignalAsync(string callId, string type, JsonElement data, CancellationToken cancellationToken) =>
        SendStoredAsync("Signal", callId, [callId, type, data], cancellationToken);

    public Task<long> ChatAsync(string callId, string ciphertext, CancellationToken cancellationToken) =>
        SendStoredAsync("Chat", callId, [callId, ciphertext], cancellationToken);

    public Task TypingAsync(string callId, bool isTyping, CancellationToken cancellationToken) =>
        InvokeAsync<object?>("Typing", [callId, isTyping], cancellationToken);

    public Task HangupAsync(string callId, CancellationToken cancellationToken) =>
        InvokeAsync<object?>("Hangup", [callId], cancellationToken);

    public Task RejectAsync(string callId, CancellationToken cancellationToken) =>
        InvokeAsync<object?>("Reject", [callId], cancellationToken);

    public async Task AcceptAsync(string callId, CancellationToken cancellationToken)
    {
        await InvokeAsync<object?>("Accept", [callId], cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            State(callId).Participating = true;
        }
    }

    private async Task<long> SendStoredAsync(string method, string callId, object?[] arguments, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await InvokeAsync<long>(method, arguments, cancellationToken).ConfigureAwait(false);
            }
            catch (QrCallingException ex) when (ex.Code == "mailbox_full" && attempt <= _options.MailboxFullRetries)
            {
                // Nothing was stored: the other side has not caught up yet. Send it again shortly.
                Log.MailboxFull(_logger, callId, attempt);
                await Task.Delay(_options.MailboxFullRetryDelay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<T> InvokeAsync<T>(string method, object?[] arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments[0]);
        await WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await _connection.InvokeCoreAsync<T>(method, arguments, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw Coded(ex, method);
        }
    }

    private async Task WaitConnectedAsync(CancellationToken cancellationToken)
    {
        Task wait;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_closed)
            {
                throw new QrCallingException(QrCallingException.DisconnectedCode, "The hub connection closed and did not come back.");
            }
            wait = _connected.Task;
        }
        await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_closed)
        {
            throw new QrCallingException(QrCallingException.DisconnectedCode, "The hub connection closed and did not come back.");
        }
    }

    [GeneratedRegex("HubException: ([a-z_]+): (.*)$", RegexOptions.Singleline)]
    private static partial Regex HubErrorPattern();

    /// <summary>SignalR shows a host's HubException as "An unexpected error occurred invoking 'X' on the server.
    /// HubException: &lt;code&gt;: &lt;detail&gt;"; anything else means the connection went away.</summary>
    internal static QrCallingException Coded(Exception exception, string method)
    {
        if (exception is QrCallingException coded)
        {
            return coded;
        }
        var match = HubErrorPattern().Match(exception.Message);
        if (match.Success)
        {
            return new QrCallingException(match.Groups[1].Value, match.Groups[2].Value.Trim(), innerException: exception);
        }
        return exception is HubException
            ? new QrCallingException("internal_error", $"The host failed '{method}'.", innerException: exception)
            : new QrCallingException(QrCallingException.DisconnectedCode, $"'{method}' did not complete: the hub connection is not available.", innerException: exception);
    }

    private void OnEvent(string name, JsonElement e)
    {
        CallEvent parsed;
        try
        {
            parsed = Parse(name, e);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException or JsonException)
        {
            return; // not the shape of docs/protocol.md: nothing a caller of this library could act on
        }
        lock (_lock)
        {
            var state = State(parsed.CallId);
            if (state.Resuming && parsed is SignalReceived or ChatReceived or CallAccepted or CallEnded)
            {
                // Held until the Resume that runs now has answered, then merged with it in seq order.
                state.Buffer.Add((OrderOf(parsed), parsed));
                return;
            }
            Emit(state, parsed);
        }
    }

    private static long OrderOf(CallEvent e) => e switch
    {
        SignalReceived s => s.Seq,
        ChatReceived c => c.Seq,
        CallAccepted => 0,
        _ => long.MaxValue,
    };

    private void Emit(CallState state, CallEvent e)
    {
        switch (e)
        {
            case SignalReceived or ChatReceived:
                var seq = OrderOf(e);
                if (seq <= state.Floor || !state.Seen.Add(seq))
                {
                    ClientMetrics.Duplicates.Add(1);
                    Log.Duplicate(_logger, e.CallId, seq);
                    return;
                }
                break;
            case IncomingCall:
                if (state.Incoming || state.Ended)
                {
                    return;
                }
                state.Incoming = true;
                break;
            case CallAccepted:
                if (state.Accepted)
                {
                    return;
                }
                state.Accepted = true;
                state.Participating = true; // a device gets CallAccepted only when it accepted
                break;
            case CallAnsweredElsewhere:
                if (state.AnsweredElsewhere)
                {
                    return;
                }
                state.AnsweredElsewhere = true;
                break;
            case CallEnded:
                if (state.Ended)
                {
                    return;
                }
                state.Ended = true;
                state.Participating = false;
                break;
        }
        _events.Writer.TryWrite(e);
    }

    private static CallEvent Parse(string name, JsonElement e)
    {
        string S(string key) => e.GetProperty(key).GetString() ?? throw new FormatException(key);
        var callId = S("callId");
        return name switch
        {
            "IncomingCall" => new IncomingCall(callId, S("calleeId"), S("callerId"), S("label"), S("media"), e.GetProperty("expiresAt").GetDateTimeOffset(),
                e.TryGetProperty("codeMedia", out var codeMedia) && codeMedia.ValueKind == JsonValueKind.Array
                    ? [.. codeMedia.EnumerateArray().Select(m => m.GetString() ?? "")]
                    : null),
            "CallAccepted" => new CallAccepted(callId),
            "CallAnsweredElsewhere" => new CallAnsweredElsewhere(callId),
            "CallEnded" => new CallEnded(callId, S("reason")),
            "Signal" => new SignalReceived(callId, e.GetProperty("seq").GetInt64(), S("from"), S("type"), e.GetProperty("data").Clone()),
            "Chat" => new ChatReceived(callId, e.GetProperty("seq").GetInt64(), S("from"), S("ciphertext"), e.GetProperty("at").GetDateTimeOffset()),
            "Typing" => new TypingChanged(callId, S("from"), e.GetProperty("isTyping").GetBoolean()),
            "PeerLeft" => new PeerLeft(callId, S("who")),
            "PeerJoined" => new PeerJoined(callId, S("who")),
            _ => throw new InvalidOperationException(name),
        };
    }

    /// <summary>A mailbox entry <c>{seq, type, from, data, at}</c> as the event it stands for.</summary>
    private static CallEvent? FromEntry(string callId, JsonElement entry)
    {
        var seq = entry.GetProperty("seq").GetInt64();
        var type = entry.GetProperty("type").GetString();
        var from = entry.GetProperty("from").GetString() ?? "";
        var data = entry.GetProperty("data");
        return type switch
        {
            "chat" => new ChatReceived(callId, seq, from, data.GetString() ?? "", entry.GetProperty("at").GetDateTimeOffset()),
            "call-accepted" => new CallAccepted(callId),
            "call-ended" => new CallEnded(callId, data.ValueKind == JsonValueKind.Object && data.TryGetProperty("reason", out var r) ? r.GetString() ?? "" : ""),
            null => null,
            _ => new SignalReceived(callId, seq, from, type, data.Clone()),
        };
    }

    /// <summary>Asks for the call's mailbox after what this side acknowledged, and delivers what it had not seen, merged
    /// with what arrived live meanwhile, in seq order.</summary>
    private async Task ResumeAsync(string callId, CancellationToken cancellationToken, bool initial = false)
    {
        long after;
        lock (_lock)
        {
            after = State(callId).Floor;
        }
        JsonElement result;
        try
        {
            result = await _connection.InvokeAsync<JsonElement>("Resume", callId, after, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException ex) when (!initial)
        {
            var code = Coded(ex, "Resume").Code;
            Log.ResumeRefused(_logger, callId, code);
            lock (_lock)
            {
                var state = State(callId);
                if (code == "not_participant")
                {
                    state.Participating = false;
                }
                Flush(state, []);
            }
            return;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested && !initial)
        {
            return; // the connection dropped again: the next reconnect resumes
        }
        var entries = new List<(long, CallEvent)>();
        if (result.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in result.EnumerateArray())
            {
                if (FromEntry(callId, entry) is { } e)
                {
                    entries.Add((entry.GetProperty("seq").GetInt64(), e));
                }
            }
        }
        lock (_lock)
        {
            var state = State(callId);
            var before = state.Seen.Count;
            Flush(state, entries);
            var fresh = state.Seen.Count - before;
            ClientMetrics.Resumed.Add(fresh);
            Log.Resumed(_logger, callId, entries.Count, fresh);
        }
    }

    private void Flush(CallState state, List<(long Order, CallEvent Event)> resumed)
    {
        state.Resuming = false;
        var all = resumed.Concat(state.Buffer).OrderBy(x => x.Order).ToList(); // stable: a resumed entry before its live twin
        state.Buffer.Clear();
        foreach (var (_, e) in all)
        {
            Emit(state, e);
        }
    }

    private void Consumed(CallEvent e)
    {
        if (e is not (SignalReceived or ChatReceived))
        {
            return;
        }
        var seq = OrderOf(e);
        long send = -1;
        lock (_lock)
        {
            var state = State(e.CallId);
            state.ReceivedUpTo = Math.Max(state.ReceivedUpTo, seq);
            state.Unacked++;
            if (state.Unacked >= _options.AckEvery)
            {
                send = state.ReceivedUpTo;
                state.Unacked = 0;
                state.AckTimer?.Dispose();
                state.AckTimer = null;
            }
            else if (state.AckTimer is null)
            {
                var callId = e.CallId;
                state.AckTimer = _time.CreateTimer(_ => AckNow(callId), null, _options.AckDelay, Timeout.InfiniteTimeSpan);
            }
        }
        if (send >= 0)
        {
            _ = AckAsync(e.CallId, send);
        }
    }

    private void AckNow(string callId)
    {
        long send;
        lock (_lock)
        {
            var state = State(callId);
            state.AckTimer?.Dispose();
            state.AckTimer = null;
            if (state.Unacked == 0)
            {
                return;
            }
            state.Unacked = 0;
            send = state.ReceivedUpTo;
        }
        _ = AckAsync(callId, send);
    }

    /// <summary>Fire and forget: everything up to <paramref name="seq"/> was consumed, so the host may trim it. A lost
    /// acknowledgement costs nothing: the next one, or the Resume after a reconnect, covers it.</summary>
    private async Task AckAsync(string callId, long seq)
    {
        if (_connection.State != HubConnectionState.Connected)
        {
            return;
        }
        try
        {
            await _connection.SendAsync("Ack", callId, seq).ConfigureAwait(false);
            lock (_lock)
            {
                var state = State(callId);
                if (seq > state.Floor)
                {
                    state.Floor = seq;
                    state.Seen.RemoveWhere(s => s <= seq);
                }
            }
        }
        catch (Exception ex)
        {
            Log.AckFailed(_logger, callId, ex);
        }
    }

    private Task OnReconnecting(Exception? exception)
    {
        Log.Reconnecting(_logger, exception);
        lock (_lock)
        {
            if (_connected.Task.IsCompleted)
            {
                _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            foreach (var state in _calls.Values.Where(s => s.Participating && !s.Ended))
            {
                state.Resuming = true;
            }
        }
        return Task.CompletedTask;
    }

    private Task OnReconnected(string? connectionId)
    {
        ClientMetrics.Reconnects.Add(1);
        List<string> resume;
        lock (_lock)
        {
            resume = [.. _calls.Where(c => c.Value.Resuming).Select(c => c.Key)];
            _connected.TrySetResult();
        }
        Log.Reconnected(_logger, resume.Count);
        // Not awaited here: the Resume answers arrive through the receive loop.
        _ = Task.Run(async () =>
        {
            foreach (var callId in resume)
            {
                await ResumeAsync(callId, CancellationToken.None).ConfigureAwait(false);
            }
        });
        return Task.CompletedTask;
    }

    private Task OnClosed(Exception? exception)
    {
        lock (_lock)
        {
            _closed = true;
            _connected.TrySetResult();
            foreach (var state in _calls.Values)
            {
                state.AckTimer?.Dispose();
                state.AckTimer = null;
                Flush(state, []);
            }
            if (_disposed)
            {
                _events.Writer.TryComplete();
                return Task.CompletedTask;
            }
        }
        Log.Closed(_logger, exception);
        _events.Writer.TryComplete(new QrCallingException(QrCallingException.DisconnectedCode,
            "The hub connection closed and did not come back.", innerException: exception));
        return Task.CompletedTask;
    }

    private CallState State(string callId)
    {
        if (!_calls.TryGetValue(callId, out var state))
        {
            state = new CallState();
            _calls[callId] = state;
        }
        return state;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        await _connection.DisposeAsync().ConfigureAwait(false);
        lock (_lock)
        {
            foreach (var state in _calls.Values)
            {
                state.AckTimer?.Dispose();
            }
        }
        _events.Writer.TryComplete();
    }

    private sealed class CallState
    {
        public readonly HashSet<long> Seen = [];
        public readonly List<(long Order, CallEvent Event)> Buffer = [];
        /// <summary>Every entry up to this seq was consumed and acknowledged (the host trimmed it).</summary>
        public long Floor;
        public long ReceivedUpTo;
        public int Unacked;
        public ITimer? AckTimer;
        public bool Incoming;
        public bool Accepted;
        public bool AnsweredElsewhere;
        public bool Ended;
        /// <summary>This side takes part (the caller; the device that accepted): resumed after a reconnect.</summary>
        public bool Participating;
        public bool Resuming;
    }

    private sealed class RetryPolicy(QrCallingClientOptions options) : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext retryContext) =>
            retryContext.ElapsedTime > options.ReconnectTimeout
                ? null
                : options.ReconnectDelays[(int)Math.Min(retryContext.PreviousRetryCount, options.ReconnectDelays.Count - 1)];
    }
}
