using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using QrCalling.Hosting.Http;
using QrCalling.Hosting.Internal;
using QrCalling.Rooms;
using QrCalling.Storage;

namespace QrCalling.Hosting.Hubs;

/// <summary>The rooms hub (<c>/hubs/rooms</c>, additive; separate from the call hub). A participant connects with a hub
/// ticket (<c>qht_</c>, from <c>POST /hub-tickets</c> with its participant token) or its participant token
/// (<c>?access_token=</c> or <c>Authorization: Bearer</c>). Errors are HubExceptions whose message starts with the
/// stable code.</summary>
internal sealed class RoomHub(RoomService rooms, RoomNotifier notifier, HubTickets tickets, HubRateLimiter limiter,
    TimeProvider time, ILogger<RoomHub> logger) : Hub
{
    private const string ParticipantKey = "qrcalling.room-participant";

    public override async Task OnConnectedAsync()
    {
        var http = Context.GetHttpContext();
        var bearer = http is null ? null : ParticipantResolver.AccessTokenOf(http.Request);
        RoomParticipant? participant;
        if (bearer is not null && bearer.StartsWith(HubTickets.Prefix, StringComparison.Ordinal))
        {
            var admission = tickets.Redeem(bearer);
            if (admission is not { IsRoom: true } room)
            {
                throw Refuse(QrCallingErrorCodes.Unauthorized, "The hub ticket is unknown, expired, already used or not a room participant's.");
            }
            participant = await rooms.AuthenticateByIdAsync(room.Id, Context.ConnectionAborted);
        }
        else
        {
            participant = await rooms.AuthenticateAsync(bearer, Context.ConnectionAborted);
        }
        if (participant is null)
        {
            throw Refuse(QrCallingErrorCodes.Unauthorized, "Connect with a hub ticket or the participant token of a room you joined.");
        }
        if (!limiter.TryAcquire(Identity(participant)))
        {
            throw Refuse(QrCallingErrorCodes.RateLimited, "Too many hub calls; slow down.");
        }
        Context.Items[ParticipantKey] = participant;
        var roomId = participant.RoomId;
        var first = notifier.Add(roomId, participant.ParticipantId, Context);
        try
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, RoomNotifier.RoomGroup(roomId), Context.ConnectionAborted);
            await Groups.AddToGroupAsync(Context.ConnectionId, RoomNotifier.ParticipantGroup(roomId, participant.ParticipantId), Context.ConnectionAborted);
            await rooms.TouchAsync(roomId, Context.ConnectionAborted);
            // The room's end (expiry, idle, last leave) reaches the connection as RoomEnded from the sweep or the leave,
            // which then closes it; a room that ended meanwhile refuses the connection here.
            var state = await rooms.GetAsync(roomId, Context.ConnectionAborted)
                ?? throw Refuse(QrCallingErrorCodes.RoomUnavailable, "This room is not available.");
            var history = await rooms.ReadAsync(participant, 0, Context.ConnectionAborted);
            await Clients.Caller.SendAsync(RoomNotifier.RoomJoined, RoomNotifier.Json(new RoomJoinedEvent(roomId, participant.ParticipantId,
                [.. state.Participants.Select(RoomParticipantDto.Of)], [.. history.Select(RoomMessageEvent.Of)])), Context.ConnectionAborted);
            if (first)
            {
                await Clients.GroupExcept(RoomNotifier.RoomGroup(roomId), [Context.ConnectionId]).SendAsync(RoomNotifier.ParticipantJoined,
                    RoomNotifier.Json(new ParticipantJoinedEvent(participant.ParticipantId, participant.DisplayName, time.GetUtcNow())), Context.ConnectionAborted);
            }
        }
        catch
        {
            notifier.Remove(roomId, Context.ConnectionId); // SignalR runs no OnDisconnectedAsync after a failed OnConnectedAsync
            Context.Items.Remove(ParticipantKey);
            throw;
        }
    }

    private HubException Refuse(string code, string detail)
    {
        RoomLog.Refused(logger, code);
        return new HubException($"{code}: {detail}");
    }

    private static string Identity(RoomParticipant participant) => "room:" + participant.RoomId + ":" + participant.ParticipantId;

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        if (Context.Items.TryGetValue(ParticipantKey, out var value) && value is RoomParticipant participant)
        {
            notifier.Remove(participant.RoomId, Context.ConnectionId);
            try
            {
                await rooms.TouchAsync(participant.RoomId, CancellationToken.None); // idle counts from the last one to go
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                RoomLog.PresenceFailed(logger, ex);
            }
        }
        await base.OnDisconnectedAsync(exception);
    }

    /// <summary>The connection's participant, after charging one hub call of its budget.</summary>
    private RoomParticipant Participant()
    {
        if (!Context.Items.TryGetValue(ParticipantKey, out var value) || value is not RoomParticipant participant)
        {
            throw new HubException(QrCallingErrorCodes.Unauthorized + ": Not connected as a room participant.");
        }
        if (!limiter.TryAcquire(Identity(participant)))
        {
            throw new HubException(QrCallingErrorCodes.RateLimited + ": Too many hub calls; slow down.");
        }
        return participant;
    }

    private T Check<T>(QrCallingResult<T> result)
    {
        if (result.IsSuccess)
        {
            return result.Value;
        }
        if (result.Error!.Code == QrCallingErrorCodes.RoomUnavailable)
        {
            Context.Abort(); // the participant left or the room ended (through another instance)
        }
        throw new HubException($"{result.Error.Code}: {result.Error.Detail}");
    }

    /// <summary>Publishes this participant's public key (opaque, at most 1 KiB); everyone gets PublicKeysUpdated.</summary>
    public async Task PublishKey(string publicKey)
    {
        var participant = Participant();
        var all = Check(await rooms.PublishKeyAsync(participant, publicKey, Context.ConnectionAborted));
        await Clients.Group(RoomNotifier.RoomGroup(participant.RoomId)).SendAsync(RoomNotifier.PublicKeysUpdated,
            RoomNotifier.Json(new PublicKeysUpdatedEvent([.. all.Select(RoomParticipantDto.Of)])), Context.ConnectionAborted);
    }

    /// <summary>A message with one ciphertext per recipient: <c>{clientMessageId, kind, ciphertexts: {participantId:
    /// ciphertext}}</c>. Returns <c>{seq, at}</c>; each recipient gets only its own ciphertext.</summary>
    public async Task<JsonElement> Send(JsonElement message)
    {
        var participant = Participant();
        if (message.ValueKind != JsonValueKind.Object
            || !message.TryGetProperty("clientMessageId", out var idElement) || idElement.ValueKind != JsonValueKind.String
            || idElement.GetString() is not { Length: > 0 and <= 64 } clientMessageId
            || !message.TryGetProperty("kind", out var kindElement) || kindElement.ValueKind != JsonValueKind.String
            || !message.TryGetProperty("ciphertexts", out var ciphertextsElement) || ciphertextsElement.ValueKind != JsonValueKind.Object)
        {
            throw new HubException(QrCallingErrorCodes.InvalidRequest + ": Send takes {clientMessageId (1 to 64 characters), kind, ciphertexts: {participantId: ciphertext}}.");
        }
        var ciphertexts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in ciphertextsElement.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.String || !ciphertexts.TryAdd(property.Name, property.Value.GetString()!))
            {
                throw new HubException(QrCallingErrorCodes.InvalidRequest + ": Every ciphertext is a string, one per recipient.");
            }
        }
        var kind = kindElement.GetString();
        var sent = Check(await rooms.SendAsync(participant, kind, ciphertexts, Context.ConnectionAborted));
        foreach (var (to, ciphertext) in ciphertexts)
        {
            await Clients.Group(RoomNotifier.ParticipantGroup(participant.RoomId, to)).SendAsync(RoomNotifier.Message,
                RoomNotifier.Json(new RoomMessageEvent(sent.Seq, participant.ParticipantId, kind!, ciphertext, sent.At)), Context.ConnectionAborted);
        }
        await Clients.Group(RoomNotifier.ParticipantGroup(participant.RoomId, participant.ParticipantId)).SendAsync(RoomNotifier.MessageSent,
            RoomNotifier.Json(new MessageSentEvent(clientMessageId, sent.Seq, sent.At, [.. ciphertexts.Keys])), Context.ConnectionAborted);
        return RoomNotifier.Json(new SendResultDto(sent.Seq, sent.At));
    }

    /// <summary>Typing: the others get Typing (not stored).</summary>
    public async Task Typing()
    {
        var participant = Participant();
        await Clients.GroupExcept(RoomNotifier.RoomGroup(participant.RoomId), [Context.ConnectionId]).SendAsync(RoomNotifier.Typing,
            RoomNotifier.Json(new RoomTypingEvent(participant.ParticipantId, time.GetUtcNow())), Context.ConnectionAborted);
    }

    /// <summary>Everything addressed to this participant up to <paramref name="seq"/> was received (frees its window).</summary>
    public async Task Ack(long seq)
    {
        var participant = Participant();
        if (seq < 0)
        {
            throw new HubException(QrCallingErrorCodes.InvalidRequest + ": seq must be 0 or more.");
        }
        await rooms.AcknowledgeAsync(participant, seq, Context.ConnectionAborted);
    }

    /// <summary>The entries after <paramref name="afterSeq"/> addressed to this participant (catch-up after a reconnect).</summary>
    public async Task<JsonElement> Resume(long afterSeq)
    {
        var participant = Participant();
        if (afterSeq < 0)
        {
            throw new HubException(QrCallingErrorCodes.InvalidRequest + ": afterSeq must be 0 or more.");
        }
        var entries = await rooms.ReadAsync(participant, afterSeq, Context.ConnectionAborted);
        return RoomNotifier.Json(entries.Select(RoomMessageEvent.Of).ToList());
    }

    /// <summary>Leaves the room: the others get ParticipantLeft, the token stops working, the connection closes.</summary>
    public async Task Leave()
    {
        var participant = Participant();
        Context.Items.Remove(ParticipantKey);
        notifier.Remove(participant.RoomId, Context.ConnectionId);
        await notifier.LeaveAsync(participant, Context.ConnectionAborted);
    }
}

/// <summary>Turns every failure of the rooms hub into a coded <see cref="HubException"/>, as <see cref="CallHubFilter"/>
/// does for the call hub: storage outages into <c>storage_unavailable</c>, anything unexpected into a logged
/// <c>internal_error</c> with no detail.</summary>
internal sealed class RoomHubFilter(ILogger<RoomHubFilter> logger) : IHubFilter
{
    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next) =>
        HubFailures.InvokeAsync(invocationContext, next, logger);

    public Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next) =>
        HubFailures.ConnectAsync(context, next, logger);

    public Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next) =>
        HubFailures.DisconnectAsync(context, exception, next, logger);
}
