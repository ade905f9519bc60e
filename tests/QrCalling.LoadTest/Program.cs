using QrCalling.LoadTest;

// QrCalling load tool: drives a RUNNING host with real SignalR .NET clients and compares it with baselines started by
// the tool itself. Not run by the test command. Usage:
//   dotnet run -c Release --project tests/QrCalling.LoadTest -- <baseUrl> [--mode relay|longcall|sustained|idle] [--host-pid PID] ...
//
//   --warmup-seconds 15 (relay and sustained): each server first runs the workload unmeasured for this long (the relay
//       at least one pass of 100 offers and answers per call), so that it is measured in its steady state. On two busy
//       cores .NET's tiered compilation takes tens of seconds to settle, and a cold .NET server costs about twice the CPU
//       per message or set-up of a warm one; node (PeerJS) settles within a second. Every server gets the same warm-up.
//
//   --mode relay (default) [--owners 50] [--signals 200] [--caller-url URL] [--protocol json|messagepack] [--ack on|off]
//       [--signal invoke|send] [--crowd N]
//       N owners, one call each (scan, start, ring, accept, offer, answer), then per call a ping-pong of offers and answers
//       ({type, sdp} with a ~2 KB SDP): the caller offers, the owner answers when the offer arrives, M times each way,
//       all calls at once. Reports msgs/s, p50/p99 send-to-arrival latency and server CPU µs per message, then runs the
//       same workload through (a) a bare Kestrel WebSocket relay, run as a child process of this tool so that its CPU
//       is measured apart from the tool's, (b) a bare SignalR hub with the same Signal method and nothing else (the
//       framework's floor; also a child process), and (c) a PeerJS server: npm `peer@1.0.2` installed into a temporary
//       folder and started with node; and prints a table with the ratios against each. --crowd N first opens N idle owner
//       hub connections on the QrCalling host (100 devices per owner account, pinged every 15 s) and holds them open
//       while its calls relay: a host with many owners online, of whom few are in a call.
//       With --caller-url the callers use a second host instance (sharing storage and the Redis backplane) while the
//       owners stay on <baseUrl>, so every ring, signal and hangup crosses instances; the CPU is then both instances'.
//   --mode longcall [--duration-seconds 60] [--in-flight 16] [--protocol ...] [--ack ...]
//       ONE call, both sides sending signals as fast as they can (N invocations in flight per side, acknowledging every
//       16 received, as the web app does) for S seconds; counts sent,
//       received, refused (HubException) and checks every seq arrives exactly once and in order. Exit code 1 if any
//       was lost, duplicated, reordered or refused.
//   --mode sustained [--owners 20] [--seconds 20] [--caller-url URL] [--protocol ...] [--ack ...]
//       N owners each loop full set-ups for T seconds: scan, start, caller connects, IncomingCall, Accept,
//       CallAccepted, offer, answer, the caller hangs up, CallEnded on both sides. Reports set-ups/s, p50/p99 set-up
//       time, server CPU per set-up, failures and lost events (an event not there within 5 s; the warm-up's count too),
//       and the whole machine's busy CPU per set-up from /proc/stat (host, this tool, a database), with this tool's share
//       and the rate the machine's cores would allow at 100%. Exit code 1 on any failure or lost event.
//   --mode idle [--connections 10000]
//       Opens N owner hub connections (raw WebSockets with SignalR's JSON handshake and pings, 100 devices per owner
//       account) and reports the host's VmRSS growth per connection once it settled, against the same number of
//       connections to the bare SignalR hub (handshake and pings) and of bare Kestrel WebSockets. Needs an open-files limit above N in both the host's and this tool's shells:
//       `ulimit -n 65536` before starting each (above the hard limit only as root, where the container allows it).
//
//   --signal send makes the relay's signals fire-and-forget hub sends (no completion message per signal comes back,
//   as with PeerJS, which acknowledges nothing); invoke (default) waits for each signal's seq.
//   --protocol messagepack uses SignalR's MessagePack hub protocol (the host must offer it). --ack on (default) sends
//   the hub method Ack(callId, seq) every 16 received signals, fire and forget (a host without it ignores the call).
//   Server CPU and memory come from /proc/PID/stat (utime + stime, in `getconf CLK_TCK` ticks, 100 if getconf fails)
//   and /proc/PID/status (VmRSS) of each server process. The host's process is --host-pid, or else the process that
//   listens on <baseUrl>'s port (found through /proc/net/tcp and tcp6 and /proc/*/fd).
//
// The host must allow the load's request rates from one address, e.g. the sample host started with the settings
// below (Logging__LogLevel__Default=Warning keeps even the sample's own Information lines out of the server CPU figure)
//   Logging__LogLevel__Default=Warning
//   QrCalling__Sample__AccountPermitsPerMinute=100000 QrCalling__RateLimits__ScansPerClient=100000
//   QrCalling__RateLimits__CallsPerClient=100000 QrCalling__RateLimits__CallsPerCode=100000
//   QrCalling__RateLimits__HubBurst=100000 QrCalling__RateLimits__HubPerSecond=100000
//   QrCalling__RateLimits__RequestsPerParticipant=100000 QrCalling__RateLimits__FailedAttemptsPerClient=100000
//   QrCalling__RateLimits__OwnerRequestsPerOwner=100000 QrCalling__RateLimits__HubConnectionsPerClient=1000000
//   QrCalling__RateLimits__HubConnectionsPerOwner=100000
//   dotnet run -c Release --project samples/QrCalling.SampleHost -- --urls http://127.0.0.1:5090
// Only loopback hosts may be targeted; the baselines listen on 127.0.0.1 only.

if (args is [EchoRelayBaseline.ServeArgument])
{
    await EchoRelayBaseline.ServeAsync();
    return 0;
}
if (args is [BareHubBaseline.ServeArgument])
{
    await BareHubBaseline.ServeAsync();
    return 0;
}

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (FormatException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

var hostPid = options.HostPid ?? ProcFs.ListenerOf(options.BaseUri.Port);
var callerPid = options.CallerUri.Port == options.BaseUri.Port ? hostPid : ProcFs.ListenerOf(options.CallerUri.Port);
if (hostPid is not { } pid || callerPid is not { } callerHostPid)
{
    var port = hostPid is null ? options.BaseUri.Port : options.CallerUri.Port;
    Console.Error.WriteLine($"No process listens on port {port} here; start the host first, or pass --host-pid PID.");
    return 2;
}
int[] hostPids = callerHostPid == pid ? [pid] : [pid, callerHostPid];

// The relay warms up four servers in turn; the sustained mode once.
using var overall = new CancellationTokenSource(TimeSpan.FromSeconds(300 + options.Seconds + options.DurationSeconds) + 4 * options.WarmUp);
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // unwind, so that the baseline servers are stopped
    overall.Cancel();
};
ServerProcess.ServerGc = ProcFs.UsesServerGc(pid);
Console.WriteLine($"QrCalling load against {options.BaseUri} (host pid {string.Join(", ", hostPids)}) · protocol {(options.Hub.MessagePack ? "messagepack" : "json")} · " +
    $"ack {(options.Hub.Ack ? "on" : "off")} · {Environment.ProcessorCount} cores · CLK_TCK {ProcFs.ClockTicksPerSecond} · " +
    $"{(ServerProcess.ServerGc ? "Server" : "Workstation")} GC (the .NET baselines too)");
var total = System.Diagnostics.Stopwatch.StartNew();
try
{
    var exitCode = options.Mode switch
    {
        "longcall" => await LongCallMode.RunAsync(options, hostPids, overall.Token),
        "sustained" => await SustainedMode.RunAsync(options, hostPids, overall.Token),
        "idle" => await IdleMode.RunAsync(options, pid, overall.Token),
        _ => await RelayMode.RunAsync(options, hostPids, overall.Token),
    };
    Console.WriteLine($"total {total.Elapsed.TotalSeconds:F1} s");
    return exitCode;
}
catch (Exception e)
{
    Console.Error.WriteLine(overall.IsCancellationRequested
        ? $"Stopped after {total.Elapsed.TotalSeconds:F0} s (interrupted, or past the overall time limit)."
        : $"The load failed: {e.GetType().Name}: {e.Message}");
    return 1;
}
