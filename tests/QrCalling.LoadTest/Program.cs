using System.Diagnostics;
using QrCalling.LoadTest;

// QrCalling load tool: drives a RUNNING host with real SignalR .NET clients, then relays the same messages through a bare
// Kestrel WebSocket echo relay started in this process, as the baseline. Not run by the test command. Usage:
//   dotnet run -c Release --project tests/QrCalling.LoadTest -- <baseUrl> [--caller-url URL] [--owners N] [--signals M]
// With --caller-url the callers use a second host instance (sharing storage and the Redis backplane) while the owners
// stay on <baseUrl>, so every ring, signal and hangup crosses instances.
// The host must allow the load's request rates from one address, e.g. the sample host started with
//   QrCalling__Sample__AccountPermitsPerMinute=100000 QrCalling__RateLimits__ScansPerClient=100000
//   QrCalling__RateLimits__CallsPerClient=100000 QrCalling__RateLimits__CallsPerCode=100000
//   QrCalling__RateLimits__HubBurst=100000 QrCalling__RateLimits__HubPerSecond=100000
//   QrCalling__RateLimits__RequestsPerParticipant=100000 QrCalling__RateLimits__FailedAttemptsPerClient=100000
// Only loopback or the project's own test hosts may be targeted.

if (args.Length == 0 || !Uri.TryCreate(args[0], UriKind.Absolute, out var baseUri))
{
    Console.Error.WriteLine("usage: QrCalling.LoadTest <baseUrl, e.g. http://127.0.0.1:5080> [--owners N] [--signals M]");
    return 2;
}
if (!baseUri.IsLoopback)
{
    Console.Error.WriteLine("The load tool only targets loopback hosts (127.0.0.0/8, ::1, localhost).");
    return 2;
}

int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var value) && value > 0 ? value : fallback;
}

var callerArg = Array.IndexOf(args, "--caller-url");
var callerUri = baseUri;
if (callerArg >= 0 && (callerArg + 1 >= args.Length || !Uri.TryCreate(args[callerArg + 1], UriKind.Absolute, out callerUri) || !callerUri.IsLoopback))
{
    Console.Error.WriteLine("--caller-url takes a loopback URL, e.g. http://127.0.0.1:5081");
    return 2;
}

var owners = Option("--owners", 50);
var signals = Option("--signals", 200);
using var overall = new CancellationTokenSource(TimeSpan.FromMinutes(5));

Console.WriteLine($"QrCalling load: owners on {baseUri}, callers on {callerUri} · {owners} owners/calls · {signals} signals each way per call · {Environment.ProcessorCount} cores");
var total = Stopwatch.StartNew();
var qr = await QrCallingLoad.RunAsync(baseUri, callerUri, owners, signals, overall.Token);
var baseline = await EchoRelayBaseline.RunAsync(owners, signals, overall.Token);

Console.WriteLine();
Console.WriteLine($"call set-ups:  {qr.SetupsPerSecond,10:F1} /s   set-up latency p50 {qr.Setup.P50,8:F1} ms  p99 {qr.Setup.P99,8:F1} ms   ({qr.Calls} calls, {qr.Failures} failed)");
Console.WriteLine($"relay QrCalling:{qr.RelayPerSecond,9:F0} msg/s  latency p50 {qr.Relay.P50,8:F2} ms  p99 {qr.Relay.P99,8:F2} ms   ({qr.Relay.Count} messages)");
Console.WriteLine($"relay baseline: {baseline.RelayPerSecond,9:F0} msg/s  latency p50 {baseline.Relay.P50,8:F2} ms  p99 {baseline.Relay.P99,8:F2} ms   ({baseline.Relay.Count} messages, bare Kestrel WebSocket relay)");
Console.WriteLine($"ratio QrCalling/baseline: throughput {qr.RelayPerSecond / baseline.RelayPerSecond:P1}, p50 latency x{qr.Relay.P50 / baseline.Relay.P50:F1}, p99 latency x{qr.Relay.P99 / baseline.Relay.P99:F1}");
Console.WriteLine($"total {total.Elapsed.TotalSeconds:F1} s");
return qr.Failures == 0 ? 0 : 1;
