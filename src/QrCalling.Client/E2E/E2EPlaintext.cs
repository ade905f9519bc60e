namespace QrCalling.Client.E2E;

/// <summary>A chat message that passed every check.</summary>
/// <param name="Text">The text.</param>
/// <param name="Counter">Its counter (1 for the first message of a direction in a session).</param>
/// <param name="Missed">How many counters were skipped before it: messages sent that never arrived (dropped, or the
/// sender's send failed). A client says so to the user.</param>
public sealed record E2EPlaintext(string Text, ulong Counter, ulong Missed);
