using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>A real coturn on a free loopback port with <c>use-auth-secret</c>, killed on dispose.</summary>
public sealed class CoturnFixture : IDisposable
{
    public const string Secret = "turn-test-secret-0123456789";
    public const string Realm = "qrcalling.test";
    private readonly Process _process;
    private readonly string _dir;

    public CoturnFixture()
    {
        var turnserver = TestServers.RequireProgram("turnserver");
        Port = FreeUdpAndTcpPort();
        _dir = Directory.CreateTempSubdirectory("qrc-coturn-").FullName;
        var start = new ProcessStartInfo(turnserver)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "-p", Port.ToString(), "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--use-auth-secret",
                     $"--static-auth-secret={Secret}", $"--realm={Realm}", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers",
                     $"--log-file={Path.Combine(_dir, "turn.log")}", $"--pidfile={Path.Combine(_dir, "turn.pid")}",
                     $"--min-port=49160", "--max-port=49999", "--no-stdout-log",
                 })
        {
            start.ArgumentList.Add(arg);
        }
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Environment.TickCount64 + 10_000;
        while (Environment.TickCount64 < deadline)
        {
            Assert.False(_process.HasExited, "turnserver exited at start-up.");
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        Assert.Fail("turnserver did not listen within 10 s.");
    }

    public int Port { get; }

    /// <summary>Runs turnutils_uclient against the server with a username and credential; returns its exit code.</summary>
    public async Task<int> AllocateAsync(string username, string credential)
    {
        var client = TestServers.RequireProgram("turnutils_uclient");
        var start = new ProcessStartInfo(client) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-p", Port.ToString(), "-u", username, "-w", credential, "-n", "1", "-m", "1", "-y", "127.0.0.1" })
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

public sealed class TurnTests(CoturnFixture coturn) : IClassFixture<CoturnFixture>
{
    [Fact]
    public async Task IceServers_WithCoturn_CredentialsWorkAndExpiredOrForgedFail()
    {
        await using var host = await TestHost.StartAsync(hosting: o =>
        {
            o.Stun.Urls = $"stun:127.0.0.1:{coturn.Port}";
            o.Turn.Urls = $"turn:127.0.0.1:{coturn.Port}?transport=udp";
            o.Turn.SharedSecret = CoturnFixture.Secret;
        });
        var alice = host.Client(owner: "alice");
        var owner = await (await alice.GetAsync("/api/v1/ice-servers")).ReadJsonAsync();
        var ttl = owner.GetProperty("ttlSeconds").GetInt64();
        Assert.InRange(ttl, 7100, 7200); // MaxCallDuration, 2 h by default
        var servers = owner.GetProperty("iceServers").EnumerateArray().ToList();
        Assert.Equal(2, servers.Count);
        Assert.False(servers[0].TryGetProperty("username", out _));
        var turn = servers[1];
        Assert.Equal($"turn:127.0.0.1:{coturn.Port}?transport=udp", turn.GetProperty("urls")[0].GetString());
        var username = turn.GetProperty("username").GetString()!;
        var credential = turn.GetProperty("credential").GetString()!;
        var parts = username.Split(':');
        Assert.Equal(2, parts.Length);
        Assert.InRange(long.Parse(parts[0]) - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 7100, 7200);

        var ownerAllocation = coturn.AllocateAsync(username, credential);

        // A caller's credentials expire with its call.
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callerTurn = started.GetProperty("iceServers")[1];
        var expiresAt = DateTimeOffset.Parse(started.GetProperty("expiresAt").GetString()!);
        Assert.Equal(expiresAt.ToUnixTimeSeconds().ToString(), callerTurn.GetProperty("username").GetString()!.Split(':')[0]);
        Assert.NotEqual(parts[1], callerTurn.GetProperty("username").GetString()!.Split(':')[1]);
        var viaToken = await (await host.Client(bearer: started.GetProperty("callToken").GetString()).GetAsync("/api/v1/ice-servers")).ReadJsonAsync();
        Assert.Equal(expiresAt.ToUnixTimeSeconds().ToString(), viaToken.GetProperty("iceServers")[1].GetProperty("username").GetString()!.Split(':')[0]);
        var callerAllocation = coturn.AllocateAsync(callerTurn.GetProperty("username").GetString()!, callerTurn.GetProperty("credential").GetString()!);

        // Expired (signed correctly, expiry in the past) and forged credentials are refused by coturn.
        var expired = $"{DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds()}:{parts[1]}";
        var expiredCredential = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(CoturnFixture.Secret), Encoding.UTF8.GetBytes(expired)));
        var expiredAllocation = coturn.AllocateAsync(expired, expiredCredential);
        var forged = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes("not-the-secret"), Encoding.UTF8.GetBytes(username)));
        var forgedAllocation = coturn.AllocateAsync(username, forged);
        Assert.Equal(0, await ownerAllocation);
        Assert.Equal(0, await callerAllocation);
        Assert.NotEqual(0, await expiredAllocation);
        Assert.NotEqual(0, await forgedAllocation);
        Assert.DoesNotContain(credential, host.Logs.AllText);
    }
}
