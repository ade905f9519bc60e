using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace QrCalling.LoadTest;

/// <summary>Owners (register, login, issue a code, stay online) and callers doing full call set-ups, then a relay phase
/// of M signals each way per call, all through a running host's REST API and hub.</summary>
internal static class QrCallingLoad
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);
    private const string FakeSdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n";

    /// <param name="baseUri">The host the owners use.</param>
    /// <param name="callerUri">The host the callers use: the same, or another instance sharing storage and backplane.</param>
    /// <param name="owners">How many owner/caller pairs (one call each).</param>
    /// <param name="signals">Signals relayed each way per call.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    public static async Task<LoadResult> RunAsync(Uri baseUri, Uri callerUri, int owners, int signals, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512 }) { BaseAddress = baseUri, Timeout = StepTimeout };
        using var callerHttp = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512 }) { BaseAddress = callerUri, Timeout = StepTimeout };
        var clock = Stopwatch.StartNew();
        var parties = await Task.WhenAll(Enumerable.Range(0, owners).Select(i => Party.CreateAsync(http, baseUri, callerUri, i, cancellationToken)));
        Console.WriteLine($"  {owners} owners registered, logged in, issued a code and went online in {clock.Elapsed.TotalSeconds:F1} s");

        var setups = new ConcurrentBag<double>();
        var failures = new ConcurrentBag<string>();
        clock.Restart();
        await Task.WhenAll(parties.Select(async p =>
        {
            try
            {
                setups.Add(await p.SetUpCallAsync(callerHttp, cancellationToken));
            }
            catch (Exception e)
            {
                failures.Add(e.GetType().Name + ": " + e.Message);
            }
        }));
        var setupSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  {setups.Count} call set-ups (scan, start, ring, accept, offer, answer, 2+2 ICE) in {setupSeconds:F2} s");

        var relay = new ConcurrentBag<double>();
        clock.Restart();
        await Task.WhenAll(parties.Where(p => p.CallId is not null).Select(async p =>
        {
            try
            {
                foreach (var latency in await p.RelayAsync(signals, cancellationToken))
                {
                    relay.Add(latency);
                }
            }
            catch (Exception e)
            {
                failures.Add("relay " + e.GetType().Name + ": " + e.Message);
            }
        }));
        var relaySeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  relayed {relay.Count} signals in {relaySeconds:F2} s");

        await Task.WhenAll(parties.Select(async p =>
        {
            try
            {
                await p.HangupAsync(cancellationToken);
            }
            catch (Exception e)
            {
                failures.Add("hangup " + e.GetType().Name + ": " + e.Message);
            }
            await p.DisposeAsync();
        }));
        foreach (var failure in failures.Distinct().Take(5))
        {
            Console.WriteLine($"  failure: {failure}");
        }
        return new LoadResult(owners, failures.Count, setups.Count / setupSeconds, Percentiles.Of(setups), relay.Count / relaySeconds, Percentiles.Of(relay));
    }

    /// <summary>One owner with its code and hub connection, and the caller that calls it.</summary>
    private sealed class Party : IAsyncDisposable
    {
        private readonly Uri _callerUri;
        private HubConnection _owner = null!;
        private HubConnection? _caller;
        private string _payload = "";
        private readonly TaskCompletionSource<JsonElement> _incoming = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _ownerEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Channel<JsonElement> _toOwner = Channel.CreateUnbounded<JsonElement>();
        private readonly Channel<JsonElement> _toCaller = Channel.CreateUnbounded<JsonElement>();

        private Party(Uri callerUri) => _callerUri = callerUri;

        public string? CallId { get; private set; }

        public static async Task<Party> CreateAsync(HttpClient http, Uri baseUri, Uri callerUri, int index, CancellationToken cancellationToken)
        {
            var party = new Party(callerUri);
            var credentials = new { username = $"load{index}-{Guid.NewGuid():N}"[..30], password = "load-test-password" };
            (await http.PostAsJsonAsync("/api/v1/account/register", credentials, cancellationToken)).EnsureSuccessStatusCode();
            using var login = await http.PostAsJsonAsync("/api/v1/account/login", credentials, cancellationToken);
            login.EnsureSuccessStatusCode();
            var token = (await login.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("accessToken").GetString()!;

            using var create = new HttpRequestMessage(HttpMethod.Post, "/api/v1/codes")
            {
                Content = JsonContent.Create(new { label = $"load {index}", media = new[] { "audio", "video", "chat" } }),
            };
            create.Headers.Authorization = new("Bearer", token);
            using var created = await http.SendAsync(create, cancellationToken);
            created.EnsureSuccessStatusCode();
            party._payload = (await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("payload").GetString()!;

            party._owner = Connect(baseUri, $"?deviceId=load-{index}", token);
            party._owner.On<JsonElement>("IncomingCall", e => party._incoming.TrySetResult(e));
            party._owner.On<JsonElement>("Signal", e => party._toOwner.Writer.TryWrite(e));
            party._owner.On<JsonElement>("CallEnded", _ => party._ownerEnded.TrySetResult());
            await party._owner.StartAsync(cancellationToken);
            return party;
        }

        /// <summary>Scan, start, ring, accept, offer, answer, two ICE candidates each way; returns the set-up time in ms.</summary>
        public async Task<double> SetUpCallAsync(HttpClient http, CancellationToken cancellationToken)
        {
            var start = Stopwatch.GetTimestamp();
            (await http.PostAsJsonAsync("/api/v1/scan", new { payload = _payload }, cancellationToken)).EnsureSuccessStatusCode();
            using var started = await http.PostAsJsonAsync("/api/v1/calls", new { payload = _payload, media = "audio" }, cancellationToken);
            started.EnsureSuccessStatusCode();
            var call = await started.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            var callId = call.GetProperty("callId").GetString()!;

            _caller = Connect(_callerUri, "", call.GetProperty("callToken").GetString()!);
            _caller.On<JsonElement>("Signal", e => _toCaller.Writer.TryWrite(e));
            await _caller.StartAsync(cancellationToken);
            await _caller.InvokeAsync<long>("Signal", callId, "offer", new { type = "offer", sdp = FakeSdp }, cancellationToken);

            var ring = await _incoming.Task.WaitAsync(StepTimeout, cancellationToken);
            if (ring.GetProperty("callId").GetString() != callId)
            {
                throw new InvalidOperationException("The owner rang for another call.");
            }
            await _owner.InvokeAsync("Accept", callId, cancellationToken);
            await ExpectAsync(_toOwner, "offer", cancellationToken);
            await _owner.InvokeAsync<long>("Signal", callId, "answer", new { type = "answer", sdp = FakeSdp }, cancellationToken);
            await ExpectAsync(_toCaller, "answer", cancellationToken);
            for (var i = 0; i < 2; i++)
            {
                await _caller.InvokeAsync<long>("Signal", callId, "ice-candidate", Candidate(0), cancellationToken);
                await _owner.InvokeAsync<long>("Signal", callId, "ice-candidate", Candidate(0), cancellationToken);
            }
            for (var i = 0; i < 2; i++)
            {
                await ExpectAsync(_toOwner, "ice-candidate", cancellationToken);
                await ExpectAsync(_toCaller, "ice-candidate", cancellationToken);
            }
            CallId = callId;
            return Message.MillisecondsSince(start);
        }

        /// <summary>M signals each way at once; returns each one's send-to-receive latency in ms.</summary>
        public async Task<List<double>> RelayAsync(int signals, CancellationToken cancellationToken)
        {
            var latencies = new List<double>(2 * signals);
            var send = Task.WhenAll(SendAsync(_caller!, signals, cancellationToken), SendAsync(_owner, signals, cancellationToken));
            var receive = Task.WhenAll(ReceiveAsync(_toOwner, signals, cancellationToken), ReceiveAsync(_toCaller, signals, cancellationToken));
            await send;
            foreach (var list in await receive.WaitAsync(StepTimeout, cancellationToken))
            {
                latencies.AddRange(list);
            }
            return latencies;
        }

        public async Task HangupAsync(CancellationToken cancellationToken)
        {
            if (CallId is null || _caller is null)
            {
                return;
            }
            await _caller.InvokeAsync("Hangup", CallId, cancellationToken);
            await _ownerEnded.Task.WaitAsync(StepTimeout, cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            if (_caller is not null)
            {
                await _caller.DisposeAsync();
            }
            await _owner.DisposeAsync();
        }

        private async Task SendAsync(HubConnection hub, int signals, CancellationToken cancellationToken)
        {
            for (var i = 0; i < signals; i++)
            {
                await hub.InvokeAsync<long>("Signal", CallId, "ice-candidate", Candidate(Stopwatch.GetTimestamp()), cancellationToken);
            }
        }

        private static async Task<List<double>> ReceiveAsync(Channel<JsonElement> channel, int signals, CancellationToken cancellationToken)
        {
            var latencies = new List<double>(signals);
            while (latencies.Count < signals)
            {
                var e = await channel.Reader.ReadAsync(cancellationToken);
                if (e.GetProperty("data").TryGetProperty("t", out var t) && t.GetInt64() != 0)
                {
                    latencies.Add(Message.MillisecondsSince(t.GetInt64()));
                }
            }
            return latencies;
        }

        private static async Task ExpectAsync(Channel<JsonElement> channel, string type, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StepTimeout);
            var e = await channel.Reader.ReadAsync(timeout.Token);
            if (e.GetProperty("type").GetString() != type)
            {
                throw new InvalidOperationException($"Expected a {type} signal, got {e.GetProperty("type").GetString()}.");
            }
        }

        private static object Candidate(long timestamp) => new { candidate = Message.Candidate, sdpMid = "0", sdpMLineIndex = 0, t = timestamp };

        private static HubConnection Connect(Uri baseUri, string query, string token) => new HubConnectionBuilder()
            .WithUrl(new Uri(baseUri, "/hubs/calls" + query), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
                o.AccessTokenProvider = () => Task.FromResult<string?>(token);
            })
            .Build();
    }
}
