using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace QrCalling.LoadTest;

/// <summary>Owners and callers of a running host, through its REST API and hub: owner accounts, codes, full call
/// set-ups and hang-ups. Owners use the base URL, callers the caller URL (the same, or another instance sharing
/// storage and the Redis backplane).</summary>
internal sealed class QrCallingClient(Uri baseUri, Uri callerUri, HubSettings hub) : IDisposable
{
    /// <summary>How long any one step may take in the relay and long-call modes.</summary>
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http = NewHttpClient(baseUri);
    private readonly HttpClient _callerHttp = NewHttpClient(callerUri);

    /// <summary>Registers an owner account and logs in; returns the access token.</summary>
    public async Task<string> RegisterAsync(string name, CancellationToken cancellationToken)
    {
        var credentials = new { username = $"{name}-{Guid.NewGuid():N}"[..30], password = "load-test-password" };
        (await _http.PostAsJsonAsync("/api/v1/account/register", credentials, cancellationToken)).EnsureSuccessStatusCode();
        using var login = await _http.PostAsJsonAsync("/api/v1/account/login", credentials, cancellationToken);
        login.EnsureSuccessStatusCode();
        return (await login.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("accessToken").GetString()!;
    }

    /// <summary>An owner with its own account and code, online on the hub as one device.</summary>
    public async Task<Owner> CreateOwnerAsync(int index, CancellationToken cancellationToken)
    {
        var token = await RegisterAsync($"load{index}", cancellationToken);
        using var create = new HttpRequestMessage(HttpMethod.Post, "/api/v1/codes")
        {
            Content = JsonContent.Create(new { label = $"load {index}", media = new[] { "audio", "video", "chat" } }),
        };
        create.Headers.Authorization = new("Bearer", token);
        using var created = await _http.SendAsync(create, cancellationToken);
        created.EnsureSuccessStatusCode();
        var payload = (await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("payload").GetString()!;
        return new Owner(payload, await HubPeer.ConnectAsync(baseUri, $"?deviceId=load-{index}", token, hub, cancellationToken));
    }

    /// <summary>Creates <paramref name="count"/> owners at once.</summary>
    public async Task<Owner[]> CreateOwnersAsync(int count, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var owners = await Task.WhenAll(Enumerable.Range(0, count).Select(i => CreateOwnerAsync(i, cancellationToken)));
        Console.WriteLine($"  {count} owners registered, logged in, issued a code and went online in {clock.Elapsed.TotalSeconds:F1} s");
        return owners;
    }

    /// <summary>A full set-up: scan, start the call, the caller connects (and resumes), the owner rings and accepts, the caller hears
    /// CallAccepted and offers, the owner answers. Events that do not come within <paramref name="eventTimeout"/>
    /// throw <see cref="LostEventException"/>.</summary>
    public async Task<Call> SetUpCallAsync(Owner owner, TimeSpan eventTimeout, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        (await _callerHttp.PostAsJsonAsync("/api/v1/scan", new { payload = owner.Payload }, cancellationToken)).EnsureSuccessStatusCode();
        using var started = await _callerHttp.PostAsJsonAsync("/api/v1/calls", new { payload = owner.Payload, media = "audio" }, cancellationToken);
        started.EnsureSuccessStatusCode();
        var created = await started.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var callId = created.GetProperty("callId").GetString()!;
        var caller = await HubPeer.ConnectAsync(callerUri, "", created.GetProperty("callToken").GetString()!, hub, cancellationToken);
        try
        {
            await owner.Hub.NextAsync("IncomingCall", callId, eventTimeout, cancellationToken);
            await owner.Hub.InvokeAsync("Accept", callId, cancellationToken);
            await caller.NextAsync("CallAccepted", callId, eventTimeout, cancellationToken);
            await caller.SignalAsync(callId, "offer", Call.Description("offer"), cancellationToken);
            await owner.Hub.NextSignalAsync(callId, "offer", eventTimeout, cancellationToken);
            await owner.Hub.SignalAsync(callId, "answer", Call.Description("answer"), cancellationToken);
            await caller.NextSignalAsync(callId, "answer", eventTimeout, cancellationToken);
            return new Call(callId, owner, caller, Message.MillisecondsSince(start));
        }
        catch
        {
            await caller.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sets up one call per owner, all at once; returns the calls that were set up (failures are printed).</summary>
    public async Task<List<Call>> SetUpCallsAsync(IEnumerable<Owner> owners, CancellationToken cancellationToken)
    {
        var calls = new ConcurrentBag<Call>();
        var failures = new ConcurrentBag<string>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(owners.Select(async owner =>
        {
            try
            {
                calls.Add(await SetUpCallAsync(owner, StepTimeout, cancellationToken));
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                failures.Add(e.GetType().Name + ": " + e.Message);
            }
        }));
        var setup = Percentiles.Of(calls.Select(c => c.SetupMilliseconds));
        Console.WriteLine($"  {calls.Count} call set-ups in {clock.Elapsed.TotalSeconds:F2} s: p50 {setup.P50:F1} ms, p99 {setup.P99:F1} ms ({failures.Count} failed)");
        foreach (var failure in failures.Distinct().Take(5))
        {
            Console.WriteLine($"  set-up failure: {failure}");
        }
        return [.. calls];
    }

    public void Dispose()
    {
        _http.Dispose();
        _callerHttp.Dispose();
    }

    private static HttpClient NewHttpClient(Uri uri) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = 512 }) { BaseAddress = uri, Timeout = StepTimeout };
}

/// <summary>An owner: its code's payload and its device's hub connection.</summary>
internal sealed record Owner(string Payload, HubPeer Hub) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Hub.DisposeAsync();
}

/// <summary>A call that was set up: the caller's hub connection and the owner's. Disposing it drops the caller's.</summary>
internal sealed class Call(string callId, Owner owner, HubPeer caller, double setupMilliseconds) : IRelayCall, IAsyncDisposable
{
    public string CallId => callId;

    public HubPeer Caller => caller;

    /// <summary>Scan to the answer's arrival at the caller.</summary>
    public double SetupMilliseconds => setupMilliseconds;

    /// <summary>The <c>data</c> of an offer or answer signal: an RTCSessionDescriptionInit of about 2 KB.</summary>
    public static object Description(string type) => new { type, sdp = Message.Sdp };

    public Task SendAsync(int side, string type, CancellationToken cancellationToken) =>
        Side(side).RelaySignalAsync(callId, type, Description(type), cancellationToken);

    public async Task<long> ReceiveAsync(int side, string type, CancellationToken cancellationToken) =>
        (await Side(side).NextSignalAsync(callId, type, QrCallingClient.StepTimeout, cancellationToken)).ReceivedAt;

    /// <summary>The caller hangs up; both sides must hear CallEnded within <paramref name="eventTimeout"/>.</summary>
    public async Task HangupAsync(TimeSpan eventTimeout, CancellationToken cancellationToken)
    {
        await caller.InvokeAsync("Hangup", callId, cancellationToken);
        await Task.WhenAll(
            caller.NextAsync("CallEnded", callId, eventTimeout, cancellationToken),
            owner.Hub.NextAsync("CallEnded", callId, eventTimeout, cancellationToken));
    }

    public ValueTask DisposeAsync() => caller.DisposeAsync();

    private HubPeer Side(int side) => side == 0 ? caller : owner.Hub;
}
