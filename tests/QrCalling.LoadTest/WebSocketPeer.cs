using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace QrCalling.LoadTest;

/// <summary>A raw WebSocket client speaking the PeerJS server protocol (peer 1.0.2, read from its dist/index.cjs): the
/// server greets with <c>{"type":"OPEN"}</c>; a client sends <c>{type, dst, payload}</c> with type OFFER, ANSWER or
/// CANDIDATE, and the server forwards it to the client whose id is <c>dst</c> with <c>src</c> added; a client that
/// sends nothing (HEARTBEAT included) for alive_timeout (60 s from the CLI) is dropped, so PeerJS clients send
/// <c>{"type":"HEARTBEAT"}</c> every 5 s. The echo relay baseline speaks the same messages.</summary>
internal sealed class WebSocketPeer : IAsyncDisposable
{
    private static readonly ReadOnlyMemory<byte> Heartbeat = "{\"type\":\"HEARTBEAT\"}"u8.ToArray();
    private readonly ClientWebSocket _socket = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly Channel<(string Type, string Text, long At)> _inbox = Channel.CreateUnbounded<(string, string, long)>(new UnboundedChannelOptions { SingleReader = true });
    private Task _receiving = Task.CompletedTask;
    private Timer? _heartbeat;

    private WebSocketPeer(string id) => Id = id;

    /// <summary>The peer id others address it by (<c>dst</c>).</summary>
    public string Id { get; }

    /// <summary>Connects, waits for OPEN, and sends HEARTBEAT every <paramref name="heartbeat"/> if given.</summary>
    public static async Task<WebSocketPeer> ConnectAsync(Uri uri, string id, TimeSpan? heartbeat, CancellationToken cancellationToken)
    {
        var peer = new WebSocketPeer(id);
        await peer._socket.ConnectAsync(uri, cancellationToken);
        peer._receiving = peer.ReceiveLoopAsync();
        await peer.ReceiveAsync("OPEN", cancellationToken);
        if (heartbeat is { } every)
        {
            peer._heartbeat = new Timer(_ => _ = peer.BeatAsync(), null, every, every);
        }
        return peer;
    }

    /// <summary>Sends an OFFER or ANSWER to <paramref name="destination"/> whose payload is <c>{type, sdp}</c>.</summary>
    public Task SendAsync(string destination, string type, CancellationToken cancellationToken) => SendAsync(JsonSerializer.SerializeToUtf8Bytes(new
    {
        type = type.ToUpperInvariant(),
        dst = destination,
        payload = new { type, sdp = Message.Sdp },
    }), cancellationToken);

    /// <summary>Waits for the next message, which must be of <paramref name="type"/> (case ignored); returns the
    /// Stopwatch timestamp of its arrival.</summary>
    public async Task<long> ReceiveAsync(string type, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(QrCallingClient.StepTimeout);
        var (received, text, at) = await _inbox.Reader.ReadAsync(deadline.Token);
        return string.Equals(received, type, StringComparison.OrdinalIgnoreCase)
            ? at
            : throw new InvalidOperationException($"Expected {type}, got {text}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_heartbeat is not null)
        {
            await _heartbeat.DisposeAsync();
        }
        if (_socket.State == WebSocketState.Open)
        {
            await _sending.WaitAsync();
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }
        await _receiving;
        _socket.Dispose();
        _sending.Dispose();
    }

    private async Task SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        await _sending.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(message, WebSocketMessageType.Text, true, cancellationToken);
        }
        finally
        {
            _sending.Release();
        }
    }

    private async Task BeatAsync()
    {
        try
        {
            await SendAsync(Heartbeat, CancellationToken.None);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException)
        {
            // The socket is closing; its last heartbeat does not matter.
        }
    }

    /// <summary>Reads whole messages until the socket closes; each goes to the inbox with its type and arrival time.</summary>
    private async Task ReceiveLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer.GetMemory(4096), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                buffer.Advance(result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }
                var at = Stopwatch.GetTimestamp();
                using var message = JsonDocument.Parse(buffer.WrittenMemory);
                var type = message.RootElement.GetProperty("type").GetString()!;
                _inbox.Writer.TryWrite((type, type is "OPEN" or "OFFER" or "ANSWER" ? type : Encoding.UTF8.GetString(buffer.WrittenSpan), at));
                buffer.ResetWrittenCount();
            }
        }
        catch (WebSocketException)
        {
            // The server went away; a waiting ReceiveAsync times out and says what it expected.
        }
    }
}

/// <summary>A call on a WebSocket relay: the caller's and the owner's <see cref="WebSocketPeer"/>.</summary>
internal sealed class WebSocketCall(WebSocketPeer caller, WebSocketPeer owner) : IRelayCall, IAsyncDisposable
{
    public Task SendAsync(int side, string type, CancellationToken cancellationToken) => Side(side).SendAsync(Side(1 - side).Id, type, cancellationToken);

    public Task<long> ReceiveAsync(int side, string type, CancellationToken cancellationToken) => Side(side).ReceiveAsync(type, cancellationToken);

    /// <summary>Connects both sides of <paramref name="count"/> calls to a relay server and runs the offer/answer
    /// workload through them. <paramref name="uri"/> gives a side's URL from the call's index, the side (0 caller,
    /// 1 owner) and the side's peer id.</summary>
    public static async Task<RelayResult> RunWorkloadAsync(string name, ServerProcess server, int count, int signals, Func<int, int, string, Uri> uri,
        TimeSpan? heartbeat, TimeSpan warmUp, CancellationToken cancellationToken)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var calls = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            var (callerId, ownerId) = ($"{run}-c{i}", $"{run}-o{i}");
            return new WebSocketCall(
                await WebSocketPeer.ConnectAsync(uri(i, 0, callerId), callerId, heartbeat, cancellationToken),
                await WebSocketPeer.ConnectAsync(uri(i, 1, ownerId), ownerId, heartbeat, cancellationToken));
        }));
        var result = await OfferAnswerWorkload.RunAsync(name, calls, signals, [server.Pid], warmUp, cancellationToken);
        foreach (var call in calls)
        {
            await call.DisposeAsync();
        }
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await caller.DisposeAsync();
        await owner.DisposeAsync();
    }

    private WebSocketPeer Side(int side) => side == 0 ? caller : owner;
}
