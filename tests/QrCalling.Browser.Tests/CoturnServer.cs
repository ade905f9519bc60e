using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using QrCalling.Testing;

namespace QrCalling.Browser.Tests;

/// <summary>A real coturn on 127.0.0.1 with TURN REST API credentials (use-auth-secret), started for one test.</summary>
internal sealed class CoturnServer : IDisposable
{
    private readonly Process _process;

    private CoturnServer(Process process, int port, string secret)
    {
        _process = process;
        Port = port;
        Secret = secret;
    }

    public int Port { get; }

    public string Secret { get; }

    public static async Task<CoturnServer> StartAsync()
    {
        var turnserver = TestServers.RequireProgram("turnserver");
        var port = FreeUdpPort();
        var secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var dir = Directory.CreateTempSubdirectory("qrcalling-coturn-").FullName;
        var start = new ProcessStartInfo(turnserver)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            $"--listening-port={port}", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
            "--use-auth-secret", $"--static-auth-secret={secret}", "--realm=qrcalling.test",
            "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--min-port=40000", "--max-port=40999",
            $"--pidfile={Path.Combine(dir, "turnserver.pid")}", "--log-file=stdout", "--simple-log", "--no-stdout-log",
        })
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("turnserver did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new CoturnServer(process, port, secret);
        var deadline = Stopwatch.StartNew();
        while (!IsUdpListening(port))
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                server.Dispose();
                throw new InvalidOperationException($"turnserver is not listening on UDP port {port} (exited: {process.HasExited}).");
            }
            await Task.Delay(50);
        }
        return server;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
        _process.Dispose();
    }

    private static int FreeUdpPort()
    {
        using var socket = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.Client.LocalEndPoint!).Port;
    }

    /// <summary>True when a socket is bound to 127.0.0.1:port over UDP (read from /proc/net/udp).</summary>
    private static bool IsUdpListening(int port)
    {
        var needle = "0100007F:" + port.ToString("X4", CultureInfo.InvariantCulture);
        return File.ReadLines("/proc/net/udp").Any(line => line.Contains(needle, StringComparison.Ordinal));
    }
}
