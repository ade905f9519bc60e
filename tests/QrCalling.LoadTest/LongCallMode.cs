using System.Diagnostics;
using Microsoft.AspNetCore.SignalR;

namespace QrCalling.LoadTest;

/// <summary>--mode longcall: ONE call, both sides sending offers (caller) and answers (owner) as fast as they can, up to
/// --in-flight Signal invocations in flight per side (16 by default), for S seconds. Every seq a sender got back must arrive
/// exactly once, in order, at the other side; refusals (HubException, e.g. <c>too_large</c> when the mailbox window is
/// full) are counted.</summary>
internal static class LongCallMode
{
    public static async Task<int> RunAsync(LoadOptions options, IReadOnlyList<int> hostPids, CancellationToken cancellationToken)
    {
        Console.WriteLine($"longcall: one call, both sides at full speed ({options.InFlight} in flight each, ack every {HubPeer.AckEvery}) for {options.DurationSeconds} s");
        using var client = new QrCallingClient(options.BaseUri, options.CallerUri, options.Hub);
        await using var owner = await client.CreateOwnerAsync(0, cancellationToken);
        await using var call = await client.SetUpCallAsync(owner, QrCallingClient.StepTimeout, cancellationToken);
        Side[] sides = [new(call.Caller, "offer", options.InFlight), new(owner.Hub, "answer", options.InFlight)];

        using var receiving = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var receivers = sides.Select(s => s.ReceiveAsync(call.CallId, receiving.Token)).ToArray();
        var cpu = CpuMeter.Start(hostPids);
        var start = Stopwatch.GetTimestamp();
        using (var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            sending.CancelAfter(TimeSpan.FromSeconds(options.DurationSeconds));
            await Task.WhenAll(sides.Select(s => s.SendAsync(call.CallId, sending.Token)));
        }
        // Let the last signals arrive: stop once each side has them all, or nothing came for 5 s.
        var quiet = Stopwatch.StartNew();
        var arrived = 0;
        while (quiet.Elapsed < TimeSpan.FromSeconds(5) && (sides[0].Received < sides[1].Sent || sides[1].Received < sides[0].Sent))
        {
            await Task.Delay(50, cancellationToken);
            if (sides[0].Received + sides[1].Received != arrived)
            {
                arrived = sides[0].Received + sides[1].Received;
                quiet.Restart();
            }
        }
        await receiving.CancelAsync();
        await Task.WhenAll(receivers);
        var delivered = sides[0].Received + sides[1].Received;
        // Up to the last arrival: once the host refuses everything (a full mailbox), the rest of the time relays nothing.
        var relaySeconds = delivered == 0 ? 0 : Stopwatch.GetElapsedTime(start, sides.Max(s => s.LastArrival)).TotalSeconds;
        var cpuPerMessage = cpu.MicrosecondsPer(Math.Max(1, delivered));
        await call.HangupAsync(QrCallingClient.StepTimeout, cancellationToken);

        Console.WriteLine();
        Console.WriteLine($"{"side",-7} {"sent",9} {"refused",8} {"failed",7} {"received",9} {"lost",6} {"dup",5} {"order",6}");
        for (var i = 0; i < 2; i++)
        {
            var (s, other) = (sides[i], sides[1 - i]);
            Console.WriteLine($"{(i == 0 ? "caller" : "owner"),-7} {s.Sent,9} {s.Refused,8} {s.Failed,7} {s.Received,9} {other.LostAt(s),6} {s.Duplicates,5} {s.OutOfOrder,6}");
        }
        Console.WriteLine($"relayed {(delivered == 0 ? 0 : delivered / relaySeconds):F0} msgs/s ({delivered} in the {relaySeconds:F1} s to the last arrival); " +
            $"server CPU {cpuPerMessage:F1} µs per relayed message over the whole run (refused calls included)");
        Console.WriteLine("(lost: sent by the other side, never received here; dup: received twice; order: below an earlier seq)");
        foreach (var problem in sides.SelectMany(s => s.Problems).Distinct().Take(5))
        {
            Console.WriteLine($"  {problem}");
        }
        var clean = sides.All(s => s.Refused == 0 && s.Failed == 0 && s.Duplicates == 0 && s.OutOfOrder == 0);
        return clean && sides[0].LostAt(sides[1]) + sides[1].LostAt(sides[0]) == 0 ? 0 : 1;
    }

    /// <summary>One side of the call: what it sent (the seqs the hub gave back) and what it received.</summary>
    private sealed class Side(HubPeer hub, string type, int inFlight)
    {
        private readonly HashSet<long> _sent = [];
        private readonly HashSet<long> _received = [];
        private readonly List<string> _problems = [];
        private int _refused;
        private int _failed;
        private int _receivedCount;

        public int Sent
        {
            get
            {
                lock (_sent)
                {
                    return _sent.Count;
                }
            }
        }

        public int Received => Volatile.Read(ref _receivedCount);

        public int Refused => _refused;

        public int Failed => _failed;

        public int Duplicates { get; private set; }

        public int OutOfOrder { get; private set; }

        /// <summary>Stopwatch timestamp of the last Signal received.</summary>
        public long LastArrival { get; private set; }

        public IReadOnlyList<string> Problems => _problems;

        /// <summary>Seqs this side sent that <paramref name="receiver"/> never got.</summary>
        public int LostAt(Side receiver) => _sent.Count(seq => !receiver._received.Contains(seq));

        public Task SendAsync(string callId, CancellationToken stop) => Task.WhenAll(Enumerable.Range(0, inFlight).Select(async _ =>
        {
            var data = Call.Description(type);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var seq = await hub.SignalAsync(callId, type, data, CancellationToken.None);
                    lock (_sent)
                    {
                        _sent.Add(seq);
                    }
                }
                catch (HubException e)
                {
                    Interlocked.Increment(ref _refused);
                    Note(e.Message);
                }
                catch (Exception e) when (e is InvalidOperationException or IOException)
                {
                    Interlocked.Increment(ref _failed);
                    Note(e.GetType().Name + ": " + e.Message);
                    return; // the connection is gone
                }
            }
        }));

        /// <summary>Reads this side's Signals until cancelled, checking each seq is new and above the previous one.</summary>
        public async Task ReceiveAsync(string callId, CancellationToken stop)
        {
            var last = 0L;
            try
            {
                while (true)
                {
                    var signal = await hub.NextAsync("Signal", callId, Timeout.InfiniteTimeSpan, stop);
                    var seq = signal.Number("seq");
                    LastArrival = signal.ReceivedAt;
                    if (!_received.Add(seq))
                    {
                        Duplicates++;
                    }
                    else if (seq < last)
                    {
                        OutOfOrder++;
                    }
                    last = Math.Max(last, seq);
                    Interlocked.Increment(ref _receivedCount);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Done.
            }
        }

        private void Note(string problem)
        {
            lock (_problems)
            {
                if (_problems.Count < 5)
                {
                    _problems.Add(problem);
                }
            }
        }
    }
}
