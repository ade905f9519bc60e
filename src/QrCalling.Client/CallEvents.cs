using System.Text.Json;

namespace QrCalling.Client;

/// <summary>Something that happened in a call, as a hub connection receives it (docs/protocol.md, section 3). Each
/// signal and chat arrives once and in seq order, also across reconnects; lifecycle events arrive once per call.</summary>
/// <param name="CallId">The call.</param>
public abstract record CallEvent(string CallId);

/// <summary><c>IncomingCall</c>: a call rings the owner's devices.</summary>
/// <param name="CallId">The call.</param>
/// <param name="CalleeId">The owner's anonymous id for this call.</param>
/// <param name="CallerId">The caller's anonymous id for this call.</param>
/// <param name="Label">The code's label.</param>
/// <param name="Media">The media the caller asked for.</param>
/// <param name="ExpiresAt">When ringing stops.</param>
/// <param name="CodeMedia">The media the call's code allows, when the host says.</param>
public sealed record IncomingCall(string CallId, string CalleeId, string CallerId, string Label, string Media, DateTimeOffset ExpiresAt,
    IReadOnlyList<string>? CodeMedia) : CallEvent(CallId);

/// <summary><c>CallAccepted</c>: the call is active (to the caller and the accepting device).</summary>
/// <param name="CallId">The call.</param>
public sealed record CallAccepted(string CallId) : CallEvent(CallId);

/// <summary><c>CallAnsweredElsewhere</c>: another device of the owner accepted.</summary>
/// <param name="CallId">The call.</param>
public sealed record CallAnsweredElsewhere(string CallId) : CallEvent(CallId);

/// <summary><c>CallEnded</c>.</summary>
/// <param name="CallId">The call.</param>
/// <param name="Reason">rejected, canceled, missed, hangup, timeout, dropped or revoked.</param>
public sealed record CallEnded(string CallId, string Reason) : CallEvent(CallId);

/// <summary><c>Signal</c> from the other side.</summary>
/// <param name="CallId">The call.</param>
/// <param name="Seq">The mailbox seq.</param>
/// <param name="From">The sender's anonymous id.</param>
/// <param name="Type">offer, answer, ice-candidate, key-exchange, renegotiate or file (E2EFileTransfers).</param>
/// <param name="Data">The sender's data, unchanged.</param>
public sealed record SignalReceived(string CallId, long Seq, string From, string Type, JsonElement Data) : CallEvent(CallId);

/// <summary><c>Chat</c> from the other side: a ciphertext (see <see cref="E2E.E2ESession.Decrypt(string)"/>).</summary>
/// <param name="CallId">The call.</param>
/// <param name="Seq">The mailbox seq.</param>
/// <param name="From">The sender's anonymous id.</param>
/// <param name="Ciphertext">What the sender encrypted.</param>
/// <param name="At">When the host stored it.</param>
public sealed record ChatReceived(string CallId, long Seq, string From, string Ciphertext, DateTimeOffset At) : CallEvent(CallId);

/// <summary><c>Typing</c> from the other side (never stored; may be lost in a reconnect).</summary>
/// <param name="CallId">The call.</param>
/// <param name="From">The sender's anonymous id.</param>
/// <param name="IsTyping">Whether the other side is typing.</param>
public sealed record TypingChanged(string CallId, string From, bool IsTyping) : CallEvent(CallId);

/// <summary><c>PeerLeft</c>: the other side's connection went away (it may come back within the host's grace).</summary>
/// <param name="CallId">The call.</param>
/// <param name="Who">The anonymous id of the side that left.</param>
public sealed record PeerLeft(string CallId, string Who) : CallEvent(CallId);

/// <summary><c>PeerJoined</c>: the other side is back.</summary>
/// <param name="CallId">The call.</param>
/// <param name="Who">The anonymous id of the side that (re)joined.</param>
public sealed record PeerJoined(string CallId, string Who) : CallEvent(CallId);
