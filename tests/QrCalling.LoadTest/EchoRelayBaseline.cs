using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace QrCalling.LoadTest;

/// <summary>The floor baseline: a bare Kestrel WebSocket relay, run as a child process of this tool (this program with
/// <see cref="ServeArgument"/>, on the host's GC) so /proc gives its CPU time and memory apart from the load's. Two
/// sockets join a room (<c>/relay/{room}/{side}</c>), each is greeted with <c>{"type":"OPEN"}</c>, and every frame from
/// one is forwarded unchanged to the other: no parsing, no hub protocol, no storage, no auth, no acknowledgement to the
/// sender. The clients speak PeerJS's messages (<see cref="WebSocketPeer"/>).</summary>
internal static class EchoRelayBaseline
{
    public const string ServeArgument = "--serve-echo-relay";
    private const string ReadyPrefix = "echo relay listening on ";
    private static readonly ReadOnlyMemory<byte> Open = "{\"type\":\"OPEN\"}"u8.ToArray();

    /// <summary>Starts the relay as a child process; the result's ready line holds its address.</summary>
    public static async Task<(ServerProcess Server, Uri Address)> StartAsync(CancellationToken cancellationToken)
    {
        var (server, address) = await ServerProcess.StartToolChildAsync(ServeArgument, ReadyPrefix, cancellationToken);
        return (server, new UriBuilder(address) { Scheme = "ws" }.Uri);
    }

    /// <summary>The offer/answer workload through the relay, <paramref name="calls"/> rooms at once.</summary>
    public static async Task<RelayResult> RunAsync(int calls, int signals, TimeSpan warmUp, CancellationToken cancellationToken)
    {
        var (server, address) = await StartAsync(cancellationToken);
        await using (server)
        {
            return await WebSocketCall.RunWorkloadAsync("bare Kestrel WebSocket relay", server, calls, signals,
                (i, side, _) => new Uri(address, $"/relay/{i}/{side}"), heartbeat: null, warmUp, cancellationToken);
        }
    }

    /// <summary>The child process: serves the relay on a free loopback port, prints the ready line with its address, and
    /// stops when its stdin closes (the tool ended or killed it).</summary>
    public static async Task ServeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var rooms = new ConcurrentDictionary<string, Room>();
        await using var app = builder.Build();
        app.UseWebSockets();
        app.Map("/relay/{room}/{side:int:range(0,1)}", async (HttpContext context, string room, int side) =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var pair = rooms.GetOrAdd(room, _ => new Room());
            pair.Join(side, socket);
            await pair.SendAsync(side, Open, true, context.RequestAborted);
            while (true)
            {
                // Wait for data without holding a buffer (as SignalR's transport does), then borrow one.
                if ((await socket.ReceiveAsync(Memory<byte>.Empty, context.RequestAborted)).MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
                try
                {
                    var result = await socket.ReceiveAsync(buffer.AsMemory(), context.RequestAborted);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }
                    await pair.SendAsync(1 - side, buffer.AsMemory(0, result.Count), result.EndOfMessage, context.RequestAborted);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            rooms.TryRemove(room, out _);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine(ReadyPrefix + address);
        await Console.In.ReadToEndAsync();
        await app.StopAsync();
    }

    private sealed class Room
    {
        private readonly WebSocket?[] _sides = new WebSocket?[2];
        private readonly SemaphoreSlim[] _locks = [new(1, 1), new(1, 1)];

        public void Join(int side, WebSocket socket) => _sides[side] = socket;

        public async Task SendAsync(int side, ReadOnlyMemory<byte> frame, bool endOfMessage, CancellationToken cancellationToken)
        {
            var target = _sides[side];
            if (target is null)
            {
                return;
            }
            await _locks[side].WaitAsync(cancellationToken);
            try
            {
                await target.SendAsync(frame, WebSocketMessageType.Text, endOfMessage, cancellationToken);
            }
            finally
            {
                _locks[side].Release();
            }
        }
    }
}
