using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using QrCalling.Client.Internal;

namespace QrCalling.Client;

/// <summary>The owner's side: codes, devices, and a device's hub connection that rings for incoming calls. Every request
/// carries the token from <see cref="QrCallingClientOptions.OwnerAccessToken"/>.</summary>
public sealed class QrCallingOwnerClient
{
    private readonly RestClient _rest;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly Func<CancellationToken, ValueTask<string>> _token;

    /// <summary>Creates the client.</summary>
    /// <param name="httpClient">The HTTP client for REST requests (from <c>IHttpClientFactory</c> or your own).</param>
    /// <param name="options">Where the host is; <see cref="QrCallingClientOptions.OwnerAccessToken"/> is required.</param>
    /// <param name="timeProvider">The clock for acknowledgement and retry delays; the system clock by default.</param>
    /// <param name="loggerFactory">Where the client logs (never tokens, payloads or messages); nowhere by default.</param>
    public QrCallingOwnerClient(HttpClient httpClient, QrCallingClientOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        _rest = new RestClient(httpClient, options);
        _token = options.OwnerAccessToken
            ?? throw new ArgumentException($"Set {nameof(QrCallingClientOptions)}.{nameof(QrCallingClientOptions.OwnerAccessToken)} for the owner's client.", nameof(options));
        _time = timeProvider ?? TimeProvider.System;
        _loggers = loggerFactory ?? NullLoggerFactory.Instance;
    }

    private async Task<string> TokenAsync(CancellationToken cancellationToken) => await _token(cancellationToken).ConfigureAwait(false);

    /// <summary>Issues a code (<c>POST /codes</c>). Its payload is shown only here.</summary>
    /// <param name="settings">Label, media, expiry, call limit; all optional.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The new code with its payload and link.</returns>
    /// <exception cref="QrCallingException"><c>invalid_request</c>, <c>quota_exceeded</c>, <c>unauthorized</c>, <c>rate_limited</c>.</exception>
    public async Task<IssuedCode> CreateCodeAsync(CodeSettings? settings = null, CancellationToken cancellationToken = default) =>
        await _rest.SendAsync<IssuedCode>(HttpMethod.Post, "/codes", settings ?? new CodeSettings(), await TokenAsync(cancellationToken).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);

    /// <summary>The owner's codes, newest first (<c>GET /codes</c>).</summary>
    /// <param name="limit">At most this many (1 to 200; the host's default when null).</param>
    /// <param name="before">Only codes created before this time (the next page).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The codes, without payloads.</returns>
    public async Task<IReadOnlyList<CodeInfo>> ListCodesAsync(int? limit = null, DateTimeOffset? before = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string>();
        if (limit is { } l)
        {
            query.Add("limit=" + l.ToString(CultureInfo.InvariantCulture));
        }
        if (before is { } b)
        {
            query.Add("before=" + Uri.EscapeDataString(b.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)));
        }
        var path = "/codes" + (query.Count > 0 ? "?" + string.Join('&', query) : "");
        return await _rest.SendAsync<List<CodeInfo>>(HttpMethod.Get, path, null, await TokenAsync(cancellationToken).ConfigureAwait(false), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Revokes a code: it answers <c>unavailable</c> from now on.</summary>
    /// <param name="codeId">The code's id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes once revoked.</returns>
    /// <exception cref="QrCallingException"><c>not_found</c> for an unknown, foreign or already revoked code.</exception>
    public async Task RevokeCodeAsync(string codeId, CancellationToken cancellationToken = default) =>
        await _rest.SendAsync(HttpMethod.Post, $"/codes/{Uri.EscapeDataString(codeId)}/revoke", null, await TokenAsync(cancellationToken).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);

    /// <summary>Replaces a code with a new one of the same settings; the old one is revoked.</summary>
    /// <param name="codeId">The code's id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The new code with its payload and link.</returns>
    public async Task<IssuedCode> RotateCodeAsync(string codeId, CancellationToken cancellationToken = default) =>
        await _rest.SendAsync<IssuedCode>(HttpMethod.Post, $"/codes/{Uri.EscapeDataString(codeId)}/rotate", null,
            await TokenAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>Deletes a code for good; a call it rings or carries ends (<c>revoked</c>).</summary>
    /// <param name="codeId">The code's id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes once deleted.</returns>
    public async Task DeleteCodeAsync(string codeId, CancellationToken cancellationToken = default) =>
        await _rest.SendAsync(HttpMethod.Delete, $"/codes/{Uri.EscapeDataString(codeId)}", null, await TokenAsync(cancellationToken).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);

    /// <summary>Registers a device (<c>POST /devices</c>): keep its id and credential to come back as the same device.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The device id and credential.</returns>
    public async Task<OwnerDevice> RegisterDeviceAsync(CancellationToken cancellationToken = default) =>
        await _rest.SendAsync<OwnerDevice>(HttpMethod.Post, "/devices", null, await TokenAsync(cancellationToken).ConfigureAwait(false), cancellationToken)
            .ConfigureAwait(false);

    /// <summary>Brings a device online: its hub connection rings with <see cref="IncomingCall"/> for every call of the
    /// owner's codes (also those ringing already).</summary>
    /// <param name="device">A device from <see cref="RegisterDeviceAsync(CancellationToken)"/>.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>The open connection; dispose it to go offline.</returns>
    /// <exception cref="QrCallingException">The host refused the connection or could not be reached.</exception>
    public async Task<QrCallingDeviceConnection> ConnectAsync(OwnerDevice device, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(device);
        // The device id goes in the URL (it is not a secret); its credential in a header, never in a URL.
        var headers = new Dictionary<string, string> { ["X-QrCalling-Device-Credential"] = device.DeviceCredential };
        var session = new HubSession(_rest, TokenAsync, "?deviceId=" + Uri.EscapeDataString(device.DeviceId), headers, _time,
            _loggers.CreateLogger<QrCallingDeviceConnection>());
        try
        {
            await session.StartAsync(null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new QrCallingDeviceConnection(device.DeviceId, session);
    }
}

/// <summary>An owner device's hub connection. It reconnects by itself after a drop and resumes the calls it accepted,
/// so nothing is lost and nothing arrives twice.</summary>
public sealed class QrCallingDeviceConnection : IAsyncDisposable
{
    private readonly HubSession _session;

    internal QrCallingDeviceConnection(string deviceId, HubSession session)
    {
        DeviceId = deviceId;
        _session = session;
    }

    /// <summary>The device's id.</summary>
    public string DeviceId { get; }

    /// <summary>The device's events: <see cref="IncomingCall"/>, <see cref="CallAnsweredElsewhere"/>,
    /// <see cref="CallEnded"/>, and for a call it accepted <see cref="CallAccepted"/>, <see cref="SignalReceived"/>,
    /// <see cref="ChatReceived"/>, <see cref="TypingChanged"/>, <see cref="PeerLeft"/>, <see cref="PeerJoined"/>. One
    /// reader at a time; entries are acknowledged to the host as they are read. Ends when the connection is disposed;
    /// throws <see cref="QrCallingException"/> (<c>disconnected</c>) when it closed and did not come back.</summary>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The events in order.</returns>
    public IAsyncEnumerable<CallEvent> ReadEventsAsync(CancellationToken cancellationToken = default) => _session.ReadEventsAsync(cancellationToken);

    /// <summary>Answers a ringing call; exactly one device wins (the others get <see cref="CallAnsweredElsewhere"/>).</summary>
    /// <param name="callId">The call.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes once this device answered.</returns>
    /// <exception cref="QrCallingException"><c>invalid_state</c> when the call no longer rings or another device won.</exception>
    public Task AcceptAsync(string callId, CancellationToken cancellationToken = default) => _session.AcceptAsync(callId, cancellationToken);

    /// <summary>Declines a ringing call (it ends <c>rejected</c>).</summary>
    /// <param name="callId">The call.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes once declined.</returns>
    public Task RejectAsync(string callId, CancellationToken cancellationToken = default) => _session.RejectAsync(callId, cancellationToken);

    /// <summary>Ends an accepted call (<c>hangup</c>).</summary>
    /// <param name="callId">The call.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes once ended.</returns>
    public Task HangupAsync(string callId, CancellationToken cancellationToken = default) => _session.HangupAsync(callId, cancellationToken);

    /// <summary>Sends a signal in an accepted call; sent again while the caller's mailbox is full.</summary>
    /// <param name="callId">The call.</param>
    /// <param name="type">offer, answer, ice-candidate, key-exchange, renegotiate or file (E2EFileTransfers).</param>
    /// <param name="data">Any JSON value.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The signal's seq.</returns>
    public Task<long> SignalAsync(string callId, string type, JsonElement data, CancellationToken cancellationToken = default) =>
        _session.SignalAsync(callId, type, data, cancellationToken);

    /// <summary>Sends a chat ciphertext in an accepted call.</summary>
    /// <param name="callId">The call.</param>
    /// <param name="ciphertext">What to relay.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The chat's seq.</returns>
    public Task<long> ChatAsync(string callId, string ciphertext, CancellationToken cancellationToken = default) =>
        _session.ChatAsync(callId, ciphertext, cancellationToken);

    /// <summary>Tells the caller whether this side is typing.</summary>
    /// <param name="callId">The call.</param>
    /// <param name="isTyping">Whether typing.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes once the host took it.</returns>
    public Task TypingAsync(string callId, bool isTyping, CancellationToken cancellationToken = default) =>
        _session.TypingAsync(callId, isTyping, cancellationToken);

    /// <summary>Takes the device offline (an accepted call goes on until the host's reconnect grace passes).</summary>
    /// <returns>A task that completes once closed.</returns>
    public ValueTask DisposeAsync() => _session.DisposeAsync();
}
