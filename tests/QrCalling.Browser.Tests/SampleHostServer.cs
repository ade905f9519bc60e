using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using QrCalling.SampleHost;

namespace QrCalling.Browser.Tests;

/// <summary>The sample host running in this process on Kestrel at http://127.0.0.1:&lt;free port&gt;, on in-memory
/// storage. Records every request's path and query so tests can check what reached the server.</summary>
internal sealed class SampleHostServer : IAsyncDisposable
{
    private readonly string[] _args;
    private readonly Action<WebApplicationBuilder>? _configure;
    private WebApplication? _app;

    private SampleHostServer(string[] args, ConcurrentQueue<string> requests, Action<WebApplicationBuilder>? configure = null)
    {
        _args = args;
        RequestTargets = requests;
        _configure = configure;
    }

    /// <summary>Base address, e.g. http://127.0.0.1:41234 (no trailing slash). It stays the same across a restart.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Path and query of every request the server received (never a fragment: browsers do not send it).</summary>
    public ConcurrentQueue<string> RequestTargets { get; }

    /// <summary>The running application's services (changes with a restart).</summary>
    public IServiceProvider Services => _app!.Services;

    public static Task<SampleHostServer> StartAsync(params string[] settings) => StartAsync(null, settings);

    /// <summary>Starts the host with <paramref name="configure"/> applied to its builder first (e.g. a hub filter that
    /// records what the server received).</summary>
    public static async Task<SampleHostServer> StartAsync(Action<WebApplicationBuilder>? configure, params string[] settings)
    {
        string[] args =
        [
            $"--contentRoot={TestPaths.SampleHostContentRoot}",
            "--environment=Development",
            "--QrCalling:Sample:AccountPermitsPerMinute=1000",
            "--QrCalling:RateLimits:CallsPerClient=1000",
            "--QrCalling:RateLimits:ScansPerClient=1000",
            "--QrCalling:RateLimits:CallsPerCode=1000",
            .. settings,
        ];
        var server = new SampleHostServer(args, new ConcurrentQueue<string>(), configure);
        await server.StartOnAsync("http://127.0.0.1:0");
        return server;
    }

    /// <summary>Stops the host (its WebSockets close, as when a server goes down); <see cref="StartAgainAsync"/> brings a
    /// new one up on the same port. In-memory storage does not survive; pass a fixed QrCalling:Sample:JwtKey so that
    /// owners' tokens do.</summary>
    public async Task StopAsync()
    {
        if (_app is null)
        {
            return;
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
        _app = null;
    }

    public async Task StartAgainAsync()
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("The host is running.");
        }
        // The port was just released; a moment may pass before it can be bound again.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await StartOnAsync(BaseUrl);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                await Task.Delay(250);
            }
        }
    }

    private async Task StartOnAsync(string url)
    {
        var app = SampleHostApp.Build([$"--urls={url}", .. _args], builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton<IStartupFilter>(new RecordRequests(RequestTargets));
            _configure?.Invoke(builder);
        });
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = address.TrimEnd('/');
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private sealed class RecordRequests(ConcurrentQueue<string> requests) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((HttpContext context, Func<Task> nextMiddleware) =>
            {
                requests.Enqueue(context.Request.Path + context.Request.QueryString);
                return nextMiddleware();
            });
            next(app);
        };
    }
}
