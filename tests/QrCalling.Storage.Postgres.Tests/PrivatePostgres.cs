using System.Diagnostics;
using Npgsql;
using QrCalling.Testing;

namespace QrCalling.Storage.Postgres.Tests;

/// <summary>A PostgreSQL server of the test's own (temp folder, free loopback port), so a test can stop and start it
/// without touching the shared server. As root, initdb and pg_ctl run as the postgres user (initdb refuses root).</summary>
internal sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _root, _data, _socket, _pgCtl;

    private PrivatePostgres(string root, string pgCtl, int port)
    {
        _root = root;
        _data = Path.Combine(root, "data");
        _socket = Path.Combine(root, "sock");
        _pgCtl = pgCtl;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = Port, Username = "postgres", Database = "postgres",
    }.ConnectionString;

    public static async Task<PrivatePostgres> StartAsync()
    {
        var binDirs = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin")).ToArray()
            : [];
        var pgCtl = TestServers.RequireProgram("pg_ctl", binDirs);
        var root = Path.Combine(Path.GetTempPath(), "qrcalling-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var server = new PrivatePostgres(root, pgCtl, UnavailableTests.FreePort());
        Directory.CreateDirectory(server._data);
        Directory.CreateDirectory(server._socket);
        const UnixFileMode open = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(root, open);
        }
        if (IsRoot)
        {
            await RunAsync("chown", ["postgres", server._data, server._socket], asPostgres: false);
        }
        var initdb = Path.Combine(Path.GetDirectoryName(pgCtl)!, "initdb");
        await RunAsync(initdb, ["-D", server._data, "--locale=C.UTF-8", "-E", "UTF8", "-A", "trust", "-U", "postgres", "--no-sync"], asPostgres: true);
        await server.StartServerAsync();
        return server;
    }

    public Task StartServerAsync() => RunAsync(_pgCtl,
        ["-D", _data, "-l", Path.Combine(_socket, "log"), "-w", "-t", "30",
         "-o", $"-p {Port} -k {_socket} -c listen_addresses=127.0.0.1 -c fsync=off", "start"], asPostgres: true);

    /// <summary>A clean stop (<c>-m fast</c>): a shutdown checkpoint, so unlogged tables are kept.</summary>
    public Task StopServerAsync() => RunAsync(_pgCtl, ["-D", _data, "-m", "fast", "-w", "-t", "30", "stop"], asPostgres: true);

    /// <summary>A crash (<c>-m immediate</c>: no checkpoint): the next start recovers from the WAL and empties the
    /// unlogged tables, as after a power loss or a killed server.</summary>
    public Task CrashServerAsync() => RunAsync(_pgCtl, ["-D", _data, "-m", "immediate", "-w", "-t", "30", "stop"], asPostgres: true);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(_pgCtl, ["-D", _data, "-m", "immediate", "-w", "-t", "30", "stop"], asPostgres: true);
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder.
        }
    }

    private static bool IsRoot => Environment.UserName == "root";

    private static async Task RunAsync(string program, string[] arguments, bool asPostgres)
    {
        var start = asPostgres && IsRoot ? new ProcessStartInfo("runuser") : new ProcessStartInfo(program);
        if (asPostgres && IsRoot)
        {
            foreach (var a in new[] { "-u", "postgres", "--", program })
            {
                start.ArgumentList.Add(a);
            }
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = Path.GetTempPath();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} exited with {process.ExitCode}: {await stdout} {await stderr}");
        }
    }
}
