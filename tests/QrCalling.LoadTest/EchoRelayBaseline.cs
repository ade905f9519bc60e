using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace QrCalling.LoadTest;

/// <summary>The baseline: a bare Kestrel WebSocket relay in this process. Two sockets join a room; every text message
/// from one is forwarded unchanged to the other, and the sender gets a tiny ack (as a hub Signal returns its seq), which
/// it awaits before sending the next, like the QrCalling phase. No hub protocol, no storage, no auth: the floor of what
/// relaying a message over a WebSocket costs on this machine.</summary>
internal static class EchoRelayBaseline
{
    public static async Task<RelayResult> RunAsync(int pairs, int signals, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var rooms = new ConcurrentDictionary<string, Room>();
        await using var app = builder.Build();
        app.UseWebSockets();
        app.Map("/relay/{room}/{side:int}", async (HttpContext context, string room, int side) =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var pair = rooms.GetOrAdd(room, _ => new Room());
            pair.Join(side, socket);
            var buffer = new byte[16 * 1024];
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, context.RequestAborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                await pair.SendAsync(1 - side, buffer.AsMemory(0, result.Count), context.RequestAborted);
                await pair.SendAsync(side, Ack, context.RequestAborted);
            }
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        });
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().Replace("http", "ws", StringComparison.Ordinal);

        var sockets = await Task.WhenAll(Enumerable.Range(0, pairs).Select(async i =>
        {
            var a = new ClientWebSocket();
            var b = new ClientWebSocket();
            await a.ConnectAsync(new Uri($"{address}/relay/{i}/0"), cancellationToken);
            await b.ConnectAsync(new Uri($"{address}/relay/{i}/1"), cancellationToken);
            return (a, b);
        }));
        await Task.Delay(200, cancellationToken); // both sides joined their rooms

        var latencies = new ConcurrentBag<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(sockets.Select(async pair =>
        {
            var (ackA, ackB) = (new SemaphoreSlim(0), new SemaphoreSlim(0));
            var received = Task.WhenAll(ReceiveAsync(pair.a, signals, ackA, latencies, cancellationToken), ReceiveAsync(pair.b, signals, ackB, latencies, cancellationToken));
            await Task.WhenAll(SendAsync(pair.a, signals, ackA, cancellationToken), SendAsync(pair.b, signals, ackB, cancellationToken));
            await received.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }));
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  baseline relayed {latencies.Count} messages in {seconds:F2} s");

        foreach (var (a, b) in sockets)
        {
            a.Dispose();
            b.Dispose();
        }
        await app.StopAsync(CancellationToken.None);
        return new RelayResult(latencies.Count / seconds, Percentiles.Of(latencies));
    }

    private static readonly ReadOnlyMemory<byte> Ack = "{\"ack\":1}"u8.ToArray();

    private static async Task SendAsync(ClientWebSocket socket, int signals, SemaphoreSlim acks, CancellationToken cancellationToken)
    {
        for (var i = 0; i < signals; i++)
        {
            // The same JSON a hub Signal carries: {callId, type, data:{candidate, sdpMid, sdpMLineIndex, t}}.
            var json = JsonSerializer.SerializeToUtf8Bytes(new
            {
                callId = "call_baseline_0000000000000000",
                type = "ice-candidate",
                data = new { candidate = Message.Candidate, sdpMid = "0", sdpMLineIndex = 0, t = Stopwatch.GetTimestamp() },
            });
            await socket.SendAsync(json, WebSocketMessageType.Text, true, cancellationToken);
            await acks.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Reads the peer's messages (recording their latency) and this side's acks until it has both.</summary>
    private static async Task ReceiveAsync(ClientWebSocket socket, int signals, SemaphoreSlim acks, ConcurrentBag<double> latencies, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        var (messages, acked) = (0, 0);
        while (messages < signals || acked < signals)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            using var document = JsonDocument.Parse(Encoding.UTF8.GetString(buffer, 0, result.Count));
            if (document.RootElement.TryGetProperty("ack", out _))
            {
                acked++;
                acks.Release();
            }
            else
            {
                messages++;
                latencies.Add(Message.MillisecondsSince(document.RootElement.GetProperty("data").GetProperty("t").GetInt64()));
            }
        }
    }

    private sealed class Room
    {
        private readonly WebSocket?[] _sides = new WebSocket?[2];
        private readonly SemaphoreSlim[] _locks = [new(1, 1), new(1, 1)];

        public void Join(int side, WebSocket socket) => _sides[side] = socket;

        public async Task SendAsync(int side, ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            var target = _sides[side];
            if (target is null)
            {
                return;
            }
            await _locks[side].WaitAsync(cancellationToken);
            try
            {
                await target.SendAsync(message, WebSocketMessageType.Text, true, cancellationToken);
            }
            finally
            {
                _locks[side].Release();
            }
        }
    }
}
