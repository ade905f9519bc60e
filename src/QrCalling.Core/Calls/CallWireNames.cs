namespace QrCalling.Calls;

/// <summary>Wire names (lower case) of call states and end reasons, as the REST API, hub events and storage adapters
/// spell them: <c>ringing</c>, <c>active</c>, <c>ended</c>; <c>rejected</c>, <c>canceled</c>, <c>missed</c>,
/// <c>hangup</c>, <c>timeout</c>, <c>dropped</c>, <c>revoked</c>.</summary>
public static class CallWireNames
{
    /// <summary>The wire name of a state.</summary>
    public static string ToWireName(CallState state) => state switch
    {
        CallState.Ringing => "ringing",
        CallState.Active => "active",
        CallState.Ended => "ended",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "Unknown call state."),
    };

    /// <summary>The wire name of an end reason.</summary>
    public static string ToWireName(CallEndReason reason) => reason switch
    {
        CallEndReason.Rejected => "rejected",
        CallEndReason.Canceled => "canceled",
        CallEndReason.Missed => "missed",
        CallEndReason.Hangup => "hangup",
        CallEndReason.Timeout => "timeout",
        CallEndReason.Dropped => "dropped",
        CallEndReason.Revoked => "revoked",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "Unknown end reason."),
    };

    /// <summary>The wire name of a side: <c>caller</c> or <c>callee</c> (as storage adapters spell a mailbox entry's
    /// recipient).</summary>
    public static string ToWireName(CallSide side) => side switch
    {
        CallSide.Caller => "caller",
        CallSide.Callee => "callee",
        _ => throw new ArgumentOutOfRangeException(nameof(side), side, "Unknown side."),
    };

    /// <summary>Parses a side's wire name (exact, lower case); false for anything else.</summary>
    public static bool TryParseSide(string? name, out CallSide side)
    {
        side = name == "caller" ? CallSide.Caller : CallSide.Callee;
        return name is "caller" or "callee";
    }

    /// <summary>Parses a state's wire name (exact, lower case); false for anything else.</summary>
    public static bool TryParseState(string? name, out CallState state)
    {
        foreach (var candidate in Enum.GetValues<CallState>())
        {
            if (ToWireName(candidate) == name)
            {
                state = candidate;
                return true;
            }
        }
        state = default;
        return false;
    }

    /// <summary>Parses an end reason's wire name (exact, lower case); false for anything else.</summary>
    public static bool TryParseEndReason(string? name, out CallEndReason reason)
    {
        foreach (var candidate in Enum.GetValues<CallEndReason>())
        {
            if (ToWireName(candidate) == name)
            {
                reason = candidate;
                return true;
            }
        }
        reason = default;
        return false;
    }
}
