using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace QrCalling.LoadTest;

/// <summary>How the load's SignalR clients talk to the hub.</summary>
/// <param name="MessagePack">Use the MessagePack hub protocol instead of JSON.</param>
/// <param name="Ack">Acknowledge received signals (hub method <c>Ack(callId, seq)</c>) every <see cref="HubPeer.AckEvery"/>
/// of them, fire and forget, so the server can trim the call's mailbox window. A host without that method ignores it.</param>
/// <param name="FireAndForget">The relay workload's signals are sends (no completion comes back) instead of invocations.</param>
internal sealed record HubSettings(bool MessagePack, bool Ack, bool FireAndForget = false);

/// <summary>One SignalR hub connection (an owner device or a caller) with an inbox of the events it received, read in
/// arrival order by one reader at a time.</summary>
internal sealed class HubPeer : IAsyncDisposable
{
    public const int AckEvery = 16;
    private static readonly string[] Events = ["IncomingCall", "CallAccepted", "CallEnded", "Signal"];
    private readonly HubConnection _connection;
    private readonly bool _ack;
    private readonly bool _fireAndForget;
    private readonly Channel<HubEvent> _inbox = Channel.CreateUnbounded<HubEvent>(new UnboundedChannelOptions { SingleReader = true });
    private int _unacknowledged;

    private HubPeer(HubConnection connection, bool ack, bool fireAndForget)
    {
        _connection = connection;
        _ack = ack;
        _fireAndForget = fireAndForget;
    }

    /// <summary>Connects to <c>/hubs/calls</c> (WebSockets, no negotiate request) with <paramref name="token"/> (an owner's
    /// access token or a call token) as <c>access_token</c>.</summary>
    public static async Task<HubPeer> ConnectAsync(Uri baseUri, string query, string token, HubSettings settings, CancellationToken cancellationToken)
    {
        var builder = new HubConnectionBuilder().WithUrl(new Uri(baseUri, "/hubs/calls" + query), o =>
        {
            o.Transports = HttpTransportType.WebSockets;
            o.SkipNegotiation = true;
            o.AccessTokenProvider = () => Task.FromResult<string?>(token);
        });
        if (settings.MessagePack)
        {
            builder.AddMessagePackProtocol();
        }
        var peer = new HubPeer(builder.Build(), settings.Ack, settings.FireAndForget);
        foreach (var name in Events)
        {
            // object: a JsonElement with the JSON protocol, a dictionary with MessagePack (HubEvent reads both).
            peer._connection.On<object>(name, payload => peer.Receive(new HubEvent(name, payload, Stopwatch.GetTimestamp())));
        }
        await peer._connection.StartAsync(cancellationToken);
        return peer;
    }

    /// <summary>Hub method Signal(callId, type, data); returns the seq.</summary>
    public Task<long> SignalAsync(string callId, string type, object data, CancellationToken cancellationToken) =>
        _connection.InvokeAsync<long>("Signal", callId, type, data, cancellationToken);

    /// <summary>The relay workload's signal: an invocation, or with --signal send a fire-and-forget send (no completion
    /// comes back, as with PeerJS; a refusal is then only in the server's log).</summary>
    public Task RelaySignalAsync(string callId, string type, object data, CancellationToken cancellationToken) =>
        _fireAndForget ? _connection.SendAsync("Signal", callId, type, data, cancellationToken) : SignalAsync(callId, type, data, cancellationToken);

    /// <summary>A hub method that takes only the call id (Accept, Hangup).</summary>
    public Task InvokeAsync(string method, string callId, CancellationToken cancellationToken) =>
        _connection.InvokeAsync(method, callId, cancellationToken);

    /// <summary>The next <paramref name="name"/> event of call <paramref name="callId"/>; other events on the way (of
    /// earlier calls, or of other kinds) are skipped. Throws <see cref="LostEventException"/> after
    /// <paramref name="timeout"/>.</summary>
    public async Task<HubEvent> NextAsync(string name, string callId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var e = await _inbox.Reader.ReadAsync(deadline.Token);
                if (e.Name == name && e.Text("callId") == callId)
                {
                    return e;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LostEventException($"{name} of call {callId} did not arrive within {timeout.TotalSeconds:0.#} s");
        }
    }

    /// <summary>The next Signal of the call, which must be of <paramref name="type"/>.</summary>
    public async Task<HubEvent> NextSignalAsync(string callId, string type, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var e = await NextAsync("Signal", callId, timeout, cancellationToken);
        return e.Text("type") == type ? e : throw new InvalidOperationException($"Expected a {type} signal, got {e.Text("type")}.");
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    private void Receive(HubEvent e)
    {
        // SignalR runs one connection's handlers one at a time, so the counter needs no lock.
        if (_ack && e.Name == "Signal" && ++_unacknowledged == AckEvery)
        {
            _unacknowledged = 0;
            _ = AcknowledgeAsync(e.Text("callId")!, e.Number("seq"));
        }
        _inbox.Writer.TryWrite(e);
    }

    private async Task AcknowledgeAsync(string callId, long seq)
    {
        try
        {
            await _connection.SendAsync("Ack", callId, seq);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or OperationCanceledException)
        {
            // Fire and forget: a closing connection loses its last ack, which only delays the server's trimming.
        }
    }
}

/// <summary>A hub event as received: its name, its one argument and the Stopwatch timestamp of its arrival.</summary>
internal readonly record struct HubEvent(string Name, object Payload, long ReceivedAt)
{
    /// <summary>A string member of the payload (JSON object or MessagePack map), or null.</summary>
    public string? Text(string member) => Member(member) switch
    {
        JsonElement { ValueKind: JsonValueKind.String } text => text.GetString(),
        string text => text,
        _ => null,
    };

    /// <summary>A whole-number member of the payload (MessagePack picks the smallest integer type that fits).</summary>
    public long Number(string member) => Member(member) switch
    {
        JsonElement number => number.GetInt64(),
        IConvertible number => number.ToInt64(CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException($"The {Name} event has no number {member}."),
    };

    private object? Member(string member) => Payload switch
    {
        JsonElement { ValueKind: JsonValueKind.Object } json => json.TryGetProperty(member, out var value) ? value : null,
        IDictionary map => map.Keys.Cast<object>().FirstOrDefault(k => string.Equals(k as string, member, StringComparison.OrdinalIgnoreCase)) is { } key ? map[key] : null,
        _ => null,
    };
}

/// <summary>An event that did not arrive in time.</summary>
internal sealed class LostEventException(string message) : Exception(message);
