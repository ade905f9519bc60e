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
    private readonly WebApplication _app;

    private SampleHostServer(WebApplication app, ConcurrentQueue<string> requests)
    {
        _app = app;
        RequestTargets = requests;
    }

    /// <summary>Base address, e.g. http://127.0.0.1:41234 (no trailing slash).</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Path and query of every request the server received (never a fragment: browsers do not send it).</summary>
    public ConcurrentQueue<string> RequestTargets { get; }

    public static async Task<SampleHostServer> StartAsync(params string[] settings)
    {
        var requests = new ConcurrentQueue<string>();
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            $"--contentRoot={TestPaths.SampleHostContentRoot}",
            "--environment=Development",
            "--QrCalling:Sample:AccountPermitsPerMinute=1000",
            "--QrCalling:RateLimits:CallsPerClient=1000",
            "--QrCalling:RateLimits:ScansPerClient=1000",
            "--QrCalling:RateLimits:CallsPerCode=1000",
            .. settings,
        ];
        var app = SampleHostApp.Build(args, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton<IStartupFilter>(new RecordRequests(requests));
        });
        var server = new SampleHostServer(app, requests);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = address.TrimEnd('/');
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }

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
