using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QrCalling.Client.Internal;

namespace QrCalling.Client;

/// <summary>The caller's side: scan a code, start a call, and connect to it. Needs no account; a started call's token
/// admits to that one call only.</summary>
public sealed class QrCallingCallerClient
{
    private readonly RestClient _rest;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;

    /// <summary>Creates the client.</summary>
    /// <param name="httpClient">The HTTP client for REST requests (from <c>IHttpClientFactory</c> or your own).</param>
    /// <param name="options">Where the host is and how to talk to it.</param>
    /// <param name="timeProvider">The clock for acknowledgement and retry delays; the system clock by default.</param>
    /// <param name="loggerFactory">Where the client logs (never tokens, payloads or messages); nowhere by default.</param>
    public QrCallingCallerClient(HttpClient httpClient, QrCallingClientOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        _rest = new RestClient(httpClient, options);
        _time = timeProvider ?? TimeProvider.System;
        _loggers = loggerFactory ?? NullLoggerFactory.Instance;
    }

    /// <summary>What a code shows before calling (<c>POST /scan</c>); does not count against the code's calls.</summary>
    /// <param name="payload">The QR's text: the payload or its link form.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The code's label and what the owner takes now.</returns>
    /// <exception cref="QrCallingException"><c>malformed</c>, <c>checksum</c>, <c>unavailable</c> (unknown, revoked,
    /// expired or used up), <c>rate_limited</c>.</exception>
    public Task<ScanResult> ScanAsync(string payload, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(payload);
        return _rest.SendAsync<ScanResult>(HttpMethod.Post, "/scan", new { payload }, null, cancellationToken);
    }

    /// <summary>Starts a call (<c>POST /calls</c>): the owner's devices ring.</summary>
    /// <param name="payload">The QR's text: the payload or its link form.</param>
    /// <param name="media">One of <see cref="CallMedia"/>.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The call, with its call token.</returns>
    /// <exception cref="QrCallingException"><c>unavailable</c>, <c>invalid_request</c> (media the code does not allow),
    /// <c>chat_only</c>, <c>quiet_hours</c>, <c>proof_required</c>, <c>rate_limited</c>, …</exception>
    public Task<StartedCall> StartCallAsync(string payload, string media, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(payload);
        ArgumentException.ThrowIfNullOrWhiteSpace(media);
        return _rest.SendAsync<StartedCall>(HttpMethod.Post, "/calls", new { payload, media }, null, cancellationToken);
    }

    /// <summary>Opens the caller's hub connection to a started call. Once this returns, every event of the call
    /// reaches <see cref="QrCallingCallerConnection.ReadEventsAsync(CancellationToken)"/> (those sent earlier too).</summary>
    /// <param name="call">The started call.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>The open connection; dispose it to leave.</returns>
    /// <exception cref="QrCallingException">The host refused the connection (<c>unauthorized</c>, <c>rate_limited</c>) or
    /// could not be reached (<c>disconnected</c>).</exception>
    public async Task<QrCallingCallerConnection> ConnectAsync(StartedCall call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        var token = call.CallToken;
        var session = new HubSession(_rest, _ => Task.FromResult(token), "", new Dictionary<string, string>(), _time,
            _loggers.CreateLogger<QrCallingCallerConnection>());
        try
        {
            await session.StartAsync(call.CallId, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new QrCallingCallerConnection(call, session);
    }
}

/// <summary>A caller's hub connection to its call. It reconnects by itself after a drop and resumes the call, so
/// nothing is lost and nothing arrives twice.</summary>
public sealed class QrCallingCallerConnection : IAsyncDisposable
{
    private readonly HubSession _session;

    internal QrCallingCallerConnection(StartedCall call, HubSession session)
    {
        Call = call;
        _session = session;
    }

    /// <summary>The call.</summary>
    public StartedCall Call { get; }

    /// <summary>The call's events: <see cref="CallAccepted"/>, <see cref="SignalReceived"/>, <see cref="ChatReceived"/>,
    /// <see cref="TypingChanged"/>, <see cref="PeerLeft"/>, <see cref="PeerJoined"/>, <see cref="CallEnded"/>. One reader
    /// at a time; entries are acknowledged to the host as they are read. Ends when the connection is disposed; throws
    /// <see cref="QrCallingException"/> (<c>disconnected</c>) when it closed and did not come back.</summary>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The events in order.</returns>
    public IAsyncEnumerable<CallEvent> ReadEventsAsync(CancellationToken cancellationToken = default) => _session.ReadEventsAsync(cancellationToken);

    /// <summary>Sends a signal (offer, answer, ice-candidate, key-exchange, renegotiate or file (E2EFileTransfers)), relayed unchanged; sent again
    /// while the other side's mailbox is full.</summary>
    /// <param name="type">The signal type.</param>
    /// <param name="data">Any JSON value.</param>
    /// <param name="cancellationToken">Cancels waiting (the signal may still be delivered).</param>
    /// <returns>The signal's seq.</returns>
    public Task<long> SignalAsync(string type, JsonElement data, CancellationToken cancellationToken = default) =>
        _session.SignalAsync(Call.CallId, type, data, cancellationToken);

    /// <summary>Sends a chat ciphertext (see <see cref="E2E.E2ESession.Encrypt(string)"/>).</summary>
    /// <param name="ciphertext">What to relay and keep in the call's mailbox.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The chat's seq.</returns>
    public Task<long> ChatAsync(string ciphertext, CancellationToken cancellationToken = default) =>
        _session.ChatAsync(Call.CallId, ciphertext, cancellationToken);

    /// <summary>Tells the other side whether this side is typing (relayed, not stored).</summary>
    /// <param name="isTyping">Whether typing.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes once the host took it.</returns>
    public Task TypingAsync(bool isTyping, CancellationToken cancellationToken = default) =>
        _session.TypingAsync(Call.CallId, isTyping, cancellationToken);

    /// <summary>Ends the call: canceled while it rings, hangup once active.</summary>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes once the host ended the call.</returns>
    public Task HangupAsync(CancellationToken cancellationToken = default) => _session.HangupAsync(Call.CallId, cancellationToken);

    /// <summary>Closes the connection (the call goes on until it ends or the host's reconnect grace passes).</summary>
    /// <returns>A task that completes once closed.</returns>
    public ValueTask DisposeAsync() => _session.DisposeAsync();
}
