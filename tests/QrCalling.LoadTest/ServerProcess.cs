using System.Diagnostics;

namespace QrCalling.LoadTest;

/// <summary>A baseline server run as a child process of the tool, so that /proc gives its CPU time apart from the
/// tool's. Its output is drained (a full pipe would block it); disposing kills it and waits for it to end.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _errors = new();

    private ServerProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    /// <summary>Whether baselines run Server GC: set from the host's own GC at start-up, so a baseline's CPU and memory
    /// are compared under the same collector as the host's.</summary>
    public static bool ServerGc { get; set; } = true;

    /// <summary>Starts this tool again as a child serving a baseline (<paramref name="serveArgument"/>, on the host's GC,
    /// <see cref="ServerGc"/>) and returns it with the address its ready line (<paramref name="readyPrefix"/> + address)
    /// gave.</summary>
    public static async Task<(ServerProcess Server, Uri Address)> StartToolChildAsync(string serveArgument, string readyPrefix, CancellationToken cancellationToken)
    {
        var tool = Environment.ProcessPath!;
        var start = new ProcessStartInfo(tool);
        if (Path.GetFileNameWithoutExtension(tool) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ServerProcess).Assembly.Location); // run as `dotnet QrCalling.LoadTest.dll`
        }
        start.ArgumentList.Add(serveArgument);
        start.Environment["DOTNET_gcServer"] = ServerGc ? "1" : "0";
        var (server, line) = await StartAsync(start, l => l.StartsWith(readyPrefix, StringComparison.Ordinal), cancellationToken);
        return (server, new Uri(line[readyPrefix.Length..]));
    }

    /// <summary>Starts the process and waits for the first stdout line that <paramref name="isReady"/> accepts; returns the
    /// server once that line came. Throws (with the end of its stderr) if it exits or stays silent for 30 s.</summary>
    public static async Task<(ServerProcess Server, string ReadyLine)> StartAsync(ProcessStartInfo start, Func<string, bool> isReady, CancellationToken cancellationToken)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = true; // a child that watches its stdin ends when the tool does
        start.UseShellExecute = false;
        var server = new ServerProcess(new Process { StartInfo = start, EnableRaisingEvents = true });
        server._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && isReady(line))
            {
                server._ready.TrySetResult(line);
            }
        };
        server._process.ErrorDataReceived += (_, e) => server.KeepError(e.Data);
        server._process.Exited += (_, _) => server._ready.TrySetException(new InvalidOperationException(
            $"{start.FileName} exited with code {server._process.ExitCode}: {string.Join(" | ", server.Errors())}"));
        server._process.Start();
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        try
        {
            var line = await server._ready.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            return (server, line);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync(CancellationToken.None);
        _process.Dispose();
    }

    private void KeepError(string? line)
    {
        lock (_errors)
        {
            if (line is not null)
            {
                _errors.Enqueue(line);
            }
            while (_errors.Count > 5)
            {
                _errors.Dequeue();
            }
        }
    }

    private string[] Errors()
    {
        lock (_errors)
        {
            return [.. _errors];
        }
    }
}
