using System.Collections.Concurrent;
using System.Diagnostics;

namespace QrCalling.LoadTest;

/// <summary>--mode sustained: N owners (own account, code and device each) loop full call set-ups for T seconds: scan,
/// start, the caller connects, ring, accept, CallAccepted, offer, answer, the caller hangs up, CallEnded on both sides,
/// the caller disconnects. An event that does not come within 5 s is a lost event, any other error a failure.</summary>
internal static class SustainedMode
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(LoadOptions options, IReadOnlyList<int> hostPids, CancellationToken cancellationToken)
    {
        Console.WriteLine($"sustained: {options.Owners} owners looping call set-ups for {options.Seconds} s");
        using var client = new QrCallingClient(options.BaseUri, options.CallerUri, options.Hub);
        var owners = await client.CreateOwnersAsync(options.Owners, cancellationToken);
        var setups = new ConcurrentBag<double>();
        var failures = new ConcurrentBag<string>();
        var lost = new ConcurrentBag<string>();
        var cpu = CpuMeter.Start(hostPids);
        var clock = Stopwatch.StartNew();
        try
        {
            await Task.WhenAll(owners.Select(async owner =>
            {
                while (clock.Elapsed.TotalSeconds < options.Seconds)
                {
                    try
                    {
                        await using var call = await client.SetUpCallAsync(owner, EventTimeout, cancellationToken);
                        await call.HangupAsync(EventTimeout, cancellationToken);
                        setups.Add(call.SetupMilliseconds);
                    }
                    catch (LostEventException e)
                    {
                        lost.Add(e.Message);
                    }
                    catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                    {
                        failures.Add(e.GetType().Name + ": " + e.Message);
                    }
                }
            }));
        }
        finally
        {
            foreach (var owner in owners)
            {
                await owner.DisposeAsync();
            }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var latency = Percentiles.Of(setups);
        Console.WriteLine();
        Console.WriteLine($"set-ups:      {setups.Count / seconds,8:F1} /s   ({setups.Count} complete in {seconds:F1} s, each scan ... CallEnded)");
        Console.WriteLine($"set-up time:  p50 {latency.P50,8:F1} ms   p99 {latency.P99,8:F1} ms   (scan to the answer's arrival at the caller)");
        Console.WriteLine($"server CPU:   {cpu.MicrosecondsPer(Math.Max(1, setups.Count)) / 1000,8:F2} ms per set-up");
        Console.WriteLine($"failures:     {failures.Count}   lost events: {lost.Count}");
        foreach (var problem in failures.Concat(lost).Distinct().Take(5))
        {
            Console.WriteLine($"  {problem}");
        }
        return failures.IsEmpty && lost.IsEmpty ? 0 : 1;
    }
}
