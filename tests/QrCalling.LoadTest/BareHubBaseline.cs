using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace QrCalling.LoadTest;

/// <summary>The framework floor: a bare ASP.NET Core SignalR hub with QrCalling's <c>Signal</c> shape and nothing else,
/// run as a child process of this tool (on the host's GC, Server or Workstation) so /proc gives its CPU time and memory
/// apart from the load's. A connection names its call and side in the query (<c>/hubs/calls?call=ID&amp;side=0|1</c>)
/// and joins the group of that side; <c>Signal(callId, type, data)</c> sends <c>Signal {callId, type, data, seq}</c> to
/// the other side's group and returns the seq. No authentication, no validation, no storage, no rate limits, no
/// presence: what QrCalling's hub costs above this is QrCalling's; what this costs above the bare Kestrel relay is
/// SignalR's.</summary>
internal static class BareHubBaseline
{
    public const string ServeArgument = "--serve-bare-hub";
    private const string ReadyPrefix = "bare hub listening on ";

    /// <summary>Starts the hub as a child process; the result's ready line holds its address.</summary>
    public static Task<(ServerProcess Server, Uri Address)> StartAsync(CancellationToken cancellationToken) =>
        ServerProcess.StartToolChildAsync(ServeArgument, ReadyPrefix, cancellationToken);

    /// <summary>The offer/answer workload through the bare hub, <paramref name="calls"/> calls at once, with the same
    /// SignalR client settings (protocol, invoke or send) as the QrCalling run; no acknowledgements (the hub has none).</summary>
    public static async Task<RelayResult> RunAsync(int calls, int signals, HubSettings settings, TimeSpan warmUp, CancellationToken cancellationToken)
    {
        var (server, address) = await StartAsync(cancellationToken);
        await using (server)
        {
            var run = Guid.NewGuid().ToString("N")[..8];
            var bare = settings with { Ack = false };
            var pairs = await Task.WhenAll(Enumerable.Range(0, calls).Select(async i =>
            {
                var callId = $"{run}-{i}";
                return new BareHubCall(callId,
                    await HubPeer.ConnectAsync(address, $"?call={callId}&side=0", "none", bare, cancellationToken),
                    await HubPeer.ConnectAsync(address, $"?call={callId}&side=1", "none", bare, cancellationToken));
            }));
            try
            {
                return await OfferAnswerWorkload.RunAsync("bare SignalR hub", pairs, signals, [server.Pid], warmUp, cancellationToken);
            }
            finally
            {
                foreach (var pair in pairs)
                {
                    await pair.DisposeAsync();
                }
            }
        }
    }

    /// <summary>The child process: serves the hub on a free loopback port (JSON and MessagePack protocols), prints the
    /// ready line with its address, and stops when its stdin closes.</summary>
    public static async Task ServeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSignalR().AddMessagePackProtocol();
        await using var app = builder.Build();
        app.MapHub<RelayHub>("/hubs/calls");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine(ReadyPrefix + address);
        await Console.In.ReadToEndAsync();
        await app.StopAsync();
    }

    /// <summary>The bare hub.</summary>
    private sealed class RelayHub : Hub
    {
        private static long s_seq;

        public override async Task OnConnectedAsync()
        {
            var query = Context.GetHttpContext()!.Request.Query;
            var (call, side) = (query["call"].ToString(), query["side"].ToString() == "1" ? 1 : 0);
            Context.Items["to"] = $"{call}:{1 - side}";
            await Groups.AddToGroupAsync(Context.ConnectionId, $"{call}:{side}");
        }

        public async Task<long> Signal(string callId, string type, object data)
        {
            var seq = Interlocked.Increment(ref s_seq);
            await Clients.Group((string)Context.Items["to"]!).SendAsync("Signal", new { callId, type, data, seq });
            return seq;
        }
    }

    private sealed class BareHubCall(string callId, HubPeer caller, HubPeer owner) : IRelayCall, IAsyncDisposable
    {
        public Task SendAsync(int side, string type, CancellationToken cancellationToken) =>
            Side(side).RelaySignalAsync(callId, type, Call.Description(type), cancellationToken);

        public async Task<long> ReceiveAsync(int side, string type, CancellationToken cancellationToken) =>
            (await Side(side).NextSignalAsync(callId, type, QrCallingClient.StepTimeout, cancellationToken)).ReceivedAt;

        public async ValueTask DisposeAsync()
        {
            await caller.DisposeAsync();
            await owner.DisposeAsync();
        }

        private HubPeer Side(int side) => side == 0 ? caller : owner;
    }
}
