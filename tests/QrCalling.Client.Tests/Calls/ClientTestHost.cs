using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Hosting;
using QrCalling.Testing;

namespace QrCalling.Client.Tests.Calls;

/// <summary>A real QrCalling host on Kestrel (loopback, a free port), with owners authenticated by
/// <c>Authorization: Bearer test-owner-&lt;name&gt;</c>, standing in for a host's own accounts (JWT and the like).</summary>
internal sealed class ClientTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<TcpProxy> _proxies = [];

    private ClientTestHost(WebApplication app, Uri address, CapturingLoggerProvider logs)
    {
        _app = app;
        Address = address;
        Logs = logs;
    }

    public Uri Address { get; }

    public CapturingLoggerProvider Logs { get; }

    public static async Task<ClientTestHost> StartAsync(bool messagePack = false)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var logs = new CapturingLoggerProvider();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        BearerOwnerHandler.Register(builder.Services);
        var qrCalling = builder.Services.AddQrCalling(o => o.PublicBaseUrl = "https://call.example.org/c");
        if (messagePack)
        {
            qrCalling.AddMessagePackProtocol();
        }
        var app = builder.Build();
        app.UseAuthentication();
        app.MapQrCalling();
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return new ClientTestHost(app, address, logs);
    }

    /// <summary>A TCP proxy in front of the host, whose connections a test can cut (a network drop).</summary>
    public TcpProxy Proxy()
    {
        var proxy = new TcpProxy(Address.Port);
        _proxies.Add(proxy);
        return proxy;
    }

    public static QrCallingClientOptions Options(Uri address, string? owner = null, bool messagePack = false) => new()
    {
        BaseAddress = address,
        OwnerAccessToken = owner is null ? null : _ => ValueTask.FromResult(BearerOwnerHandler.Prefix + owner),
        HubProtocol = messagePack ? QrCallingHubProtocol.MessagePack : QrCallingHubProtocol.Json,
        ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(200)],
        AckDelay = TimeSpan.FromMilliseconds(50),
    };

    public QrCallingOwnerClient Owner(string owner, bool messagePack = false, Uri? via = null) =>
        new(new HttpClient(), Options(via ?? Address, owner, messagePack));

    public QrCallingCallerClient Caller(bool messagePack = false, Uri? via = null) =>
        new(new HttpClient(), Options(via ?? Address, messagePack: messagePack));

    public async ValueTask DisposeAsync()
    {
        foreach (var proxy in _proxies)
        {
            proxy.Dispose();
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Forwards TCP connections from a loopback port to the host; <see cref="DropAll"/> cuts every open one at once,
/// as a network loss would (new connections still go through).</summary>
internal sealed class TcpProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly ConcurrentDictionary<TcpClient, TcpClient> _open = new();
    private readonly CancellationTokenSource _stop = new();

    public TcpProxy(int targetPort)
    {
        _target = targetPort;
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _ = AcceptLoopAsync();
    }

    public Uri Address { get; }

    /// <summary>How many connections were cut so far.</summary>
    public int Dropped { get; private set; }

    /// <summary>While true, new connections are closed at once (the network is still down).</summary>
    public bool Blocked { get; set; }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }
            if (Blocked)
            {
                inbound.Client.LingerState = new LingerOption(true, 0);
                inbound.Dispose();
                continue;
            }
            var outbound = new TcpClient();
            try
            {
                await outbound.ConnectAsync(IPAddress.Loopback, _target);
            }
            catch (SocketException)
            {
                inbound.Dispose();
                outbound.Dispose();
                continue;
            }
            _open[inbound] = outbound;
            _ = PumpAsync(inbound, outbound);
        }
    }

    private async Task PumpAsync(TcpClient inbound, TcpClient outbound)
    {
        try
        {
            var a = inbound.GetStream();
            var b = outbound.GetStream();
            await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
        }
        catch (Exception)
        {
            // cut
        }
        finally
        {
            _open.TryRemove(inbound, out _);
            inbound.Dispose();
            outbound.Dispose();
        }
    }

    public void DropAll()
    {
        foreach (var (inbound, outbound) in _open)
        {
            inbound.Client.LingerState = new LingerOption(true, 0); // a reset, not a polite close
            inbound.Dispose();
            outbound.Dispose();
            Dropped++;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        DropAll();
    }
}

/// <summary>Reads a connection's events in the background (as an app does) and lets a test wait for them.</summary>
internal sealed class EventLog
{
    private readonly ConcurrentQueue<CallEvent> _events = new();
    private readonly Task _pump;

    public EventLog(IAsyncEnumerable<CallEvent> events)
    {
        _pump = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in events)
                {
                    _events.Enqueue(e);
                }
            }
            catch (Exception ex)
            {
                Error = ex;
            }
        });
    }

    public Exception? Error { get; private set; }

    public IReadOnlyList<CallEvent> Events => [.. _events];

    public IEnumerable<T> Of<T>() where T : CallEvent => Events.OfType<T>();

    public async Task<T> WaitForAsync<T>(Func<T, bool>? predicate = null, int timeoutMs = 15_000) where T : CallEvent
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (Environment.TickCount64 < deadline)
        {
            if (Of<T>().FirstOrDefault(e => predicate is null || predicate(e)) is { } found)
            {
                return found;
            }
            await Task.Delay(10);
        }
        Assert.Fail($"No {typeof(T).Name} within {timeoutMs} ms; got: {string.Join(", ", Events.Select(e => e.GetType().Name))}; error: {Error?.Message}");
        return null!;
    }

    public async Task WaitForCountAsync<T>(int count, int timeoutMs = 15_000) where T : CallEvent
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (Environment.TickCount64 < deadline && Of<T>().Count() < count)
        {
            await Task.Delay(10);
        }
        Assert.True(Of<T>().Count() >= count, $"{Of<T>().Count()} of {count} {typeof(T).Name} events; error: {Error?.Message}");
    }
}
