namespace QrCalling.LoadTest;

/// <summary>--mode relay: N calls set up on the host, the offer/answer workload through it, then the same workload
/// through the bare Kestrel relay, a bare SignalR hub and the PeerJS server, and a table with the ratios.</summary>
internal static class RelayMode
{
    public static async Task<int> RunAsync(LoadOptions options, IReadOnlyList<int> hostPids, CancellationToken cancellationToken)
    {
        Console.WriteLine($"relay: {options.Owners} calls · {options.Signals} offers and {options.Signals} answers per call, ping-pong · {Message.Sdp.Length}-character SDPs · " +
            $"each server warmed up {options.WarmUp.TotalSeconds:F0} s first");
        var (qrCalling, failures) = await RunQrCallingAsync(options, hostPids, cancellationToken);
        var kestrel = await EchoRelayBaseline.RunAsync(options.Owners, options.Signals, options.WarmUp, cancellationToken);
        var bareHub = await BareHubBaseline.RunAsync(options.Owners, options.Signals, options.Hub, options.WarmUp, cancellationToken);
        var peerJs = await PeerJsBaseline.RunAsync(options.Owners, options.Signals, options.WarmUp, cancellationToken);

        Console.WriteLine();
        Console.WriteLine($"{"server",-30} {"msgs/s",9} {"p50 ms",8} {"p99 ms",8} {"CPU µs/msg",11} {"messages",9} {"failed",7}");
        foreach (var r in new[] { qrCalling, bareHub, kestrel, peerJs })
        {
            Console.WriteLine($"{r.Server,-30} {r.PerSecond,9:F0} {r.Latency.P50,8:F2} {r.Latency.P99,8:F2} {r.CpuMicrosecondsPerMessage,11:F1} " +
                $"{r.Latency.Count,9} {r.Failures,7}");
        }
        foreach (var baseline in new[] { peerJs, bareHub, kestrel })
        {
            Console.WriteLine($"QrCalling / {baseline.Server}: msgs/s x{qrCalling.PerSecond / baseline.PerSecond:F2}, " +
                $"p99 x{qrCalling.Latency.P99 / baseline.Latency.P99:F2}, CPU/msg x{qrCalling.CpuMicrosecondsPerMessage / baseline.CpuMicrosecondsPerMessage:F2}");
        }
        Console.WriteLine($"bare SignalR hub / PeerJS server: CPU/msg x{bareHub.CpuMicrosecondsPerMessage / peerJs.CpuMicrosecondsPerMessage:F2} (the framework's floor)");
        return failures + qrCalling.Failures + kestrel.Failures + bareHub.Failures + peerJs.Failures == 0 ? 0 : 1;
    }

    /// <summary>Owners, one call each, the workload, hang-ups; returns the relay result and the set-up and hang-up
    /// failures.</summary>
    private static async Task<(RelayResult Result, int Failures)> RunQrCallingAsync(LoadOptions options, IReadOnlyList<int> hostPids, CancellationToken cancellationToken)
    {
        await using var crowd = options.Crowd > 0 ? await IdleMode.Crowd.OpenAsync(options, options.Crowd, cancellationToken) : null;
        if (crowd is not null)
        {
            Console.WriteLine($"  QrCalling host: {options.Crowd} idle owner hub connections held open meanwhile (--crowd)");
        }
        using var client = new QrCallingClient(options.BaseUri, options.CallerUri, options.Hub);
        var owners = await client.CreateOwnersAsync(options.Owners, cancellationToken);
        try
        {
            var calls = await client.SetUpCallsAsync(owners, cancellationToken);
            var result = await OfferAnswerWorkload.RunAsync("QrCalling host", calls, options.Signals, hostPids, options.WarmUp, cancellationToken);
            var failures = owners.Length - calls.Count;
            await Task.WhenAll(calls.Select(async call =>
            {
                try
                {
                    await call.HangupAsync(QrCallingClient.StepTimeout, cancellationToken);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref failures);
                    Console.WriteLine($"  hang-up failure: {e.GetType().Name}: {e.Message}");
                }
                finally
                {
                    await call.DisposeAsync();
                }
            }));
            if (crowd is not null && crowd.Open < options.Crowd)
            {
                Console.WriteLine($"  crowd: {options.Crowd - crowd.Open} of {options.Crowd} idle connections closed during the run");
                failures += options.Crowd - crowd.Open;
            }
            return (result, failures);
        }
        finally
        {
            foreach (var owner in owners)
            {
                await owner.DisposeAsync();
            }
        }
    }
}
