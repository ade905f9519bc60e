using System.Collections.Concurrent;
using System.Diagnostics;

namespace QrCalling.LoadTest;

/// <summary>--mode sustained: N owners (own account, code and device each) loop full call set-ups for T seconds (after W seconds of the same, unmeasured): scan,
/// start, the caller connects, ring, accept, CallAccepted, offer, answer, the caller hangs up, CallEnded on both sides,
/// the caller disconnects. An event that does not come within 5 s is a lost event, any other error a failure.</summary>
internal static class SustainedMode
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(LoadOptions options, IReadOnlyList<int> hostPids, CancellationToken cancellationToken)
    {
        Console.WriteLine($"sustained: {options.Owners} owners looping call set-ups for {options.Seconds} s, after {options.WarmUp.TotalSeconds:F0} s of the same unmeasured");
        using var client = new QrCallingClient(options.BaseUri, options.CallerUri, options.Hub);
        var owners = await client.CreateOwnersAsync(options.Owners, cancellationToken);
        Round warmUp, measured;
        try
        {
            // The same loop, unmeasured, so that the host is measured in its steady state and not while .NET compiles and
            // tiers up its code (on two busy cores a cold host costs about twice the CPU per set-up of a warm one).
            warmUp = await LoopAsync(client, owners, options.WarmUp, hostPids, cancellationToken);
            Console.WriteLine($"  warm-up: {warmUp.Setups.Count} set-ups in {warmUp.Seconds:F1} s, {warmUp.Failures.Count} failures, {warmUp.Lost.Count} lost events");
            measured = await LoopAsync(client, owners, TimeSpan.FromSeconds(options.Seconds), hostPids, cancellationToken);
        }
        finally
        {
            foreach (var owner in owners)
            {
                await owner.DisposeAsync();
            }
        }
        var count = Math.Max(1, measured.Setups.Count);
        var latency = Percentiles.Of(measured.Setups);
        Console.WriteLine();
        Console.WriteLine($"set-ups:      {measured.Setups.Count / measured.Seconds,8:F1} /s   ({measured.Setups.Count} complete in {measured.Seconds:F1} s, each scan ... CallEnded)");
        Console.WriteLine($"set-up time:  p50 {latency.P50,8:F1} ms   p99 {latency.P99,8:F1} ms   (scan to the answer's arrival at the caller)");
        Console.WriteLine($"server CPU:   {measured.HostMicroseconds / count / 1000,8:F2} ms per set-up");
        // The tool shares the machine with the host (and its database): what each set-up costs the whole machine bounds
        // the rate any host could reach here.
        var machine = measured.MachineMicroseconds / count;
        Console.WriteLine($"machine CPU:  {machine / 1000,8:F2} ms per set-up, all processes ({measured.ToolMicroseconds / count / 1000:F2} ms of it this tool's); " +
            $"{Environment.ProcessorCount} cores at 100% would give {Environment.ProcessorCount * 1e6 / machine:F0} set-ups/s");
        var failures = warmUp.Failures.Concat(measured.Failures).ToList();
        var lost = warmUp.Lost.Concat(measured.Lost).ToList();
        Console.WriteLine($"failures:     {failures.Count}   lost events: {lost.Count}   (warm-up included)");
        foreach (var problem in failures.Concat(lost).Distinct().Take(5))
        {
            Console.WriteLine($"  {problem}");
        }
        return failures.Count == 0 && lost.Count == 0 ? 0 : 1;
    }

    /// <summary>One round: every owner loops set-ups until <paramref name="duration"/> has passed.</summary>
    private static async Task<Round> LoopAsync(QrCallingClient client, IReadOnlyList<Owner> owners, TimeSpan duration, IReadOnlyList<int> hostPids,
        CancellationToken cancellationToken)
    {
        var round = new Round();
        var host = CpuMeter.Start(hostPids);
        var tool = CpuMeter.Start([Environment.ProcessId]);
        var machine = MachineCpu.Busy();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(owners.Select(async owner =>
        {
            while (clock.Elapsed < duration)
            {
                try
                {
                    await using var call = await client.SetUpCallAsync(owner, EventTimeout, cancellationToken);
                    await call.HangupAsync(EventTimeout, cancellationToken);
                    round.Setups.Add(call.SetupMilliseconds);
                }
                catch (LostEventException e)
                {
                    round.Lost.Add(e.Message);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    round.Failures.Add(e.GetType().Name + ": " + e.Message);
                }
            }
        }));
        round.Seconds = clock.Elapsed.TotalSeconds;
        round.HostMicroseconds = host.MicrosecondsPer(1);
        round.ToolMicroseconds = tool.MicrosecondsPer(1);
        round.MachineMicroseconds = MachineCpu.Microseconds(MachineCpu.Busy() - machine);
        return round;
    }

    private sealed class Round
    {
        public ConcurrentBag<double> Setups { get; } = [];
        public ConcurrentBag<string> Failures { get; } = [];
        public ConcurrentBag<string> Lost { get; } = [];
        public double Seconds { get; set; }
        public double HostMicroseconds { get; set; }
        public double ToolMicroseconds { get; set; }
        public double MachineMicroseconds { get; set; }
    }
}
