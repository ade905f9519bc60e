using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Storage;
using QrCalling.Storage.Postgres;
using QrCalling.Transport;

namespace QrCalling.StorageLoad;

/// <summary>PostgreSQL: code scans/s (store level and through CodeService), full call set-ups/s at the storage level,
/// and <c>pgbench -S</c> (select-only, same clients and duration, scale 1 in a scratch database) as the baseline.</summary>
internal sealed partial class PostgresLoad : ILoadMode
{
    private const int CodeCount = 1000;

    public string Name => "postgres";

    public async Task<IReadOnlyList<LoadResult>> RunAsync(LoadSettings settings, CancellationToken cancellationToken)
    {
        var csb = new NpgsqlConnectionStringBuilder(settings.Connection);
        if (csb.MaxPoolSize < settings.Clients + 4)
        {
            csb.MaxPoolSize = settings.Clients + 4;
        }
        var schema = "load_" + Guid.NewGuid().ToString("N")[..12];
        var results = new List<LoadResult>();
        // The baseline runs before and after the workloads and is averaged, so a drifting machine load skews it less.
        Console.WriteLine("Running: pgbench -S baseline (before)...");
        var baselineBefore = await PgbenchAsync(csb, settings, cancellationToken);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<ITransport, NullTransport>();
        services.AddQrCallingCore(o => o.Pepper = "storage-load-pepper-0123456789")
            .UsePostgresStorage(o =>
            {
                o.ConnectionString = csb.ConnectionString;
                o.Schema = schema;
            });
        await using var provider = services.BuildServiceProvider();
        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(cancellationToken); // migrations
        }
        var storage = provider.GetRequiredService<IStorage>();
        try
        {
            // Store level: unlimited codes with random key hashes.
            var keys = new byte[CodeCount][];
            for (var i = 0; i < CodeCount; i++)
            {
                keys[i] = RandomNumberGenerator.GetBytes(32);
                await storage.Codes.CreateAsync(new CodeRecord
                {
                    Id = $"c_{i}", OwnerId = $"owner-{i % 50}", KeyHash = keys[i], CreatedAt = DateTimeOffset.UnixEpoch, Label = "Load",
                }, cancellationToken);
            }
            var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
            Console.WriteLine("Running: store scans (ICodeStore.TryCountScanAsync)...");
            results.Add(await LoadRunner.RunAsync("code scan (ICodeStore.TryCountScanAsync)", settings.Clients, settings.Duration,
                async (w, n) => _ = await storage.Codes.TryCountScanAsync(keys[(int)((w * 7919 + n) % CodeCount)], now, cancellationToken)
                    ?? throw new InvalidOperationException("scan refused")));

            // The same statement with the commit not waiting for the WAL flush (a session setting the operator may
            // choose): shows how much of a counted scan is the disk's fsync rather than the statement.
            await using (var asyncCommit = PostgresDataSourceProvider.Build(
                new NpgsqlConnectionStringBuilder(csb.ConnectionString) { Options = "-c synchronous_commit=off" }.ConnectionString, new PostgresStorageOptions()))
            {
                var relaxed = new PostgresStorage(asyncCommit, schema, TimeSpan.FromSeconds(5), null);
                Console.WriteLine("Running: store scans with synchronous_commit=off...");
                results.Add(await LoadRunner.RunAsync("code scan (TryCountScanAsync, sync_commit=off)", settings.Clients, settings.Duration,
                    async (w, n) => _ = await relaxed.Codes.TryCountScanAsync(keys[(int)((w * 7919 + n) % CodeCount)], now, cancellationToken)
                        ?? throw new InvalidOperationException("scan refused")));
            }

            // Service level: issued codes, scanned through payload parsing, HMAC and the store.
            var codeService = provider.GetRequiredService<CodeService>();
            var payloads = new string[CodeCount];
            for (var i = 0; i < CodeCount; i++)
            {
                payloads[i] = (await codeService.IssueAsync($"owner-{i % 50}", new CodeSpec { Label = "Load" }, cancellationToken)).Value.Payload;
            }
            Console.WriteLine("Running: service scans (CodeService.ScanAsync)...");
            results.Add(await LoadRunner.RunAsync("code scan (CodeService.ScanAsync, DI)", settings.Clients, settings.Duration,
                async (w, n) =>
                {
                    if (!(await codeService.ScanAsync(payloads[(int)((w * 7919 + n) % CodeCount)], cancellationToken)).IsSuccess)
                    {
                        throw new InvalidOperationException("scan refused");
                    }
                }));

            Console.WriteLine("Running: call set-ups (scan + create + accept + 3 appends + end)...");
            results.Add(await LoadRunner.RunAsync("call set-up (scan+create+accept+3 appends+end)", settings.Clients, settings.Duration,
                (w, n) => StorageWorkloads.CallSetUpAsync(storage, keys[(int)((w * 7919 + n + CodeCount / 2) % CodeCount)], now, cancellationToken)));
        }
        finally
        {
            await ExecuteAdminAsync(csb, $"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        }

        Console.WriteLine("Running: pgbench -S baseline (after)...");
        var baselineAfter = await PgbenchAsync(csb, settings, cancellationToken);
        Console.WriteLine($"pgbench -S tps: before {baselineBefore.PerSecond:0}, after {baselineAfter.PerSecond:0}");
        results.Add(new LoadResult("pgbench -S (select-only, baseline, mean)", baselineBefore.Operations + baselineAfter.Operations,
            baselineBefore.Elapsed + baselineAfter.Elapsed, IsBaseline: true));
        return results;
    }

    private static async Task ExecuteAdminAsync(NpgsqlConnectionStringBuilder csb, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(csb.ConnectionString) { Pooling = false, Multiplexing = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<LoadResult> PgbenchAsync(NpgsqlConnectionStringBuilder csb, LoadSettings settings, CancellationToken cancellationToken)
    {
        const string database = "qrcalling_pgbench";
        await ExecuteAdminAsync(csb, $"DROP DATABASE IF EXISTS {database}");
        await ExecuteAdminAsync(csb, $"CREATE DATABASE {database}");
        try
        {
            var pgbench = FindPgbench();
            string[] target = ["-h", csb.Host ?? "127.0.0.1", "-p", csb.Port.ToString(CultureInfo.InvariantCulture), "-U", csb.Username ?? "postgres", database];
            await RunAsync(pgbench, ["-i", "-s", "1", "-q", .. target], csb.Password, cancellationToken);
            var threads = Math.Min(settings.Clients, Environment.ProcessorCount);
            var output = await RunAsync(pgbench,
                ["-S", "-n", "-c", settings.Clients.ToString(CultureInfo.InvariantCulture), "-j", threads.ToString(CultureInfo.InvariantCulture),
                 "-T", ((int)settings.Duration.TotalSeconds).ToString(CultureInfo.InvariantCulture), .. target], csb.Password, cancellationToken);
            var processed = long.Parse(ProcessedRegex().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
            var tps = double.Parse(TpsRegex().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
            return new LoadResult("pgbench -S (select-only, baseline)", processed, TimeSpan.FromSeconds(processed / tps), IsBaseline: true);
        }
        finally
        {
            await ExecuteAdminAsync(csb, $"DROP DATABASE IF EXISTS {database}");
        }
    }

    private static string FindPgbench()
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin")) : []);
        return dirs.Select(d => Path.Combine(d, "pgbench")).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("pgbench is not installed (Debian: postgresql-client or postgresql).");
    }

    private static async Task<string> RunAsync(string program, string[] arguments, string? password, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        if (password is not null)
        {
            start.Environment["PGPASSWORD"] = password;
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} exited with {process.ExitCode}: {await stderr}");
        }
        return await stdout + await stderr;
    }

    [GeneratedRegex(@"number of transactions actually processed: (\d+)")]
    private static partial Regex ProcessedRegex();

    [GeneratedRegex(@"tps = ([\d.]+) \(without initial connection time\)")]
    private static partial Regex TpsRegex();

}
