using System.Collections.Concurrent;
using System.Diagnostics;

namespace QrCalling.LoadTest;

/// <summary>The two ends of one call on some relay server: side 0 the caller, side 1 the owner.</summary>
internal interface IRelayCall
{
    /// <summary>Sends an offer or answer (<c>{type, sdp}</c> with <see cref="Message.Sdp"/>) from a side to the other;
    /// completes when the server took it (a hub Signal: when its seq came back).</summary>
    Task SendAsync(int side, string type, CancellationToken cancellationToken);

    /// <summary>Waits for the next message at a side, checks it is of <paramref name="type"/>, and returns the Stopwatch
    /// timestamp of its arrival.</summary>
    Task<long> ReceiveAsync(int side, string type, CancellationToken cancellationToken);
}

/// <summary>The relay workload run against QrCalling and each baseline: per call, the caller sends an offer, the owner
/// answers when it arrives, the caller offers again when the answer arrives, and so on, <c>signals</c> times each way;
/// all calls at once. Measures throughput, send-to-arrival latency, and the server processes' CPU per message.</summary>
internal static class OfferAnswerWorkload
{
    /// <summary>Offers and answers per call in one unmeasured warm-up pass (10,000 messages for 50 calls).</summary>
    private const int WarmUpSignals = 100;

    /// <summary>Runs the workload unmeasured, pass after pass, for <paramref name="warmUp"/> (at least one pass), then
    /// measured once. The warm-up is what lets each server be measured in its steady state rather than while it compiles
    /// and tiers up its message path: on two busy cores .NET's tiered compilation (tier 0, instrumented, then optimized
    /// code) takes tens of seconds to settle, and a cold .NET server costs about twice the CPU per message of a warm one;
    /// V8 (PeerJS) settles in about a second. Every server gets the same warm-up.</summary>
    public static async Task<RelayResult> RunAsync(string server, IReadOnlyList<IRelayCall> calls, int signals, IReadOnlyList<int> serverPids,
        TimeSpan warmUp, CancellationToken cancellationToken)
    {
        var warming = Stopwatch.StartNew();
        do
        {
            await Task.WhenAll(calls.Select(call => PingPongAsync(call, WarmUpSignals, [], cancellationToken)));
        }
        while (warming.Elapsed < warmUp);
        var latencies = new ConcurrentBag<double>();
        var failures = new ConcurrentBag<string>();
        var cpu = CpuMeter.Start(serverPids);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(calls.Select(async call =>
        {
            try
            {
                await PingPongAsync(call, signals, latencies, cancellationToken);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                failures.Add(e.GetType().Name + ": " + e.Message);
            }
        }));
        var seconds = clock.Elapsed.TotalSeconds;
        var result = new RelayResult(server, seconds, Percentiles.Of(latencies), cpu.MicrosecondsPer(latencies.Count), failures.Count);
        Console.WriteLine($"  {server}: relayed {latencies.Count} offers and answers in {seconds:F2} s");
        foreach (var failure in failures.Distinct().Take(5))
        {
            Console.WriteLine($"  {server} failure: {failure}");
        }
        return result;
    }

    private static async Task PingPongAsync(IRelayCall call, int signals, ConcurrentBag<double> latencies, CancellationToken cancellationToken)
    {
        Task[] sends = [Task.CompletedTask, Task.CompletedTask];
        for (var i = 0; i < 2 * signals; i++)
        {
            var (from, type) = i % 2 == 0 ? (0, "offer") : (1, "answer");
            await sends[from]; // a side sends one message at a time, as a client awaiting each hub Signal does
            var sent = Stopwatch.GetTimestamp();
            sends[from] = call.SendAsync(from, type, cancellationToken);
            var arrival = call.ReceiveAsync(1 - from, type, cancellationToken);
            if (await Task.WhenAny(sends[from], arrival) == sends[from])
            {
                await sends[from]; // a refused send fails the call now rather than when the arrival times out
            }
            latencies.Add(Message.Milliseconds(sent, await arrival));
        }
        await Task.WhenAll(sends);
    }
}
