using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace QrCalling.Testing;

/// <summary>A real coturn started with the project's documented configuration, <c>docs/coturn.conf</c>, plus only the
/// test-only settings: loopback listening and relay addresses, free ports, no TLS, the secrets, and
/// <c>--allow-loopback-peers --allowed-peer-ip=127.0.0.1</c> (the tests' peers live on 127.0.0.1, which the documented
/// file denies like every private range). Killed on dispose.</summary>
public sealed class CoturnProcess : IDisposable
{
    /// <summary>The realm the tests use.</summary>
    public const string Realm = "qrcalling.test";

    private readonly Process _process;
    private readonly string _dir;

    private CoturnProcess(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
    }

    /// <summary>The listening port (UDP and TCP) on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The documented configuration file.</summary>
    public static string ConfigurationFile
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "docs", "coturn.conf");
                if (File.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "QrCalling.sln")))
                {
                    return candidate;
                }
            }
            throw new FileNotFoundException("docs/coturn.conf not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Starts coturn accepting credentials signed with any of <paramref name="secrets"/>.</summary>
    public static CoturnProcess Start(IEnumerable<string> secrets, int minRelayPort = 49160, int maxRelayPort = 49999)
    {
        var turnserver = TestServers.RequireProgram("turnserver");
        var port = FreeUdpAndTcpPort();
        var dir = Directory.CreateTempSubdirectory("qrc-coturn-").FullName;
        var start = new ProcessStartInfo(turnserver) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args =
        [
            "-c", ConfigurationFile,
            "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
            $"--realm={Realm}", "--no-tls", "--no-dtls", "--allow-loopback-peers", "--allowed-peer-ip=127.0.0.1",
            $"--min-port={minRelayPort}", $"--max-port={maxRelayPort}",
            $"--log-file={Path.Combine(dir, "turn.log")}", $"--pidfile={Path.Combine(dir, "turn.pid")}", "--no-stdout-log",
            .. secrets.Select(s => $"--static-auth-secret={s}"),
        ];
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var coturn = new CoturnProcess(process, dir, port);
        var deadline = Environment.TickCount64 + 10_000;
        while (Environment.TickCount64 < deadline)
        {
            Assert.False(process.HasExited, "turnserver exited at start-up.");
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                return coturn;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        coturn.Dispose();
        Assert.Fail("turnserver did not listen within 10 s.");
        return coturn;
    }

    /// <summary>Runs turnutils_uclient with a username and credential; returns its exit code (0: allocated and relayed).
    /// Without <paramref name="peer"/> it relays between two of its own allocations (-y); with one it relays to that
    /// peer address, which coturn refuses (403 Forbidden IP) when the configuration denies it.</summary>
    public async Task<int> AllocateAsync(string username, string credential, string? peer = null)
    {
        var client = TestServers.RequireProgram("turnutils_uclient");
        var start = new ProcessStartInfo(client) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args = peer is null
            ? ["-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-u", username, "-w", credential, "-n", "1", "-m", "1", "-y", "127.0.0.1"]
            : ["-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-u", username, "-w", credential, "-n", "1", "-m", "1", "-e", peer, "-r", "40000", "127.0.0.1"];
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        await Task.WhenAll(stdout, stderr);
        return process.ExitCode;
    }

    private static int FreeUdpAndTcpPort()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            try
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
            }
            finally
            {
                listener.Stop();
            }
        }
        throw new InvalidOperationException("No free port.");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        finally
        {
            _process.Dispose();
            try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
        }
    }
}
