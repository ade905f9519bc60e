using System.Text;
using System.Text.Json;
using QrCalling.Transport;

namespace QrCalling.Calls;

/// <summary>Who an event is for. <see cref="Id"/> is the call id for <see cref="RecipientKind.Caller"/> and the owner id
/// otherwise; <see cref="DeviceId"/> is the device (or the excluded device for <see cref="RecipientKind.OwnerExcept"/>).</summary>
internal readonly record struct Recipient(RecipientKind Kind, string Id, string? DeviceId = null)
{
    public static Recipient Caller(string callId) => new(RecipientKind.Caller, callId);
    public static Recipient Device(string ownerId, string deviceId) => new(RecipientKind.Device, ownerId, deviceId);
    public static Recipient Owner(string ownerId) => new(RecipientKind.Owner, ownerId);
    public static Recipient OwnerExcept(string ownerId, string deviceId) => new(RecipientKind.OwnerExcept, ownerId, deviceId);
}

/// <summary>The kinds of recipient <see cref="ITransport"/> can deliver to.</summary>
internal enum RecipientKind
{
    /// <summary>The caller of the call.</summary>
    Caller,
    /// <summary>One device of the owner.</summary>
    Device,
    /// <summary>Every device of the owner.</summary>
    Owner,
    /// <summary>Every device of the owner but one.</summary>
    OwnerExcept,
}

/// <summary>An event to deliver and its recipient.</summary>
internal sealed record Delivery(Recipient To, ServerEvent Event);

/// <summary>The option values the state machine needs.</summary>
internal sealed record CallLimits(int MaxSignalDataBytes, int MaxIceCandidateBytes, int MaxKeyExchangeBytes, int MaxChatCiphertextBytes, TimeSpan ReconnectGrace)
{
    public static CallLimits From(QrCallingOptions options) =>
        new(options.MaxSignalDataBytes, options.MaxIceCandidateBytes, options.MaxKeyExchangeBytes, options.MaxChatCiphertextBytes, options.ReconnectGrace);

    /// <summary>The cap on one signal's data of this type, in UTF-8 bytes.</summary>
    public int MaxDataBytes(string type) => type switch
    {
        CallWire.IceCandidateType => MaxIceCandidateBytes,
        CallWire.KeyExchangeType => MaxKeyExchangeBytes,
        _ => MaxSignalDataBytes,
    };
}

/// <summary>The state the machine works on: the call record and the caller's entries stored while ringing
/// (<see cref="EarlyEntries"/>: signals and chats addressed to the callee, delivered to the device that accepts). The
/// service loads <see cref="EarlyEntries"/> only for Accept. Seqs are not the machine's business: the store gives them
/// when it appends.</summary>
internal sealed record CallSnapshot(CallRecord Call, IReadOnlyList<MailboxEntry> EarlyEntries)
{
    public static CallSnapshot Of(CallRecord call) => new(call, []);
}

/// <summary>A command applied to a call.</summary>
internal abstract record CallCommand
{
    /// <summary>The acting participant; null for server-side commands (tick, revoke).</summary>
    public virtual CallActor? Actor => null;

    /// <summary>A short name for logs.</summary>
    public abstract string Name { get; }

    public sealed record Accept(CallActor By) : CallCommand { public override CallActor? Actor => By; public override string Name => "accept"; }
    public sealed record Reject(CallActor By) : CallCommand { public override CallActor? Actor => By; public override string Name => "reject"; }
    public sealed record Hangup(CallActor By) : CallCommand { public override CallActor? Actor => By; public override string Name => "hangup"; }
    public sealed record Signal(CallActor By, string? Type, JsonElement Data) : CallCommand { public override CallActor? Actor => By; public override string Name => "signal"; }
    public sealed record Chat(CallActor By, string? Ciphertext) : CallCommand { public override CallActor? Actor => By; public override string Name => "chat"; }
    public sealed record Typing(CallActor By, bool IsTyping) : CallCommand { public override CallActor? Actor => By; public override string Name => "typing"; }
    public sealed record Connected(CallActor By) : CallCommand { public override CallActor? Actor => By; public override string Name => "connected"; }
    public sealed record Disconnected(CallActor By) : CallCommand { public override CallActor? Actor => By; public override string Name => "disconnected"; }
    /// <summary>Time passed: ends a call that rang out, ran too long or was dropped.</summary>
    public sealed record Tick : CallCommand { public override string Name => "tick"; }
    /// <summary>The owner revoked the call's code.</summary>
    public sealed record Revoke : CallCommand { public override string Name => "revoke"; }
}

/// <summary>The result of applying a command: the new state, mailbox entries to append (in order; their seq is 0 until
/// the store gives one), events to deliver (in order), or an error (then nothing changes). A relay (signal or chat) has
/// one append and one delivery whose seq is 0: the service sends it with the seq the store gave.</summary>
internal sealed record CallTransition(CallSnapshot State, QrCallingError? Error, IReadOnlyList<MailboxEntry> Appends, IReadOnlyList<Delivery> Deliveries)
{
    public bool IsSuccess => Error is null;
}

/// <summary>Wire names and mailbox-entry conversions shared by the machine and the service.</summary>
internal static class CallWire
{
    public const string Server = "server";
    public const string ChatType = "chat";
    public const string CallAcceptedType = "call-accepted";
    public const string CallEndedType = "call-ended";
    public const string IceCandidateType = "ice-candidate";
    public const string KeyExchangeType = "key-exchange";

    /// <summary>Additive (docs/protocol.md "Files in call chat"): end-to-end encrypted file frames, capped like an offer.</summary>
    public const string FileType = "file";

    public static readonly IReadOnlySet<string> SignalTypes =
        new HashSet<string>(StringComparer.Ordinal) { "offer", "answer", IceCandidateType, KeyExchangeType, "renegotiate", FileType };

    public static string ReasonName(CallEndReason reason) => CallWireNames.ToWireName(reason);

    /// <summary>The hub event for a stored signal or chat entry.</summary>
    public static ServerEvent ToEvent(string callId, MailboxEntry entry)
    {
        if (entry.Type == ChatType)
        {
            return new ChatEvent
            {
                CallId = callId,
                Seq = entry.Seq,
                From = entry.From,
                Ciphertext = JsonSerializer.Deserialize<string>(entry.DataJson) ?? "",
                At = entry.At,
            };
        }
        using var document = JsonDocument.Parse(entry.DataJson);
        return new SignalEvent { CallId = callId, Seq = entry.Seq, From = entry.From, Type = entry.Type, Data = document.RootElement.Clone() };
    }
}

/// <summary>The call and signaling state machine as a pure function: (state, command, now, limits) → new state, mailbox
/// appends and deliveries, or a typed error. It does no I/O; <see cref="CallService"/> performs the store operation the
/// transition implies (accept, end, presence, append) and the deliveries.</summary>
/// <remarks>
/// Rules (see docs/protocol.md):
/// <list type="bullet">
/// <item>Only the call's caller and devices of the call's owner take part; anyone else gets <c>not_participant</c>. On an
/// Ended call every command is <c>invalid_state</c> and a tick does nothing: nothing is emitted after Ended.</item>
/// <item>Accept (owner device, Ringing): Active with that device; CallAccepted to the caller and the winner,
/// CallAnsweredElsewhere to the owner's other devices, then the caller's early signals and chats to the winner in seq order.</item>
/// <item>Reject (owner device, Ringing): rejected. Hangup: while Ringing by the caller or any owner device: canceled;
/// while Active by the caller or the accepting device: hangup (another owner device: <c>not_participant</c>).</item>
/// <item>Signal and Chat: the caller at any open state (while Ringing they are stored only, for the device that
/// accepts); the owner side only from the accepting device once Active (<c>invalid_state</c> while Ringing,
/// <c>not_participant</c> for another device). Typing: relayed only while Active between the two participants; a
/// caller's typing while Ringing is accepted and dropped; an owner device's is <c>invalid_state</c>.</item>
/// <item>Chat and Typing in a call whose code did not allow chat (<see cref="CallRecord.CodeMedia"/>):
/// <c>media_not_allowed</c> for a participant that could otherwise send.</item>
/// <item>A command arriving when the call is already due to end (rang out, past its maximum duration, a participant gone
/// past the grace) is <c>invalid_state</c>; the next tick ends it.</item>
/// <item>Tick: Ringing past RingExpiresAt: missed; Active past ExpiresAt: timeout; a participant gone longer than the
/// reconnect grace: dropped (while Ringing only the caller's presence counts).</item>
/// <item>CallEnded goes to the caller and, while Ringing, to every owner device, while Active, to the accepting device.
/// Every accept and end also appends a lifecycle entry (<c>call-accepted</c>, <c>call-ended</c>) for long-polling clients.</item>
/// </list>
/// </remarks>
internal static class CallStateMachine
{
    public static CallTransition Apply(CallSnapshot state, CallCommand command, DateTimeOffset now, CallLimits limits)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(limits);
        var call = state.Call;

        switch (command)
        {
            case CallCommand.Tick:
                return call.State != CallState.Ended && DueEnd(call, now, limits) is { } due
                    ? End(state, due, now)
                    : Unchanged(state);
            case CallCommand.Revoke:
                return call.State == CallState.Ended ? Fail(state, EndedError) : End(state, CallEndReason.Revoked, now);
        }

        var actor = command.Actor!;
        var role = RoleOf(call, actor);
        if (role == Role.None)
        {
            return Fail(state, QrCallingError.NotParticipant);
        }
        if (call.State == CallState.Ended)
        {
            return Fail(state, EndedError);
        }
        if (DueEnd(call, now, limits) is not null)
        {
            return Fail(state, QrCallingError.InvalidState("The call is over."));
        }
        if (command is CallCommand.Chat or CallCommand.Typing && (call.CodeMedia & MediaKind.Chat) == 0)
        {
            // The owner's setting: no chat in the calls of this code (checked on the record already loaded; no read).
            return Sender(state, role) ?? Fail(state, QrCallingError.ChatNotAllowed);
        }

        return command switch
        {
            CallCommand.Accept => Accept(state, actor, role, now),
            CallCommand.Reject => role != Role.OwnerDevice ? Fail(state, QrCallingError.NotParticipant)
                : call.State != CallState.Ringing ? Fail(state, QrCallingError.InvalidState("Only a ringing call can be rejected."))
                : End(state, CallEndReason.Rejected, now),
            CallCommand.Hangup => call.State == CallState.Ringing ? End(state, CallEndReason.Canceled, now)
                : role == Role.Caller || role == Role.AcceptedDevice ? End(state, CallEndReason.Hangup, now)
                : Fail(state, QrCallingError.NotParticipant),
            CallCommand.Signal signal => Relay(state, role, isChat: false, signal.Type, signal.Data, null, now, limits),
            CallCommand.Chat chat => Relay(state, role, isChat: true, CallWire.ChatType, default, chat.Ciphertext, now, limits),
            CallCommand.Typing typing => Typing(state, role, typing.IsTyping),
            CallCommand.Connected => Presence(state, role, connected: true, now),
            CallCommand.Disconnected => Presence(state, role, connected: false, now),
            _ => Fail(state, QrCallingError.InvalidRequest("Unknown command.")),
        };
    }

    /// <summary>Why an open call must end at <paramref name="now"/>, or null.</summary>
    public static CallEndReason? DueEnd(CallRecord call, DateTimeOffset now, CallLimits limits)
    {
        switch (call.State)
        {
            case CallState.Ringing:
                if (now >= call.RingExpiresAt)
                {
                    return CallEndReason.Missed;
                }
                return GonePastGrace(call.CallerGoneSince, now, limits) ? CallEndReason.Dropped : null;
            case CallState.Active:
                if (now >= call.ExpiresAt)
                {
                    return CallEndReason.Timeout;
                }
                return GonePastGrace(call.CallerGoneSince, now, limits) || GonePastGrace(call.CalleeGoneSince, now, limits)
                    ? CallEndReason.Dropped
                    : null;
            default:
                return null;
        }
    }

    private static readonly QrCallingError EndedError = QrCallingError.InvalidState("The call has ended.");

    private enum Role { None, Caller, OwnerDevice, AcceptedDevice }

    private static Role RoleOf(CallRecord call, CallActor actor)
    {
        if (actor.IsCaller)
        {
            return actor.CallerCallId == call.CallId ? Role.Caller : Role.None;
        }
        if (actor.OwnerId is null || actor.DeviceId is null || actor.OwnerId != call.OwnerId)
        {
            return Role.None;
        }
        return call.State != CallState.Ringing && call.AcceptedDeviceId == actor.DeviceId ? Role.AcceptedDevice : Role.OwnerDevice;
    }

    private static bool GonePastGrace(DateTimeOffset? goneSince, DateTimeOffset now, CallLimits limits) =>
        goneSince is { } since && now - since > limits.ReconnectGrace;

    private static CallTransition Accept(CallSnapshot state, CallActor actor, Role role, DateTimeOffset now)
    {
        var call = state.Call;
        if (role == Role.Caller)
        {
            return Fail(state, QrCallingError.NotParticipant);
        }
        if (call.State != CallState.Ringing)
        {
            return Fail(state, QrCallingError.InvalidState("The call was already answered."));
        }
        var deviceId = actor.DeviceId!;
        var accepted = call with { State = CallState.Active, AcceptedDeviceId = deviceId, AnsweredAt = now };
        var lifecycle = Lifecycle(CallWire.CallAcceptedType, "{}", now);
        var winner = Recipient.Device(call.OwnerId, deviceId);
        var deliveries = new List<Delivery>
        {
            new(Recipient.Caller(call.CallId), new CallAcceptedEvent { CallId = call.CallId }),
            new(winner, new CallAcceptedEvent { CallId = call.CallId }),
            new(Recipient.OwnerExcept(call.OwnerId, deviceId), new CallAnsweredElsewhereEvent { CallId = call.CallId }),
        };
        foreach (var early in state.EarlyEntries.Where(e => e.To == CallSide.Callee).OrderBy(e => e.Seq))
        {
            deliveries.Add(new Delivery(winner, CallWire.ToEvent(call.CallId, early)));
        }
        return new CallTransition(new CallSnapshot(accepted, []), null, [lifecycle], deliveries);
    }

    private static CallTransition End(CallSnapshot state, CallEndReason reason, DateTimeOffset now)
    {
        var call = state.Call;
        var reasonName = CallWire.ReasonName(reason);
        var ended = call with { State = CallState.Ended, EndReason = reason, EndedAt = now };
        var lifecycle = Lifecycle(CallWire.CallEndedType, JsonSerializer.Serialize(new Dictionary<string, string> { ["reason"] = reasonName }), now);
        var deliveries = new List<Delivery> { new(Recipient.Caller(call.CallId), new CallEndedEvent { CallId = call.CallId, Reason = reasonName }) };
        if (call.State == CallState.Ringing)
        {
            deliveries.Add(new Delivery(Recipient.Owner(call.OwnerId), new CallEndedEvent { CallId = call.CallId, Reason = reasonName }));
        }
        else if (call.AcceptedDeviceId is { } device)
        {
            deliveries.Add(new Delivery(Recipient.Device(call.OwnerId, device), new CallEndedEvent { CallId = call.CallId, Reason = reasonName }));
        }
        return new CallTransition(new CallSnapshot(ended, []), null, [lifecycle], deliveries);
    }

    private static CallTransition Relay(CallSnapshot state, Role role, bool isChat, string? type, JsonElement data, string? ciphertext, DateTimeOffset now, CallLimits limits)
    {
        var call = state.Call;
        if (Sender(state, role) is { } refused)
        {
            return refused;
        }

        string dataJson;
        if (isChat)
        {
            if (string.IsNullOrEmpty(ciphertext))
            {
                return Fail(state, QrCallingError.InvalidRequest("A chat needs a ciphertext."));
            }
            if (Encoding.UTF8.GetByteCount(ciphertext) > limits.MaxChatCiphertextBytes)
            {
                return Fail(state, QrCallingError.TooLarge($"A chat ciphertext may hold at most {limits.MaxChatCiphertextBytes} bytes."));
            }
            dataJson = JsonSerializer.Serialize(ciphertext);
        }
        else
        {
            if (type is null || !CallWire.SignalTypes.Contains(type))
            {
                return Fail(state, QrCallingError.InvalidRequest("The signal type must be offer, answer, ice-candidate, key-exchange, renegotiate or file."));
            }
            if (data.ValueKind == JsonValueKind.Undefined)
            {
                return Fail(state, QrCallingError.InvalidRequest("A signal needs data."));
            }
            dataJson = data.GetRawText();
            var max = limits.MaxDataBytes(type);
            if (dataJson.Length > max || Encoding.UTF8.GetByteCount(dataJson) > max)
            {
                return Fail(state, QrCallingError.TooLarge($"The data of a {type} signal may hold at most {max} bytes."));
            }
        }

        var fromCaller = role == Role.Caller;
        var entryType = isChat ? CallWire.ChatType : type!;
        var entry = new MailboxEntry
        {
            Type = entryType,
            From = fromCaller ? call.CallerId : call.CalleeId,
            To = fromCaller ? CallSide.Callee : CallSide.Caller,
            DataJson = dataJson,
            At = now,
        };
        var deliveries = new List<Delivery>(1);
        if (call.State == CallState.Active)
        {
            var to = fromCaller ? Recipient.Device(call.OwnerId, call.AcceptedDeviceId!) : Recipient.Caller(call.CallId);
            var serverEvent = isChat
                ? (ServerEvent)new ChatEvent { CallId = call.CallId, Seq = entry.Seq, From = entry.From, Ciphertext = ciphertext!, At = now }
                : new SignalEvent { CallId = call.CallId, Seq = entry.Seq, From = entry.From, Type = entryType, Data = data };
            deliveries.Add(new Delivery(to, serverEvent));
        }
        // While ringing the entry is only stored: the device that accepts gets it from the store.
        return new CallTransition(state, null, [entry], deliveries);
    }

    /// <summary>Checks that this role may send signals, chats or typing now; null when it may.</summary>
    private static CallTransition? Sender(CallSnapshot state, Role role) => role switch
    {
        Role.Caller or Role.AcceptedDevice => null,
        _ when state.Call.State == CallState.Ringing => Fail(state, QrCallingError.InvalidState("Accept the call first.")),
        _ => Fail(state, QrCallingError.NotParticipant),
    };

    private static CallTransition Typing(CallSnapshot state, Role role, bool isTyping)
    {
        var call = state.Call;
        if (Sender(state, role) is { } refused)
        {
            return refused;
        }
        if (call.State != CallState.Active)
        {
            return Unchanged(state); // the caller typing while ringing: nobody to tell yet
        }
        var fromCaller = role == Role.Caller;
        var to = fromCaller ? Recipient.Device(call.OwnerId, call.AcceptedDeviceId!) : Recipient.Caller(call.CallId);
        var typing = new TypingEvent { CallId = call.CallId, From = fromCaller ? call.CallerId : call.CalleeId, IsTyping = isTyping };
        return new CallTransition(state, null, [], [new Delivery(to, typing)]);
    }

    private static CallTransition Presence(CallSnapshot state, Role role, bool connected, DateTimeOffset now)
    {
        var call = state.Call;
        if (role == Role.OwnerDevice)
        {
            // While ringing no device has joined the call yet; once active only the accepting device takes part.
            return call.State == CallState.Ringing ? Unchanged(state) : Fail(state, QrCallingError.NotParticipant);
        }
        var isCaller = role == Role.Caller;
        var goneSince = isCaller ? call.CallerGoneSince : call.CalleeGoneSince;
        if (connected == (goneSince is null))
        {
            return Unchanged(state); // no change: already connected, or already gone (keep the earlier time)
        }
        DateTimeOffset? newGoneSince = connected ? null : now;
        var updated = isCaller ? call with { CallerGoneSince = newGoneSince } : call with { CalleeGoneSince = newGoneSince };
        var deliveries = new List<Delivery>(1);
        if (call.State == CallState.Active)
        {
            var who = isCaller ? call.CallerId : call.CalleeId;
            var to = isCaller ? Recipient.Device(call.OwnerId, call.AcceptedDeviceId!) : Recipient.Caller(call.CallId);
            deliveries.Add(new Delivery(to, connected
                ? new PeerJoinedEvent { CallId = call.CallId, Who = who }
                : new PeerLeftEvent { CallId = call.CallId, Who = who }));
        }
        return new CallTransition(state with { Call = updated }, null, [], deliveries);
    }

    /// <summary>A lifecycle entry for long-polling clients: from the server, readable by both sides.</summary>
    private static MailboxEntry Lifecycle(string type, string dataJson, DateTimeOffset now) => new()
    {
        Type = type,
        From = CallWire.Server,
        To = null,
        DataJson = dataJson,
        At = now,
    };

    private static CallTransition Unchanged(CallSnapshot state) => new(state, null, [], []);

    private static CallTransition Fail(CallSnapshot state, QrCallingError error) => new(state, error, [], []);
}
