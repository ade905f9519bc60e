using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace QrCalling.LoadTest;

/// <summary>The PeerJS baseline: installs npm <c>peer</c> 1.0.2 into a temporary folder, starts its server
/// (<c>node node_modules/peer/dist/bin/peerjs.js --port P --host 127.0.0.1</c>) as a child process, and runs the
/// offer/answer workload through it with <see cref="WebSocketPeer"/> clients; the node process is killed and the folder
/// deleted at the end, also on failure.</summary>
internal static class PeerJsBaseline
{
    private const string Package = "peer@1.0.2";

    public static async Task<RelayResult> RunAsync(int calls, int signals, TimeSpan warmUp, CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("qrcalling-peerjs-");
        try
        {
            var clock = Stopwatch.StartNew();
            await NpmInstallAsync(folder.FullName, cancellationToken);
            Console.WriteLine($"  npm installed {Package} into {folder.FullName} in {clock.Elapsed.TotalSeconds:F1} s");
            var port = FreePort();
            var start = new ProcessStartInfo("node", ["node_modules/peer/dist/bin/peerjs.js", "--port", port.ToString(CultureInfo.InvariantCulture), "--host", "127.0.0.1"])
            {
                WorkingDirectory = folder.FullName,
            };
            var (server, _) = await ServerProcess.StartAsync(start, line => line.StartsWith("Started PeerServer", StringComparison.Ordinal), cancellationToken);
            await using (server)
            {
                return await WebSocketCall.RunWorkloadAsync("PeerJS server (node)", server, calls, signals,
                    (_, _, id) => new Uri($"ws://127.0.0.1:{port}/peerjs?key=peerjs&id={id}&token={Guid.NewGuid():N}"),
                    heartbeat: TimeSpan.FromSeconds(5), warmUp, cancellationToken);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task NpmInstallAsync(string folder, CancellationToken cancellationToken)
    {
        using var npm = Process.Start(new ProcessStartInfo("npm", ["install", "--no-audit", "--no-fund", Package])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = npm.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = npm.StandardError.ReadToEndAsync(cancellationToken);
        await npm.WaitForExitAsync(cancellationToken);
        if (npm.ExitCode != 0)
        {
            throw new InvalidOperationException($"npm install {Package} failed ({npm.ExitCode}): {await output} {await errors}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
