using System.Diagnostics;
using System.Net.Sockets;
using QrCalling.Testing;

namespace QrCalling.Storage.Redis.Tests;

/// <summary>A private redis-server started by a test (child process, loopback, free port) with durable persistence:
/// append-only file fsynced on every write, in a temp folder that survives <see cref="KillAsync"/> for a restart.</summary>
internal sealed class PrivateRedisServer : IAsyncDisposable
{
    private Process? _process;

    private PrivateRedisServer(int port, string directory)
    {
        Port = port;
        Directory = directory;
    }

    public int Port { get; }
    public string Directory { get; }
    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<PrivateRedisServer> StartAsync()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"qrcalling-redis-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        var server = new PrivateRedisServer(FreePort.Next(), directory);
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts (again) on the same port and folder and waits until it accepts connections.</summary>
    public async Task RestartAsync()
    {
        var program = TestServers.RequireProgram("redis-server");
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--dir", Directory,
            "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "yes",
        })
        {
            start.ArgumentList.Add(argument);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException("redis-server did not accept connections within 10 s.");
    }

    /// <summary>Kills the server (SIGKILL: a crash, no clean shutdown) and waits for it to exit.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
