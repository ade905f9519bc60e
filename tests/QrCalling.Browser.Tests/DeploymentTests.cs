using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Npgsql;
using QrCalling.Testing;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>The deployment of docs/deploy.md, run as documented: the systemd unit's command line with its environment
/// file (two instances on PostgreSQL with the Redis backplane), nginx with the documented configuration in front (TLS,
/// WebSockets, ip_hash), Chromium calling through it, and the backup script dumping and restoring the database. The
/// files are used as they are; the test replaces only machine-specific values (ports, paths, names), and each
/// replacement checks that the text it replaces is still there, so the documentation cannot drift from what runs.</summary>
[Collection(BrowserCollection.Name)]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DeploymentTests(BrowserFixture browser)
{
    private static string DeployFile(string name) => Path.Combine(TestPaths.RepositoryRoot, "docs", "deploy", name);

    private static string Replace(string text, string old, string replacement, string file)
    {
        Assert.True(text.Contains(old, StringComparison.Ordinal), $"{file} no longer contains \"{old}\": update the test with the documentation.");
        return text.Replace(old, replacement, StringComparison.Ordinal);
    }

    /// <summary>Non-comment KEY=VALUE lines, in order.</summary>
    private static List<KeyValuePair<string, string>> EnvironmentFile(string path) =>
        [.. File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => { var i = l.IndexOf('='); Assert.True(i > 0, $"Not KEY=VALUE: {l}"); return KeyValuePair.Create(l[..i], l[(i + 1)..]); })];

    /// <summary>A systemd unit as section → key → values (a key may repeat).</summary>
    private static Dictionary<string, Dictionary<string, List<string>>> Unit(string path)
    {
        var unit = new Dictionary<string, Dictionary<string, List<string>>>();
        Dictionary<string, List<string>>? section = null;
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith(';'))
            {
                continue;
            }
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = unit[line[1..^1]] = [];
                continue;
            }
            Assert.NotNull(section);
            var i = line.IndexOf('=');
            Assert.True(i > 0, $"Not Key=Value in {path}: {line}");
            var key = line[..i];
            if (!section.TryGetValue(key, out var values))
            {
                section[key] = values = [];
            }
            values.Add(line[(i + 1)..]);
        }
        return unit;
    }

    private static string Single(Dictionary<string, Dictionary<string, List<string>>> unit, string section, string key) =>
        Assert.Single(unit[section][key]);

    [Fact]
    public void SysctlFile_NamesKernelSettingsThatExist_WithNumbers()
    {
        var lines = File.ReadAllLines(DeployFile("99-qrcalling.sysctl.conf")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var parts = line.Split('=', 2, StringSplitOptions.TrimEntries);
            Assert.Equal(2, parts.Length);
            Assert.True(File.Exists("/proc/sys/" + parts[0].Replace('.', '/')), $"{parts[0]} is not a kernel setting here.");
            Assert.All(parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries), v => Assert.True(long.TryParse(v, out _), $"{line}: not a number"));
        }
        // The local port range must leave room for 10,000 upstream connections.
        var range = lines.Single(l => l.StartsWith("net.ipv4.ip_local_port_range", StringComparison.Ordinal)).Split('=')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        Assert.True(range[1] - range[0] > 20_000);
    }

    [Fact]
    public async Task TurnFirewall_IsValidNftables_AndOpensExactlyCoturnsPorts()
    {
        var nft = TestServers.RequireProgram("nft");
        var start = new ProcessStartInfo(nft, ["-c", "-f", DeployFile("turn.nft")]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var check = Process.Start(start)!;
        var stderr = await check.StandardError.ReadToEndAsync();
        await check.WaitForExitAsync();
        Assert.True(check.ExitCode == 0, "nft -c refused docs/deploy/turn.nft: " + stderr);

        // coturn's ports: those docs/coturn.conf sets, else coturn's defaults.
        var coturn = File.ReadAllLines(CoturnProcess.ConfigurationFile).Select(l => l.Trim()).Where(l => !l.StartsWith('#'))
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.Last()[1]);
        string Port(string key, string fallback) => coturn.GetValueOrDefault(key, fallback);
        var rules = File.ReadAllText(DeployFile("turn.nft"));
        Assert.Contains($"udp dport {Port("listening-port", "3478")} accept", rules);
        Assert.Contains($"tcp dport {{ {Port("listening-port", "3478")}, {Port("tls-listening-port", "5349")} }} accept", rules);
        Assert.Contains($"udp dport {Port("min-port", "49152")}-{Port("max-port", "65535")} accept", rules);
        Assert.Equal(3, Regex.Matches(rules, @"^\s*(udp|tcp) dport", RegexOptions.Multiline).Count);
    }

    [Fact]
    public async Task OneMachine_AsDocumented_TwoInstancesBehindNginx_CallOverTlsAndWebSockets_AndTheBackupRestores()
    {
        // ---- the unit and its environment file
        var unit = Unit(DeployFile("qrcalling@.service"));
        var service = unit["Service"];
        Assert.NotEqual("root", Single(unit, "Service", "User"));
        Assert.True(int.Parse(Single(unit, "Service", "LimitNOFILE"), System.Globalization.CultureInfo.InvariantCulture) >= 20_000);
        Assert.Equal("on-failure", Single(unit, "Service", "Restart"));
        Assert.Equal("/etc/qrcalling/qrcalling.env", Single(unit, "Service", "EnvironmentFile"));
        var exec = Single(unit, "Service", "ExecStart").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["/usr/bin/dotnet", "/opt/qrcalling/QrCalling.SampleHost.dll", "--urls", "http://127.0.0.1:%i"], exec);
        Assert.Equal("/opt/qrcalling", Single(unit, "Service", "WorkingDirectory"));

        var environment = EnvironmentFile(DeployFile("qrcalling.env"));
        var settings = environment.ToDictionary(p => p.Key, p => p.Value);
        // Every key of the file is one this test knows how to check (a new key needs a check here).
        string[] known =
        [
            "ASPNETCORE_ENVIRONMENT", "AllowedHosts", "QrCalling__PublicBaseUrl", "QrCalling__Storage", "ConnectionStrings__Postgres",
            "ConnectionStrings__Redis", "QrCalling__Sample__KeysPath", "QrCalling__Sample__KnownProxies", "QrCalling__Turn__Urls",
            "QrCalling__Turn__SharedSecret", "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit",
        ];
        Assert.Empty(settings.Keys.Except(known));
        Assert.Equal("postgres", settings["QrCalling__Storage"]);
        Assert.StartsWith("/var/lib/" + Single(unit, "Service", "StateDirectory") + "/", settings["QrCalling__Sample__KeysPath"]);

        // ---- a database of its own, and the machine-specific values
        var database = "qrc_deploy_" + Guid.NewGuid().ToString("N")[..8];
        var admin = new NpgsqlConnectionStringBuilder(TestServers.Postgres);
        await using (var connection = new NpgsqlConnection(admin.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", connection);
            await create.ExecuteNonQueryAsync();
        }
        var dir = Directory.CreateTempSubdirectory("qrc-deploy-").FullName;
        var (http, https, first, second) = (FreePort(), FreePort(), FreePort(), FreePort());
        var publicBase = $"https://127.0.0.1:{https}";
        var overrides = new Dictionary<string, string>
        {
            ["AllowedHosts"] = settings["AllowedHosts"] + ";127.0.0.1",
            ["QrCalling__PublicBaseUrl"] = publicBase + "/c",
            ["ConnectionStrings__Postgres"] = new NpgsqlConnectionStringBuilder(TestServers.Postgres) { Database = database }.ConnectionString,
            ["ConnectionStrings__Redis"] = TestServers.Redis,
            ["QrCalling__Sample__KeysPath"] = Path.Combine(dir, "keys"),
        };
        var processes = new List<Process>();
        var output = new ConcurrentQueue<string>();
        try
        {
            // ---- the instances: the unit's command line, run with the file's environment
            foreach (var port in new[] { first, second })
            {
                var start = new ProcessStartInfo(TestServers.RequireProgram("dotnet"))
                {
                    WorkingDirectory = TestPaths.SampleHostContentRoot, // /opt/qrcalling holds the published app and its wwwroot
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                };
                start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "QrCalling.SampleHost.dll"));
                foreach (var arg in exec[2..])
                {
                    start.ArgumentList.Add(arg.Replace("%i", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
                }
                foreach (var (name, value) in environment)
                {
                    start.Environment[name] = overrides.GetValueOrDefault(name, value);
                }
                var process = Process.Start(start)!;
                process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue($"[{port}] {e.Data}"); };
                process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue($"[{port}] {e.Data}"); };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                processes.Add(process);
                await WaitReadyAsync($"http://127.0.0.1:{port}", process, output); // one after the other: the first migrates
            }

            // The file's Host filter holds: a request for another name is refused.
            using (var direct = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{first}") })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/health/ready");
                request.Headers.Host = "elsewhere.example";
                Assert.Equal(HttpStatusCode.BadRequest, (await direct.SendAsync(request)).StatusCode);
            }

            // ---- nginx with the documented files
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request2 = new CertificateRequest("CN=call.example.org", key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("call.example.org");
            names.AddIpAddress(IPAddress.Loopback);
            request2.CertificateExtensions.Add(names.Build());
            using var certificate = request2.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(Path.Combine(dir, "fullchain.pem"), certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(Path.Combine(dir, "privkey.pem"), key.ExportPkcs8PrivateKeyPem());

            var site = await File.ReadAllTextAsync(DeployFile("qrcalling.nginx.conf"));
            const string siteName = "qrcalling.nginx.conf";
            site = Replace(site, "listen 80;", $"listen 127.0.0.1:{http};", siteName);
            site = Replace(site, "listen [::]:80;", "", siteName);
            site = Replace(site, "listen 443 ssl http2;", $"listen 127.0.0.1:{https} ssl http2;", siteName);
            site = Replace(site, "listen [::]:443 ssl http2;", "", siteName);
            site = Replace(site, "/etc/letsencrypt/live/call.example.org/fullchain.pem", Path.Combine(dir, "fullchain.pem"), siteName);
            site = Replace(site, "/etc/letsencrypt/live/call.example.org/privkey.pem", Path.Combine(dir, "privkey.pem"), siteName);
            site = Replace(site, "server 127.0.0.1:5001;", $"server 127.0.0.1:{first};", siteName);
            site = Replace(site, "server 127.0.0.1:5002;", $"server 127.0.0.1:{second};", siteName);
            await File.WriteAllTextAsync(Path.Combine(dir, "qrcalling.conf"), site);
            var main = await File.ReadAllTextAsync(DeployFile("nginx.conf"));
            main = Replace(main, "user www-data;", "user root;", "nginx.conf"); // the test runs as root in its own network namespace
            main = Replace(main, "pid /run/nginx.pid;", $"pid {dir}/nginx.pid;", "nginx.conf");
            main = Replace(main, "error_log /var/log/nginx/error.log warn;", $"error_log {dir}/error.log warn;", "nginx.conf");
            main = Replace(main, "include /etc/nginx/modules-enabled/*.conf;", "", "nginx.conf");
            main = Replace(main, "include /etc/nginx/conf.d/*.conf;",
                $"client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi; " +
                $"uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi; include {dir}/qrcalling.conf;", "nginx.conf");
            await File.WriteAllTextAsync(Path.Combine(dir, "nginx.conf"), main);
            var nginx = TestServers.RequireProgram("nginx");
            var (syntaxCode, syntax) = await RunAsync(nginx, ["-t", "-e", Path.Combine(dir, "error.log"), "-p", dir, "-c", Path.Combine(dir, "nginx.conf")]);
            Assert.True(syntaxCode == 0, "nginx -t: " + syntax);
            var proxy = Process.Start(new ProcessStartInfo(nginx, ["-e", Path.Combine(dir, "error.log"), "-p", dir, "-c", Path.Combine(dir, "nginx.conf"), "-g", "daemon off;"])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            processes.Add(proxy);
            await WaitListeningAsync(https);

            // Plain HTTP is sent to HTTPS.
            using (var plain = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }))
            {
                var answer = await plain.GetAsync($"http://127.0.0.1:{http}/c");
                Assert.Equal(HttpStatusCode.MovedPermanently, answer.StatusCode);
                Assert.Equal("https://127.0.0.1/c", answer.Headers.Location?.ToString());
            }
            using (var tls = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, c, _, _) => c?.Thumbprint == certificate.Thumbprint }))
            {
                var ready = await tls.GetAsync($"{publicBase}/health/ready");
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
                Assert.Equal("max-age=63072000", ready.Headers.GetValues("Strict-Transport-Security").Single());
            }

            // ---- a call through nginx, in Chromium, over TLS, the hub on a WebSocket
            var secure = BrowserFixture.PhoneOptions(publicBase);
            secure.IgnoreHTTPSErrors = true; // the test's own certificate
            await using var ownerContext = await browser.Browser.NewContextAsync(secure);
            await using var callerContext = await browser.Browser.NewContextAsync(secure);
            var owner = await ownerContext.NewPageAsync();
            var caller = await callerContext.NewPageAsync();
            var sockets = new ConcurrentQueue<string>();
            var framesIn = 0;
            foreach (var page in new[] { owner, caller })
            {
                page.WebSocket += (_, ws) =>
                {
                    sockets.Enqueue(ws.Url);
                    ws.FrameReceived += (_, _) => Interlocked.Increment(ref framesIn);
                };
            }
            var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Deployed door", "audio", "chat");
            Assert.StartsWith(publicBase + "/c#", link, StringComparison.OrdinalIgnoreCase); // the file's PublicBaseUrl, as overridden
            await caller.GotoAsync(link);
            var started = caller.WaitForResponseAsync(r => r.Url.EndsWith("/api/v1/calls", StringComparison.Ordinal) && r.Request.Method == "POST");
            await caller.GetByTestId("call-chat").ClickAsync();
            var call = await (await started).JsonAsync();
            await owner.GetByTestId("accept").ClickAsync();
            await WebApp.WaitChatReadyAsync(owner, caller);
            await WebApp.SendChatAsync(caller, owner, "hello through nginx");
            await WebApp.SendChatAsync(owner, caller, "and back");
            Assert.Contains(sockets, url => url.StartsWith($"wss://127.0.0.1:{https}/hubs/calls", StringComparison.Ordinal));
            Assert.True(framesIn > 0);
            // The file's TURN settings reach callers (relay-only ICE needs them).
            var turn = call!.Value.GetProperty("iceServers").EnumerateArray().SelectMany(s => s.GetProperty("urls").EnumerateArray().Select(u => u.GetString()!)).ToList();
            Assert.Equal(settings["QrCalling__Turn__Urls"].Split(','), turn.Where(u => u.StartsWith("turn", StringComparison.Ordinal)));
            await WebApp.ScreenshotAsync(caller, "deployment-caller");

            // ---- the other instance rings the same owner: a second caller straight at each instance (one of them is not the
            // owner's, so the Redis backplane carries that ring).
            foreach (var port in new[] { first, second })
            {
                await using var directContext = await browser.NewPhoneContextAsync($"http://127.0.0.1:{port}");
                var direct = await directContext.NewPageAsync();
                await direct.GotoAsync($"http://127.0.0.1:{port}/c" + link[link.IndexOf('#', StringComparison.Ordinal)..]);
                await direct.GetByTestId("call-chat").ClickAsync();
                await owner.GetByTestId("end-and-answer").ClickAsync(new() { Timeout = 15_000 });
                await WebApp.WaitChatReadyAsync(owner, direct);
                await WebApp.SendChatAsync(direct, owner, $"hello from instance {port}");
            }

            // The secrets are files of their own under the state directory, readable by the service only.
            foreach (var secret in new[] { "qrcalling-pepper", "jwt-signing-key" })
            {
                var path = Path.Combine(overrides["QrCalling__Sample__KeysPath"], secret);
                Assert.True(File.Exists(path), secret);
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            // ---- the backup: the script of the timer's service, with the service's environment
            var backupUnit = Unit(DeployFile("qrcalling-backup.service"));
            Assert.Equal("/usr/local/bin/qrcalling-backup", Single(backupUnit, "Service", "ExecStart"));
            var backupEnvironment = Single(backupUnit, "Service", "Environment").Split(' ').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
            Assert.Equal(["BACKUP_DIR", "KEEP_DAYS", "PGDATABASE"], backupEnvironment.Keys.Order());
            Assert.EndsWith($"-o {Single(backupUnit, "Service", "User")} -g {Single(backupUnit, "Service", "User")} -m 0700 {backupEnvironment["BACKUP_DIR"]}",
                Single(backupUnit, "Service", "ExecStartPre"));
            Assert.True(Unit(DeployFile("qrcalling-backup.timer")).ContainsKey("Timer"));
            var backups = Path.Combine(dir, "backups");
            Directory.CreateDirectory(backups);
            var stale = Path.Combine(backups, "qrcalling-20000101T000000Z.dump");
            await File.WriteAllTextAsync(stale, "old");
            File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddDays(-int.Parse(backupEnvironment["KEEP_DAYS"], System.Globalization.CultureInfo.InvariantCulture) - 2));
            var script = new ProcessStartInfo("/bin/sh", [DeployFile("qrcalling-backup.sh")]) { RedirectStandardOutput = true, RedirectStandardError = true };
            script.Environment["BACKUP_DIR"] = backups;
            script.Environment["KEEP_DAYS"] = backupEnvironment["KEEP_DAYS"];
            script.Environment["PGDATABASE"] = database;
            script.Environment["PGHOST"] = admin.Host;
            script.Environment["PGPORT"] = admin.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            script.Environment["PGUSER"] = admin.Username;
            var (dumpCode, dumpOutput) = await RunAsync(script);
            Assert.True(dumpCode == 0, "qrcalling-backup: " + dumpOutput);
            var dump = dumpOutput.Trim().Split('\n')[0];
            Assert.True(File.Exists(dump), dumpOutput);
            Assert.False(File.Exists(stale), "the backup older than KEEP_DAYS was not deleted");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dump));
            var (listCode, list) = await RunAsync(TestServers.RequireProgram("pg_restore"), ["--list", dump]);
            Assert.Equal(0, listCode);
            Assert.Contains("TABLE DATA qrcalling codes", list);
            Assert.DoesNotContain("TABLE DATA qrcalling mailbox", list); // UNLOGGED: transient, left out

            // Restored into an empty database, the code and the calls are all there.
            var restored = database + "_restored";
            await using (var connection = new NpgsqlConnection(admin.ConnectionString))
            {
                await connection.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {restored}", connection);
                await create.ExecuteNonQueryAsync();
            }
            var restore = new ProcessStartInfo(TestServers.RequireProgram("pg_restore"), ["--no-owner", "--dbname", restored, dump]) { RedirectStandardOutput = true, RedirectStandardError = true };
            restore.Environment["PGHOST"] = admin.Host;
            restore.Environment["PGPORT"] = admin.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            restore.Environment["PGUSER"] = admin.Username;
            var (restoreCode, restoreOutput) = await RunAsync(restore);
            Assert.True(restoreCode == 0, "pg_restore: " + restoreOutput);
            async Task<(long Codes, long Calls)> CountAsync(string db)
            {
                await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(TestServers.Postgres) { Database = db }.ConnectionString);
                await connection.OpenAsync();
                await using var count = new NpgsqlCommand("SELECT (SELECT count(*) FROM qrcalling.codes), (SELECT count(*) FROM qrcalling.calls)", connection);
                await using var reader = await count.ExecuteReaderAsync();
                await reader.ReadAsync();
                return (reader.GetInt64(0), reader.GetInt64(1));
            }
            var original = await CountAsync(database);
            Assert.Equal((1L, 3L), original);
            Assert.Equal(original, await CountAsync(restored));
        }
        catch
        {
            foreach (var line in output)
            {
                Console.WriteLine(line);
            }
            if (File.Exists(Path.Combine(dir, "error.log")))
            {
                Console.WriteLine(await File.ReadAllTextAsync(Path.Combine(dir, "error.log")));
            }
            throw;
        }
        finally
        {
            foreach (var process in processes)
            {
                try { process.Kill(entireProcessTree: true); process.WaitForExit(5000); } catch (InvalidOperationException) { }
                process.Dispose();
            }
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task WaitReadyAsync(string baseUrl, Process process, ConcurrentQueue<string> output)
    {
        using var client = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(process.HasExited, "The host exited at start-up:\n" + string.Join('\n', output));
            try
            {
                if ((await client.GetAsync("/health/ready")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(250);
        }
        Assert.Fail($"{baseUrl} was not ready within 60 s:\n" + string.Join('\n', output));
    }

    private static async Task WaitListeningAsync(int port)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(100);
            }
        }
    }

    private static Task<(int Code, string Output)> RunAsync(string program, string[] args) =>
        RunAsync(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true });

    private static async Task<(int Code, string Output)> RunAsync(ProcessStartInfo start)
    {
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
