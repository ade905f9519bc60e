using Microsoft.Extensions.Logging;
using QrCalling.Codes;
using QrCalling.Storage;

namespace QrCalling.Calls.Internal;

/// <summary>Time-driven and code-driven endings: the sweep (rang out, too long, dropped, retention) and ending the open
/// calls of a revoked code.</summary>
internal sealed class CallSweeper(IStorage storage, CallCommands commands, QrCallingOptions options, CallLimits limits,
    TimeProvider time, ILogger logger) : ICodeCallEnder
{
    /// <summary>One sweep: ends calls that rang out (missed), ran past their maximum duration (timeout) or were dropped,
    /// and deletes what is past retention (codes, calls, mailboxes) in bounded batches. Returns how many calls it ended.</summary>
    public async ValueTask<int> SweepAsync(CancellationToken cancellationToken)
    {
        var batch = options.SweepBatchSize;
        var now = time.GetUtcNow();
        var ended = 0;
        var open = new List<CallRecord>();
        await foreach (var call in storage.Calls.ListOpenAsync(batch, cancellationToken).ConfigureAwait(false))
        {
            open.Add(call);
        }
        foreach (var call in open)
        {
            var tick = new CallCommand.Tick();
            var transition = CallStateMachine.Apply(CallSnapshot.Of(call), tick, now, limits);
            if (transition.State.Call.State == CallState.Ended
                && await commands.CommitAsync(call, transition, tick, now, cancellationToken).ConfigureAwait(false) is not null)
            {
                ended++;
            }
        }

        if (commands.Delegates is { } delegates)
        {
            // Calls still ringing whose delegates' delay came ring those delegates too (once, whichever instance sweeps).
            await delegates.RingDueAsync(open, commands.DeliverAsync, CallService.IncomingCall, cancellationToken).ConfigureAwait(false);
            await storage.Delegates.DeleteExpiredInvitationsAsync(now, batch, cancellationToken).ConfigureAwait(false);
            await storage.Delegates.DeleteExpiredRingsAsync(now, batch, cancellationToken).ConfigureAwait(false);
        }
        var codes = await storage.Codes.DeleteStaleAsync(now - options.CodeRetention, batch, cancellationToken).ConfigureAwait(false);
        var mailbox = await storage.Mailbox.DeleteForCallsEndedBeforeAsync(now - options.MailboxRetention, batch, cancellationToken).ConfigureAwait(false);
        var calls = await storage.Calls.DeleteEndedBeforeAsync(now - options.CallRetention, batch, cancellationToken).ConfigureAwait(false);
        await storage.Devices.DeleteExpiredPairingsAsync(now, batch, cancellationToken).ConfigureAwait(false);
        await storage.Devices.DeleteExpiredPendingAsync(now - options.PendingDeviceLifetime, batch, cancellationToken).ConfigureAwait(false);
        await storage.Backups.DeleteExpiredAsync(now, batch, cancellationToken).ConfigureAwait(false);
        Log.CallSweepCompleted(logger, ended, codes, mailbox, calls);
        return ended;
    }

    /// <inheritdoc />
    public async ValueTask<int> EndCallsOfCodeAsync(string codeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(codeId);
        var batch = options.SweepBatchSize;
        var ended = 0;
        for (var round = 0; round < 100; round++)
        {
            var open = new List<CallRecord>();
            await foreach (var call in storage.Calls.ListOpenByCodeAsync(codeId, batch, cancellationToken).ConfigureAwait(false))
            {
                open.Add(call);
            }
            var endedThisRound = 0;
            foreach (var call in open)
            {
                var outcome = await commands.ExecuteAsync(call.CallId, new CallCommand.Revoke(), cancellationToken).ConfigureAwait(false);
                if (outcome.Error is null)
                {
                    endedThisRound++;
                }
            }
            ended += endedThisRound;
            if (open.Count < batch || endedThisRound == 0)
            {
                break;
            }
        }
        return ended;
    }
}
