using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using QrCalling.Calls;
using QrCalling.Hosting.Http;
using QrCalling.Hosting.Internal;
using QrCalling.Transport;

namespace QrCalling.Hosting.Hubs;

/// <summary>The hub of spec section 3. Owner devices connect with the host's authentication and an optional
/// <c>?deviceId=</c> (stable across reconnects; default the connection id; a server-issued <c>qd_</c> id needs its
/// <c>deviceCredential</c>); callers connect with <c>?access_token=&lt;callToken&gt;</c> (or <c>Authorization:
/// Bearer</c>). Either may connect with a single-use hub ticket (<c>qht_</c>) instead of its credential; a connection
/// closes when the credential behind it expires. Errors are HubExceptions whose message starts with the stable code.</summary>
internal sealed class CallHub(CallService calls, ParticipantResolver participants, ConnectionTracker tracker, PresenceCounter presence,
    CallerAuthenticator callers, HubRateLimiter limiter, ConnectionCaps caps, ClientKeyHasher clientKeys, HubTickets tickets,
    QrCallingConnections connections, HostingMetrics metrics, QrCalling.Devices.DeviceService devices, TimeProvider time, ILogger<CallHub> logger) : Hub
{
    /// <summary>The key of the connection's <see cref="CallConnectionState"/> in <c>Context.Items</c> (its only entry there:
    /// each entry costs the idle connection a node of a concurrent dictionary).</summary>
    internal const string StateKey = "qrcalling.connection";

    public override async Task OnConnectedAsync()
    {
        try
        {
            await ConnectAsync();
            State().Gauge = true;
            metrics.HubConnected();
        }
        catch
        {
            ReleaseSlot(); // SignalR runs no OnDisconnectedAsync for a connection whose OnConnectedAsync failed
            throw;
        }
    }

    private async Task ConnectAsync()
    {
        var http = Context.GetHttpContext();
        // A hub ticket (POST /hub-tickets) in place of the credential it was traded for: single use, 30 s.
        if (http is not null && ParticipantResolver.AccessTokenOf(http.Request) is { } bearer && bearer.StartsWith(HubTickets.Prefix, StringComparison.Ordinal))
        {
            var admission = tickets.Redeem(bearer) ?? throw Refuse(QrCallingErrorCodes.Unauthorized, "The hub ticket is unknown, expired or already used.");
            if (admission.IsRoom)
            {
                throw Refuse(QrCallingErrorCodes.Unauthorized, "A room participant's hub ticket is for /hubs/rooms.");
            }
            if (admission.IsOwner)
            {
                await ConnectOwnerAsync(admission.Id, http);
            }
            else
            {
                await ConnectCallerAsync(CallActor.Caller(admission.Id));
            }
            CloseAt(admission.CredentialExpiresAt);
            return;
        }
        // A device paired by QR: its own token (POST /devices/pair) admits it as one of its owner's devices.
        if (http is not null && ParticipantResolver.AccessTokenOf(http.Request) is { } deviceToken
            && deviceToken.StartsWith(QrCalling.Devices.DeviceService.TokenPrefix, StringComparison.Ordinal))
        {
            var device = await devices.FindByTokenAsync(deviceToken, Context.ConnectionAborted)
                ?? throw Refuse(QrCallingErrorCodes.Unauthorized, "The device token is unknown or was revoked.");
            if (!device.Confirmed)
            {
                throw Refuse(QrCallingErrorCodes.DevicePending, "Confirm this device on a signed-in device first (compare the check code).");
            }
            State().PairedToken = deviceToken;
            await devices.TouchAsync(device, Context.ConnectionAborted); // before the connection is tracked: a failure leaves nothing
            await ConnectOwnerAsync(device.OwnerId, http, device.DeviceId);
            return;
        }
        var token = http is null ? null : ParticipantResolver.CallTokenOf(http.Request, allowQuery: true);
        if (token is not null)
        {
            // A recently valid token is always admitted; any other spends a failed-attempt permit of the client before
            // it is looked up, and is refused without a look-up once they are spent.
            var (caller, refused) = await callers.AuthenticateAsync(token, http, Context.ConnectionAborted);
            if (caller is null)
            {
                throw Refuse(refused!.Code, refused.Detail);
            }
            await ConnectCallerAsync(caller);
            return;
        }
        var owner = participants.OwnerId(Context.User);
        if (owner is null)
        {
            throw Refuse(QrCallingErrorCodes.Unauthorized, "Authenticate as the owner or connect with ?access_token=<callToken>.");
        }
        await ConnectOwnerAsync(owner, http);
        // The connection lives no longer than the owner's credential (a JWT's exp claim).
        if (long.TryParse(Context.User?.FindFirst("exp")?.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var exp))
        {
            CloseAt(DateTimeOffset.FromUnixTimeSeconds(exp));
        }
    }

    private async Task ConnectCallerAsync(CallActor caller)
    {
        ChargeConnect(caller);
        var callId = caller.CallerCallId!;
        State().Actor = caller;
        await Groups.AddToGroupAsync(Context.ConnectionId, ConnectionTracker.CallerGroup(callId), Context.ConnectionAborted);
        // Only the caller's first connection here clears its gone mark; a second one (a reconnect that overtook the
        // old connection's end) changes nothing.
        // Whatever happened to the call while this connection joined its group (an accept, an end, an answer) was
        // sent to a group it was not in yet: send it now, to this connection only. Clients de-duplicate by seq.
        // A call deleted since its token was resolved (a token issued here is resolved without a read) is refused here,
        // by the read after the join; a refusal inside the presence count leaves the connection uncounted.
        IReadOnlyList<ServerEvent>? missed = null;
        var first = false;
        await presence.AddAsync(PresenceCounter.CallerKey(callId), async () =>
        {
            first = true;
            missed = await calls.CallerJoinedAsync(caller, firstConnection: true, Context.ConnectionAborted) ?? throw GoneCall();
        });
        State().Counted = true;
        if (!first)
        {
            missed = await calls.CallerJoinedAsync(caller, firstConnection: false, Context.ConnectionAborted) ?? throw GoneCall();
        }
        foreach (var missedEvent in missed!)
        {
            await Clients.Caller.SendAsync(missedEvent.Name, QrCallingJson.EventArgument(missedEvent), Context.ConnectionAborted);
        }
    }

    private HubException GoneCall() => Refuse(QrCallingErrorCodes.Unauthorized, "The call token is unknown or expired.");

    private async Task ConnectOwnerAsync(string owner, Microsoft.AspNetCore.Http.HttpContext? http, string? pairedDeviceId = null)
    {
        var (deviceId, deviceError) = pairedDeviceId is not null ? (pairedDeviceId, null)
            : http is null ? (null, null) : participants.DeviceIdOf(http.Request, owner);
        if (deviceError is not null)
        {
            throw Refuse(deviceError.Code, deviceError.Detail);
        }
        var actor = CallActor.OwnerDevice(owner, deviceId ?? Context.ConnectionId);
        ChargeConnect(actor);
        State().Actor = actor; // an owner device's state also tracks the calls it counts presence for
        tracker.Add(owner, actor.DeviceId!, Context.ConnectionId);
        connections.Opened(owner, Context);
        try
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, ConnectionTracker.OwnerGroup(owner), Context.ConnectionAborted);
            if (tracker.DeviceGroups)
            {
                await Groups.AddToGroupAsync(Context.ConnectionId, ConnectionTracker.DeviceGroup(owner, actor.DeviceId!), Context.ConnectionAborted);
            }
            // A device that comes online while a call rings (or reloads its page) still gets IncomingCall.
            await calls.DeviceOnlineAsync(actor, Context.ConnectionAborted);
        }
        catch
        {
            tracker.Remove(owner, actor.DeviceId!, Context.ConnectionId); // SignalR calls no OnDisconnectedAsync after this
            connections.Closed(Context.ConnectionId);
            throw;
        }
    }

    /// <summary>Closes the connection when the credential it was opened with expires (the client reconnects with a fresh
    /// one, or not at all).</summary>
    private void CloseAt(DateTimeOffset expiresAt)
    {
        var delay = expiresAt - time.GetUtcNow();
        if (delay <= TimeSpan.Zero)
        {
            Context.Abort();
            return;
        }
        var context = Context;
        var timer = time.CreateTimer(_ => context.Abort(), null, delay, Timeout.InfiniteTimeSpan);
        State().Expiry = timer;
    }

    /// <summary>A connection costs one hub call of its identity's budget (as in <see cref="CallHubFilter"/>), so a
    /// reconnect loop cannot sidestep the per-identity limit. Charged once the identity is known (a caller's after its
    /// token lookup) and before the connection joins groups or counts as present, so a refusal leaves nothing behind.</summary>
    private void ChargeConnect(CallActor actor)
    {
        var identity = CallHubFilter.IdentityOf(actor);
        if (!limiter.TryAcquire(identity))
        {
            Log.RateLimited(logger, "hub-connect");
            throw Refuse(QrCallingErrorCodes.RateLimited, "Too many hub calls; slow down.");
        }
        var client = "client:" + clientKeys.HashAddress(Context.GetHttpContext()?.Connection.RemoteIpAddress);
        if (!caps.TryOpen(identity, client))
        {
            Log.RateLimited(logger, "hub-connections");
            throw Refuse(QrCallingErrorCodes.RateLimited, "Too many open connections for this call, owner or client; close one first.");
        }
        var state = State();
        state.SlotIdentity = identity;
        state.SlotClient = client;
    }

    private void ReleaseSlot()
    {
        if (CallConnectionState.Of(Context) is { } state && Interlocked.Exchange(ref state.SlotIdentity, null) is { } identity)
        {
            caps.Close(identity, state.SlotClient!);
        }
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        ReleaseSlot();
        var state = CallConnectionState.Of(Context);
        if (state is not null && state.Gauge)
        {
            state.Gauge = false;
            metrics.HubDisconnected();
        }
        if (state is not null)
        {
            Interlocked.Exchange(ref state.Expiry, null)?.Dispose();
        }
        if (state?.Actor is { } actor)
        {
            if (actor.IsCaller)
            {
                if (state.Counted)
                {
                    var callId = actor.CallerCallId!;
                    await PresenceGoneAsync(PresenceCounter.CallerKey(callId), actor, callId);
                }
            }
            else
            {
                tracker.Remove(actor.OwnerId!, actor.DeviceId!, Context.ConnectionId);
                connections.Closed(Context.ConnectionId);
                foreach (var callId in TrackedCalls().Close())
                {
                    await PresenceGoneAsync(PresenceCounter.DeviceKey(actor.OwnerId!, actor.DeviceId!, callId), actor, callId);
                }
            }
        }
        await base.OnDisconnectedAsync(exception);
    }

    /// <summary>One connection of a participant went away: the call hears of it only when it was the last one here.</summary>
    private async Task PresenceGoneAsync(string key, CallActor actor, string callId)
    {
        try
        {
            await presence.RemoveAsync(key, () => calls.DisconnectedAsync(actor, callId, CancellationToken.None));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.PresenceFailed(logger, ex);
        }
    }

    /// <summary>Ringing to Active; exactly one device wins.</summary>
    public async Task Accept(string callId)
    {
        var actor = Actor();
        Check(await calls.AcceptAsync(actor, Required(callId), Context.ConnectionAborted));
        await CountDeviceAsync(actor, callId);
    }

    /// <summary>Counts this device connection for the call (once). If the connection closed while the method ran (SignalR
    /// can run OnDisconnectedAsync before the method ends), the count is undone through the normal remove path.</summary>
    private async Task CountDeviceAsync(CallActor actor, string callId)
    {
        var tracked = TrackedCalls();
        if (!tracked.TryBegin(callId))
        {
            return;
        }
        var key = PresenceCounter.DeviceKey(actor.OwnerId!, actor.DeviceId!, callId);
        try
        {
            await presence.AddAsync(key, onFirst: null);
        }
        catch
        {
            tracked.Abandon(callId);
            throw;
        }
        if (!tracked.Complete(callId))
        {
            await PresenceGoneAsync(key, actor, callId);
        }
    }

    /// <summary>Ringing to Ended(rejected).</summary>
    public async Task Reject(string callId) => Check(await calls.RejectAsync(Actor(), Required(callId), Context.ConnectionAborted));

    /// <summary>Ended(canceled) while ringing, Ended(hangup) while active.</summary>
    public async Task Hangup(string callId) => Check(await calls.HangupAsync(Actor(), Required(callId), Context.ConnectionAborted));

    /// <summary>A signal relayed to the other side with a per-call seq.</summary>
    public async Task<long> Signal(string callId, string type, JsonElement data) =>
        Check(await calls.SignalAsync(Actor(), Required(callId), type, data, Context.ConnectionAborted));

    /// <summary>Typing, relayed and not stored.</summary>
    public async Task Typing(string callId, bool isTyping) => Check(await calls.TypingAsync(Actor(), Required(callId), isTyping, Context.ConnectionAborted));

    /// <summary>A chat ciphertext, relayed and kept in the mailbox.</summary>
    public async Task<long> Chat(string callId, string ciphertext) =>
        Check(await calls.ChatAsync(Actor(), Required(callId), ciphertext, Context.ConnectionAborted));

    /// <summary>Everything addressed to this side up to <paramref name="seq"/> was received: the server trims it from the
    /// call's mailbox window. Clients send it (fire and forget) every few received messages.</summary>
    public async Task Ack(string callId, long seq)
    {
        if (seq < 0)
        {
            throw new HubException("invalid_request: seq must be 0 or more.");
        }
        Check(await calls.AcknowledgeAsync(Actor(), Required(callId), seq, Context.ConnectionAborted));
    }

    /// <summary>The mailbox events after <paramref name="afterSeq"/>: <c>[{seq, type, from, data, at}]</c>; everything up
    /// to <paramref name="afterSeq"/> counts as received.</summary>
    public async Task<JsonElement> Resume(string callId, long afterSeq)
    {
        var actor = Actor();
        if (afterSeq < 0)
        {
            throw new HubException("invalid_request: afterSeq must be 0 or more.");
        }
        var events = Check(await calls.ReadEventsAsync(actor, Required(callId), afterSeq, TimeSpan.Zero, Context.ConnectionAborted));
        // A client resumes after it reconnected: whichever side it is, it is here now. This also clears a gone mark
        // that a late notice of an old connection's end (here or on another instance) left behind.
        string key;
        if (actor.IsCaller)
        {
            key = PresenceCounter.CallerKey(callId);
        }
        else
        {
            key = PresenceCounter.DeviceKey(actor.OwnerId!, actor.DeviceId!, callId);
            await CountDeviceAsync(actor, callId);
        }
        await presence.RefreshAsync(key, () => calls.ConnectedAsync(actor, callId, Context.ConnectionAborted));
        return JsonSerializer.SerializeToElement(QrCallingEndpoints.ToWire(events), QrCallingJson.Options);
    }

    private CallActor Actor() =>
        CallConnectionState.Of(Context)?.Actor is { } actor
            ? actor
            : throw new HubException("unauthorized: The connection is not authenticated.");

    private ConnectionCalls TrackedCalls() =>
        CallConnectionState.Of(Context) is { Actor.IsCaller: false } state ? state : new();

    /// <summary>The connection's state, made on first use (in OnConnectedAsync, before any hub method can run).</summary>
    private CallConnectionState State()
    {
        if (CallConnectionState.Of(Context) is { } state)
        {
            return state;
        }
        state = new CallConnectionState();
        Context.Items[StateKey] = state;
        return state;
    }

    private static string Required(string? callId) =>
        QrCallingIds.IsWellFormed(callId)
            ? callId!
            : throw new HubException($"invalid_request: callId must be 1 to {QrCallingIds.MaxLength} characters of A-Z, a-z, 0-9, '_' and '-'.");

    private static T Check<T>(QrCallingResult<T> result) =>
        result.IsSuccess ? result.Value : throw new HubException($"{result.Error!.Code}: {result.Error.Detail}");

    private HubException Refuse(string code, string detail)
    {
        Log.HubRefused(logger, code);
        return new HubException($"{code}: {detail}");
    }
}

/// <summary>Rate-limits hub methods per identity and turns every failure into a coded <see cref="HubException"/>:
/// storage outages into <c>storage_unavailable</c>, anything unexpected into a logged <c>internal_error</c> whose
/// message tells the client nothing about the cause.</summary>
internal sealed class CallHubFilter(HubRateLimiter limiter, ClientKeyHasher hasher, QrCalling.Devices.DeviceService devices, ILogger<CallHubFilter> logger)
    : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var context = invocationContext.Context;
        var state = CallConnectionState.Of(context);
        var identity = state?.Actor is { } actor
            ? IdentityOf(actor)
            : hasher.HashAddress(context.GetHttpContext()?.Connection.RemoteIpAddress);
        if (!limiter.TryAcquire(identity))
        {
            Log.RateLimited(logger, "hub");
            throw new HubException("rate_limited: Too many hub calls; slow down.");
        }
        try
        {
            // A paired device revoked on another instance: its token is gone, so its next invocation closes the connection.
            if (state?.PairedToken is { } deviceToken
                && await devices.FindByTokenAsync(deviceToken, context.ConnectionAborted) is null)
            {
                context.Abort();
                throw new HubException("unauthorized: This device was revoked.");
            }
            return await next(invocationContext);
        }
        catch (Exception ex) when (HubFailures.Translate(ex, invocationContext.HubMethodName, context, logger) is { } coded)
        {
            throw coded;
        }
    }

    /// <summary>The rate-limit identity of an authenticated participant: its call for a caller, the owner otherwise.</summary>
    public static string IdentityOf(CallActor actor) => actor.IsCaller ? "call:" + actor.CallerCallId : "owner:" + actor.OwnerId;

    public Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next) =>
        HubFailures.ConnectAsync(context, next, logger);

    public Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next) =>
        HubFailures.DisconnectAsync(context, exception, next, logger);
}

/// <summary>What QrCalling's hubs answer and log for a failure. Their filters log every unexpected failure themselves
/// (<c>HubFailed</c>, <c>StorageUnavailable</c>), so a host may quiet SignalR's own error lines for refused invocations
/// and connections without losing one (docs/operations.md).</summary>
internal static class HubFailures
{
    /// <summary>The coded error for an exception, or null to let it through (already coded, or a cancellation because the
    /// connection went away; any other cancellation is unexpected and answered <c>internal_error</c>).</summary>
    public static HubException? Translate(Exception exception, string method, HubCallerContext context, ILogger logger)
    {
        switch (exception)
        {
            case HubException:
                return null;
            case OperationCanceledException when context.ConnectionAborted.IsCancellationRequested:
                return null;
            case StorageUnavailableException:
                Log.StorageUnavailable(logger, exception);
                return new HubException("storage_unavailable: The storage backend is unavailable.");
            default:
                Log.HubFailed(logger, method, exception);
                return new HubException("internal_error: The server could not complete the request.");
        }
    }

    /// <summary>Runs a hub method, its failures translated by <see cref="Translate"/>.</summary>
    public static async ValueTask<object?> InvokeAsync(HubInvocationContext invocationContext,
        Func<HubInvocationContext, ValueTask<object?>> next, ILogger logger)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (Exception ex) when (Translate(ex, invocationContext.HubMethodName, invocationContext.Context, logger) is { } coded)
        {
            throw coded;
        }
    }

    /// <summary>Runs a hub's <c>OnConnectedAsync</c>, its failures translated by <see cref="Translate"/> (the connection is
    /// then closed with the coded error).</summary>
    public static async Task ConnectAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next, ILogger logger)
    {
        try
        {
            await next(context);
        }
        catch (Exception ex) when (Translate(ex, nameof(Hub.OnConnectedAsync), context.Context, logger) is { } coded)
        {
            throw coded;
        }
    }

    /// <summary>Runs a hub's <c>OnDisconnectedAsync</c>: a failure there reaches no client, so it is logged here and
    /// goes no further.</summary>
    public static async Task DisconnectAsync(HubLifetimeContext context, Exception? exception,
        Func<HubLifetimeContext, Exception?, Task> next, ILogger logger)
    {
        try
        {
            await next(context, exception);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.HubDisconnectFailed(logger, ex);
        }
    }
}

/// <summary>What <see cref="CallHub"/> keeps for one connection, in one <c>Context.Items</c> entry. For an owner device it
/// is also the <see cref="ConnectionCalls"/> of the connection.</summary>
internal sealed class CallConnectionState : ConnectionCalls
{
    /// <summary>Who the connection is, once admitted.</summary>
    public CallActor? Actor;

    /// <summary>The device token a paired device's connection was opened with (kept in memory only, to re-check it).</summary>
    public string? PairedToken;

    /// <summary>The identity and client keys of the connection's slot in <see cref="ConnectionCaps"/>; the identity is
    /// cleared when the slot is given back.</summary>
    public string? SlotIdentity;

    /// <summary>The client key of the slot.</summary>
    public string? SlotClient;

    /// <summary>The timer that closes the connection when its credential expires.</summary>
    public IDisposable? Expiry;

    /// <summary>A caller's connection counts in the caller's presence.</summary>
    public bool Counted;

    /// <summary>The connection counts in the open-connections gauge.</summary>
    public bool Gauge;

    /// <summary>The state of <paramref name="context"/>'s connection, or null before it was made.</summary>
    public static CallConnectionState? Of(HubCallerContext context) =>
        context.Items.TryGetValue(CallHub.StateKey, out var value) ? value as CallConnectionState : null;
}
