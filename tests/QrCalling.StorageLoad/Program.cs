using QrCalling.StorageLoad;

// QrCalling storage load: measures storage throughput against a real server and a baseline from the server's own
// benchmark tool. Usage:
//   dotnet run -c Release --project tests/QrCalling.StorageLoad -- <mode> [--connection <string>] [--clients N] [--seconds S]
// Modes are the ILoadMode classes of this assembly (one file each): postgres (PostgresLoad.cs), ...
// The connection string defaults to QRCALLING_LOAD_<MODE>, then QRCALLING_TEST_<MODE>.

var modes = typeof(ILoadMode).Assembly.GetTypes()
    .Where(t => typeof(ILoadMode).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
    .Select(t => (ILoadMode)Activator.CreateInstance(t)!)
    .ToDictionary(m => m.Name, StringComparer.OrdinalIgnoreCase);

if (args.Length == 0 || !modes.TryGetValue(args[0], out var mode))
{
    Console.Error.WriteLine($"usage: QrCalling.StorageLoad <{string.Join('|', modes.Keys.Order())}> [--connection <string>] [--clients N] [--seconds S]");
    return 2;
}

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

var connection = Option("--connection")
    ?? Environment.GetEnvironmentVariable($"QRCALLING_LOAD_{mode.Name.ToUpperInvariant()}")
    ?? Environment.GetEnvironmentVariable($"QRCALLING_TEST_{mode.Name.ToUpperInvariant()}");
if (string.IsNullOrWhiteSpace(connection))
{
    Console.Error.WriteLine($"Give --connection or set QRCALLING_LOAD_{mode.Name.ToUpperInvariant()}.");
    return 2;
}
var settings = new LoadSettings(
    connection,
    int.Parse(Option("--clients") ?? "8", System.Globalization.CultureInfo.InvariantCulture),
    TimeSpan.FromSeconds(double.Parse(Option("--seconds") ?? "10", System.Globalization.CultureInfo.InvariantCulture)));

var results = await mode.RunAsync(settings, CancellationToken.None);
LoadReport.Print(mode.Name, settings, results);
return 0;
