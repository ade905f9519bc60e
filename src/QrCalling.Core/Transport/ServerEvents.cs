using System.Text.Json;
using System.Text.Json.Serialization;

namespace QrCalling.Transport;

/// <summary>A server-to-client event of the hub (spec section 3). <see cref="Name"/> is the hub method name; the
/// record itself, serialized camelCase, is the single argument.</summary>
public abstract record ServerEvent
{
    /// <summary>The hub event name, e.g. <c>IncomingCall</c>.</summary>
    [JsonIgnore]
    public abstract string Name { get; }

    /// <summary>The call the event belongs to.</summary>
    public required string CallId { get; init; }
}

/// <summary><c>IncomingCall {callId, calleeId, callerId, label, media, expiresAt}</c>, to every device of the owner.</summary>
public sealed record IncomingCallEvent : ServerEvent
{
    /// <inheritdoc />
    public override string Name => "IncomingCall";
    /// <summary>The owner's anonymous id for this call.</summary>
    public required string CalleeId { get; init; }
    /// <summary>The caller's anonymous id for this call.</summary>
    public required string CallerId { get; init; }
    /// <summary>The code's label.</summary>
    public required string Label { get; init; }
    /// <summary>Wire name of the media kind.</summary>
    public required string Media { get; init; }
    /// <summary>When ringing stops.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
    /// <summary>Additive: the media the call's code allows (wire names), so the owner's app can leave out what the server
    /// would refuse in this call (chat in a voice-only code's call: <c>media_not_allowed</c>).</summary>
    public IReadOnlyList<string>? CodeMedia { get; init; }
}

/// <summary><c>CallAccepted {callId}</c>: to the caller and the accepting device.</summary>
public sealed record CallAcceptedEvent : ServerEvent
{
    /// <inheritdoc />
    public override string Name => "CallAccepted";
}

/// <summary><c>CallAnsweredElsewhere {callId}</c>: to the owner's other devices.</summary>
public sealed record CallAnsweredElsewhereEvent : ServerEvent
{
    /// <inheritdoc />
    public override string Name => "CallAnsweredElsewhere";
}

/// <summary><c>CallEnded {callId, reason}</c>.</summary>
public sealed record CallEndedEvent : ServerEvent
{
    /// <inheritdoc />
    public override string Name => "CallEnded";
    /// <summary>Wire name of the end reason (rejected, canceled, missed, hangup, timeout, dropped, revoked).</summary>
    public required string Reason { get; init; }
}

/// <summary><c>Signal {callId, seq, from, type, data}</c>: to the other participant.</summary>
public sealed record SignalEvent : ServerEvent
{
    /// <inheritdoc />
    public override string Name => "Signal";
    /// <summary>Mailbox sequence number.</summary>
    public required long Seq { get; init; }
    /// <summary>Sender's anonymous id for this call.</summary>
    public required string From { get; init; }
    /// <summary>offer, answer, ice-candidate, key-exchange, renegotiate or file (additive).</summary>
    public required string Type { get; init; }
    /// <summary>The sender's JSON data, unchanged.</summary>
    public required JsonElement Data { get; init; }
}

/// <summary><c>Typing {callId, from, isTyping}</c>: relayed, never stored.</summary>
public sealed record TypingEvent : ServerEvent
{
    /// <inheritdoc />
    public override string Name => "Typing";
    /// <summary>Sender's anonymous id for this call.</summary>
    public required string From { get; init; }
    /// <summary>Whether the sender is typing.</summary>
    public required bool IsTyping { get; init; }
}

/// <summary><c>Chat {callId, seq, from, ciphertext, at}</c>.</summary>
public sealed record ChatEvent : ServerEvent
{
    /// <inheritdoc />
    public override string Name => "Chat";
    /// <summary>Mailbox sequence number.</summary>
    public required long Seq { get; init; }
    /// <summary>Sender's anonymous id for this call.</summary>
    public required string From { get; init; }
    /// <summary>Base64 of what the clients encrypted; the server never sees plaintext.</summary>
    public required string Ciphertext { get; init; }
    /// <summary>When the server stored it.</summary>
    public required DateTimeOffset At { get; init; }
}

/// <summary><c>PeerLeft {callId, who}</c>.</summary>
public sealed record PeerLeftEvent : ServerEvent
{
    /// <inheritdoc />
    public override string Name => "PeerLeft";
    /// <summary>The anonymous id of the side that left.</summary>
    public required string Who { get; init; }
}

/// <summary><c>PeerJoined {callId, who}</c>.</summary>
public sealed record PeerJoinedEvent : ServerEvent
{
    /// <inheritdoc />
    public override string Name => "PeerJoined";
    /// <summary>The anonymous id of the side that (re)joined.</summary>
    public required string Who { get; init; }
}
