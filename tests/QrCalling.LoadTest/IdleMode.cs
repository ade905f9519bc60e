using System.Net.WebSockets;
using System.Text;

namespace QrCalling.LoadTest;

/// <summary>--mode idle: the host's resident memory per idle hub connection. Opens N owner connections (one account
/// per <see cref="DevicesPerOwner"/> devices) as raw WebSockets speaking SignalR's JSON handshake and keep-alive pings
/// (far lighter on the client than HubConnection), waits until the host's VmRSS settles, and reports
/// (after − before) / N; then does the same against a bare SignalR hub (the framework's floor) and the bare Kestrel
/// WebSocket relay as baselines.</summary>
internal static class IdleMode
{
    private const int DevicesPerOwner = 100;
    private const int Batch = 100;
    private static readonly ReadOnlyMemory<byte> Handshake = "{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray();
    private static readonly ReadOnlyMemory<byte> Ping = "{\"type\":6}\u001e"u8.ToArray();

    public static async Task<int> RunAsync(LoadOptions options, int hostPid, CancellationToken cancellationToken)
    {
        var count = options.Connections;
        foreach (var (who, pid) in new[] { ("this tool", Environment.ProcessId), ($"the host (pid {hostPid})", hostPid) })
        {
            var limit = ProcFs.OpenFilesLimit(pid);
            if (limit < count + 256)
            {
                Console.Error.WriteLine($"The open-files limit of {who} is {limit}; {count} connections need about {count + 256}. " +
                    "Run `ulimit -n 65536` (as root) in the shells that start the host and this tool, then start both again.");
                return 2;
            }
        }
        Console.WriteLine($"idle: {count} owner hub connections ({DevicesPerOwner} devices per owner account), then as many bare WebSockets");
        using var client = new QrCallingClient(options.BaseUri, options.BaseUri, options.Hub);
        var tokens = await Task.WhenAll(Enumerable.Range(0, (count + DevicesPerOwner - 1) / DevicesPerOwner).Select(i => client.RegisterAsync($"idle{i}", cancellationToken)));
        var hub = new UriBuilder(options.BaseUri) { Scheme = options.BaseUri.Scheme == "https" ? "wss" : "ws", Path = "/hubs/calls" }.Uri;
        var qrCalling = await MeasureAsync("QrCalling host", hostPid, count, signalR: true,
            i => new Uri(hub, $"?access_token={Uri.EscapeDataString(tokens[i / DevicesPerOwner])}&deviceId=idle-{i}"), cancellationToken);
        var (bare, bareAddress) = await BareHubBaseline.StartAsync(cancellationToken);
        IdleResult bareHub;
        await using (bare)
        {
            var bareUri = new UriBuilder(bareAddress) { Scheme = "ws", Path = "/hubs/calls" }.Uri;
            bareHub = await MeasureAsync("bare SignalR hub", bare.Pid, count, signalR: true, i => new Uri(bareUri, $"?call=idle-{i}&side=1"), cancellationToken);
        }
        var (relay, address) = await EchoRelayBaseline.StartAsync(cancellationToken);
        IdleResult kestrel;
        await using (relay)
        {
            kestrel = await MeasureAsync("bare Kestrel WebSocket", relay.Pid, count, signalR: false, i => new Uri(address, $"/relay/idle-{i}/0"), cancellationToken);
        }

        Console.WriteLine();
        foreach (var r in new[] { qrCalling, bareHub, kestrel })
        {
            Console.WriteLine($"{r.Server,-24} RSS {r.BeforeKilobytes / 1024.0,8:F1} MB before, {r.AfterKilobytes / 1024.0,8:F1} MB with {count} connections: " +
                $"{r.KilobytesPerConnection,6:F1} KB per connection ({r.Open} still open)");
        }
        Console.WriteLine($"QrCalling / bare SignalR hub: memory per idle connection x{qrCalling.KilobytesPerConnection / bareHub.KilobytesPerConnection:F2}");
        Console.WriteLine($"QrCalling / bare Kestrel WebSocket: memory per idle connection x{qrCalling.KilobytesPerConnection / kestrel.KilobytesPerConnection:F2}");
        return qrCalling.Open == count && bareHub.Open == count && kestrel.Open == count ? 0 : 1;
    }

    private static async Task<IdleResult> MeasureAsync(string server, int pid, int count, bool signalR, Func<int, Uri> uri, CancellationToken cancellationToken)
    {
        // One batch opened and closed first, so that code paths and pools a first connection warms up are in "before".
        var warmUp = await Task.WhenAll(Enumerable.Range(0, Math.Min(Batch, count)).Select(i => IdleConnection.OpenAsync(uri(i), signalR, cancellationToken)));
        await Task.WhenAll(warmUp.Select(c => c.CloseAsync()));
        var before = await SettledRssAsync(pid, TimeSpan.Zero, cancellationToken);
        var connections = new List<IdleConnection>(count);
        using var pinging = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pings = signalR ? PingAsync(connections, pinging.Token) : Task.CompletedTask;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var start = 0; start < count; start += Batch)
        {
            var opened = await Task.WhenAll(Enumerable.Range(start, Math.Min(Batch, count - start)).Select(i => IdleConnection.OpenAsync(uri(i), signalR, cancellationToken)));
            lock (connections)
            {
                connections.AddRange(opened);
            }
        }
        Console.WriteLine($"  {server}: opened {count} connections in {clock.Elapsed.TotalSeconds:F1} s; waiting for its RSS to settle");
        var after = await SettledRssAsync(pid, TimeSpan.FromSeconds(10), cancellationToken);
        var open = connections.Count(c => c.IsOpen);
        await pinging.CancelAsync();
        await pings;
        for (var start = 0; start < count; start += Batch)
        {
            await Task.WhenAll(connections.Skip(start).Take(Batch).Select(c => c.CloseAsync()));
        }
        return new IdleResult(server, before, after, count, open);
    }

    /// <summary>A SignalR keep-alive ping on every connection every 15 s: the hub drops a client it has not heard from for
    /// 30 s.</summary>
    private static async Task PingAsync(List<IdleConnection> connections, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(15), stop);
                IdleConnection[] all;
                lock (connections)
                {
                    all = [.. connections];
                }
                foreach (var connection in all.Where(c => c.IsOpen))
                {
                    await connection.SendAsync(Ping);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Measured; the connections close next.
        }
    }

    /// <summary>VmRSS once it stopped changing: after <paramref name="wait"/>, sampled every second until the last five
    /// samples lie within 1 MB (or 0.5 %), at most a minute.</summary>
    private static async Task<long> SettledRssAsync(int pid, TimeSpan wait, CancellationToken cancellationToken)
    {
        await Task.Delay(wait, cancellationToken);
        var samples = new List<long>();
        while (true)
        {
            samples.Add(ProcFs.RssKilobytes(pid));
            var last = samples.TakeLast(5).ToArray();
            if ((last.Length == 5 && last.Max() - last.Min() <= Math.Max(1024, last.Max() / 200)) || samples.Count == 60)
            {
                return samples[^1];
            }
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    /// <summary>Idle owner hub connections held open (and pinged) on the host while another mode measures: a host with
    /// many owners online, of whom few are in a call.</summary>
    public sealed class Crowd : IAsyncDisposable
    {
        private readonly List<IdleConnection> _connections;
        private readonly CancellationTokenSource _pinging;
        private readonly Task _pings;

        private Crowd(List<IdleConnection> connections)
        {
            _connections = connections;
            _pinging = new CancellationTokenSource();
            _pings = PingAsync(connections, _pinging.Token);
        }

        public int Open => _connections.Count(c => c.IsOpen);

        public static async Task<Crowd> OpenAsync(LoadOptions options, int count, CancellationToken cancellationToken)
        {
            using var client = new QrCallingClient(options.BaseUri, options.BaseUri, options.Hub);
            var tokens = await Task.WhenAll(Enumerable.Range(0, (count + DevicesPerOwner - 1) / DevicesPerOwner).Select(i => client.RegisterAsync($"crowd{i}", cancellationToken)));
            var hub = new UriBuilder(options.BaseUri) { Scheme = options.BaseUri.Scheme == "https" ? "wss" : "ws", Path = "/hubs/calls" }.Uri;
            var connections = new List<IdleConnection>(count);
            for (var start = 0; start < count; start += Batch)
            {
                connections.AddRange(await Task.WhenAll(Enumerable.Range(start, Math.Min(Batch, count - start)).Select(i => IdleConnection.OpenAsync(
                    new Uri(hub, $"?access_token={Uri.EscapeDataString(tokens[i / DevicesPerOwner])}&deviceId=crowd-{i}"), signalR: true, cancellationToken))));
            }
            return new Crowd(connections);
        }

        public async ValueTask DisposeAsync()
        {
            await _pinging.CancelAsync();
            await _pings;
            _pinging.Dispose();
            for (var start = 0; start < _connections.Count; start += Batch)
            {
                await Task.WhenAll(_connections.Skip(start).Take(Batch).Select(c => c.CloseAsync()));
            }
        }
    }

    private sealed record IdleResult(string Server, long BeforeKilobytes, long AfterKilobytes, int Connections, int Open)
    {
        public double KilobytesPerConnection => (AfterKilobytes - BeforeKilobytes) / (double)Connections;
    }

    /// <summary>One idle WebSocket: opened (with the SignalR handshake for the hub), then only read until it closes.</summary>
    private sealed class IdleConnection
    {
        private readonly ClientWebSocket _socket;
        private readonly Task _receiving;

        private IdleConnection(ClientWebSocket socket)
        {
            _socket = socket;
            _receiving = DrainAsync();
        }

        public bool IsOpen => !_receiving.IsCompleted;

        public static async Task<IdleConnection> OpenAsync(Uri uri, bool signalR, CancellationToken cancellationToken)
        {
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(uri, cancellationToken);
            if (signalR)
            {
                await socket.SendAsync(Handshake, WebSocketMessageType.Text, true, cancellationToken);
                var buffer = new byte[256];
                var response = await socket.ReceiveAsync(buffer, cancellationToken);
                var text = Encoding.UTF8.GetString(buffer, 0, response.Count);
                if (!text.StartsWith("{}\u001e", StringComparison.Ordinal))
                {
                    socket.Dispose();
                    throw new InvalidOperationException($"The hub refused the handshake: {text.TrimEnd('\u001e')}");
                }
            }
            return new IdleConnection(socket);
        }

        public async Task SendAsync(ReadOnlyMemory<byte> message)
        {
            try
            {
                await _socket.SendAsync(message, WebSocketMessageType.Text, true, CancellationToken.None);
            }
            catch (WebSocketException)
            {
                // Closed meanwhile; IsOpen says so.
            }
        }

        public async Task CloseAsync()
        {
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            }
            await _receiving.WaitAsync(TimeSpan.FromSeconds(10));
            _socket.Dispose();
        }

        private async Task DrainAsync()
        {
            var buffer = new byte[64];
            try
            {
                WebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                }
                while (result.MessageType != WebSocketMessageType.Close);
            }
            catch (WebSocketException)
            {
                // The server dropped the connection.
            }
        }
    }
}
