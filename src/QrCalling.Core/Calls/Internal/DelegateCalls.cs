using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using QrCalling.Diagnostics;
using QrCalling.Storage;
using QrCalling.Transport;

namespace QrCalling.Calls.Internal;

/// <summary>Delegates in calls. A delegate's device takes part in a call as a stand-in device of the call's owner, with
/// the device id <c>{delegateId}~{deviceId}</c>, so the state machine and the stores need nothing new: first accept wins
/// across the owner's and the delegates' devices. Deliveries to such a device go to the delegate's real device, and the
/// ring-stop events the owner's devices get (<c>CallAnsweredElsewhere</c>, <c>CallEnded</c> while ringing) also go to
/// every delegate rung for the call (the ring marks in <see cref="IDelegateStore"/>).</summary>
internal sealed class DelegateCalls(IStorage storage, TimeProvider time, ILogger logger, QrCallingMetrics metrics)
{
    /// <summary>Separates the delegate id from the device id in a stand-in device id (never part of either).</summary>
    public const char Separator = '~';
    private const int MaxCached = 10_000;
    private readonly ConcurrentDictionary<string, string> _accounts = new(StringComparer.Ordinal); // delegate id -> account

    public static string StandInDeviceId(string delegateId, string deviceId) => delegateId + Separator + deviceId;

    public static bool TryParse(string? deviceId, out string delegateId, out string realDeviceId)
    {
        var at = deviceId?.IndexOf(Separator, StringComparison.Ordinal) ?? -1;
        (delegateId, realDeviceId) = at > 0 ? (deviceId![..at], deviceId[(at + 1)..]) : ("", "");
        return at > 0;
    }

    /// <summary>The actor a delegate's device acts as in a call of another owner: a stand-in device of the owner, when
    /// the device's account was rung for the call as a delegate and still is one. Null otherwise.</summary>
    public async ValueTask<CallActor?> StandInAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        if (actor.IsCaller || actor.OwnerId is not { } account || actor.DeviceId is not { } deviceId || !QrCallingIds.IsWellFormed(callId)
            || deviceId.Contains(Separator, StringComparison.Ordinal))
        {
            return null;
        }
        var call = await storage.Calls.GetAsync(callId, cancellationToken).ConfigureAwait(false);
        if (call is null || call.OwnerId == account)
        {
            return null;
        }
        var rings = await storage.Delegates.ListRungAsync(callId, cancellationToken).ConfigureAwait(false);
        if (rings.FirstOrDefault(r => r.DelegateOwnerId == account) is not { } ring
            || await storage.Delegates.GetAsync(ring.DelegateId, cancellationToken).ConfigureAwait(false) is null)
        {
            return null; // never rung for this call, or removed since
        }
        Remember(ring.DelegateId, account);
        return CallActor.OwnerDevice(call.OwnerId, StandInDeviceId(ring.DelegateId, deviceId));
    }

    /// <summary>Rings the delegates whose delay has come for the calls still ringing among <paramref name="open"/>: each
    /// delegate once per call across host instances (the atomic ring mark), and only while the call still rings after
    /// the mark is set. Returns how many delegates it rang.</summary>
    public async ValueTask<int> RingDueAsync(IReadOnlyList<CallRecord> open, Func<Delivery, ValueTask> deliver, Func<CallRecord, ServerEvent> incomingCall,
        CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var rung = 0;
        foreach (var call in open)
        {
            if (call.State != CallState.Ringing || call.RingExpiresAt <= now)
            {
                continue;
            }
            var delegates = await storage.Delegates.ListByCodeAsync(call.CodeId, cancellationToken).ConfigureAwait(false);
            foreach (var due in delegates.Where(d => d.OwnerId == call.OwnerId && call.CreatedAt + d.RingAfter <= now))
            {
                if (!await storage.Delegates.TryMarkRungAsync(new DelegateRing(call.CallId, due.DelegateId, due.DelegateOwnerId), call.ExpiresAt, cancellationToken)
                    .ConfigureAwait(false))
                {
                    continue; // rung before, here or by another instance
                }
                // Answered meanwhile: its accept either saw this mark (the call's DelegatesRung, set with the mark, and
                // tells the delegate) or came before the mark, and then this read sees the call no longer ringing.
                if (await storage.Calls.GetAsync(call.CallId, cancellationToken).ConfigureAwait(false) is not { State: CallState.Ringing } fresh)
                {
                    continue;
                }
                Remember(due.DelegateId, due.DelegateOwnerId);
                await deliver(new Delivery(Recipient.Owner(due.DelegateOwnerId), incomingCall(fresh))).ConfigureAwait(false);
                metrics.DelegatesRung.Add(1);
                QrCalling.Delegates.Log.DelegateRung(logger, call.CallId, due.DelegateId);
                rung++;
            }
        }
        return rung;
    }

    /// <summary>The calls still ringing that rang <paramref name="account"/> as a delegate (its ring mark is set and it is
    /// still a delegate of the call's code), so a device of that account that comes online rings for them too, as an
    /// owner's own devices do. An account that answers for nobody costs one read.</summary>
    public async ValueTask<IReadOnlyList<CallRecord>> RingingForDelegateAsync(string account, int lookup, CancellationToken cancellationToken)
    {
        var delegations = await storage.Delegates.ListByDelegateAsync(account, cancellationToken).ConfigureAwait(false);
        if (delegations.Count == 0)
        {
            return [];
        }
        var now = time.GetUtcNow();
        var ringing = new List<CallRecord>();
        foreach (var owner in delegations.GroupBy(d => d.OwnerId, StringComparer.Ordinal))
        {
            var byCode = owner.ToDictionary(d => d.CodeId, d => d.DelegateId, StringComparer.Ordinal);
            await foreach (var call in storage.Calls.ListByOwnerAsync(owner.Key, lookup, null, cancellationToken).ConfigureAwait(false))
            {
                if (call.State != CallState.Ringing || call.RingExpiresAt <= now || !call.DelegatesRung || !byCode.TryGetValue(call.CodeId, out var delegateId))
                {
                    continue;
                }
                var rings = await storage.Delegates.ListRungAsync(call.CallId, cancellationToken).ConfigureAwait(false);
                if (rings.Any(r => r.DelegateId == delegateId && r.DelegateOwnerId == account))
                {
                    Remember(delegateId, account);
                    ringing.Add(call);
                }
            }
        }
        return ringing;
    }

    /// <summary>Where a delivery really goes: a stand-in device's events to the delegate's device; the owner's ring-stop
    /// events also to the delegates rung for the call. Everything else unchanged, without a store read.</summary>
    /// <param name="delivery">The delivery.</param>
    /// <param name="stored">The call as the store's accept or end that caused the delivery returned it, or null when
    /// not known. With <see cref="CallRecord.DelegatesRung"/> false, the ring marks are not read: a ring mark sets that
    /// flag in the same atomic step as the mark, so a mark made after this accept or end was made on a call no longer
    /// ringing, and the sweep that made it reads the call again afterwards and does not ring the delegate.</param>
    public async ValueTask<IReadOnlyList<Delivery>> RouteAsync(Delivery delivery, CallRecord? stored)
    {
        var to = delivery.To;
        if (to.Kind == RecipientKind.Device && TryParse(to.DeviceId, out var delegateId, out var realDevice))
        {
            return await AccountOfAsync(delegateId, delivery.Event.CallId).ConfigureAwait(false) is { } account
                ? [delivery with { To = Recipient.Device(account, realDevice) }]
                : [];
        }
        if (to.Kind is not (RecipientKind.Owner or RecipientKind.OwnerExcept) || delivery.Event is not (CallEndedEvent or CallAnsweredElsewhereEvent)
            || stored is { DelegatesRung: false })
        {
            return [delivery];
        }
        var rings = await storage.Delegates.ListRungAsync(delivery.Event.CallId, CancellationToken.None).ConfigureAwait(false);
        if (rings.Count == 0)
        {
            return [delivery];
        }
        var routed = new List<Delivery>(rings.Count + 1) { delivery };
        var winner = to.Kind == RecipientKind.OwnerExcept && TryParse(to.DeviceId, out var winnerDelegate, out var winnerDevice) ? (winnerDelegate, winnerDevice) : default;
        foreach (var ring in rings)
        {
            routed.Add(delivery with
            {
                To = ring.DelegateId == winner.winnerDelegate ? Recipient.OwnerExcept(ring.DelegateOwnerId, winner.winnerDevice) : Recipient.Owner(ring.DelegateOwnerId),
            });
        }
        return routed;
    }

    private async ValueTask<string?> AccountOfAsync(string delegateId, string callId)
    {
        if (_accounts.TryGetValue(delegateId, out var known))
        {
            return known;
        }
        var ring = (await storage.Delegates.ListRungAsync(callId, CancellationToken.None).ConfigureAwait(false)).FirstOrDefault(r => r.DelegateId == delegateId);
        if (ring is not null)
        {
            Remember(delegateId, ring.DelegateOwnerId);
        }
        return ring?.DelegateOwnerId;
    }

    private void Remember(string delegateId, string account)
    {
        if (_accounts.Count >= MaxCached)
        {
            _accounts.Clear();
        }
        _accounts[delegateId] = account;
    }
}
