namespace QrCalling.Calls;

/// <summary>Who is acting on a call: an anonymous caller holding a call token, or one device of an authenticated owner.</summary>
public sealed record CallActor
{
    private CallActor() { }

    /// <summary>True for the caller.</summary>
    public bool IsCaller => CallerCallId is not null;
    /// <summary>For a caller: the one call its token admits to.</summary>
    public string? CallerCallId { get; private init; }
    /// <summary>For an owner device: the host's user id.</summary>
    public string? OwnerId { get; private init; }
    /// <summary>For an owner device: the device id (stable across reconnects of that device).</summary>
    public string? DeviceId { get; private init; }

    /// <summary>An anonymous caller admitted to one call.</summary>
    public static CallActor Caller(string callId) => new() { CallerCallId = callId };

    /// <summary>One device of an owner.</summary>
    public static CallActor OwnerDevice(string ownerId, string deviceId) => new() { OwnerId = ownerId, DeviceId = deviceId };

    /// <summary>The side this actor takes in <paramref name="call"/>: the caller, or the accepting device as the callee;
    /// null for anyone else (another owner, another device of the owner, a caller of another call).</summary>
    internal CallSide? SideIn(CallRecord call)
    {
        if (IsCaller)
        {
            return CallerCallId == call.CallId ? CallSide.Caller : null;
        }
        return OwnerId == call.OwnerId && DeviceId is not null && DeviceId == call.AcceptedDeviceId ? CallSide.Callee : null;
    }
}

/// <summary>A started call as returned to the caller: the record and the call token (a bearer for this call only,
/// shown here once and stored only as a keyed hash).</summary>
/// <param name="Call">The stored call.</param>
/// <param name="CallToken">The call token.</param>
public sealed record StartedCall(CallRecord Call, string CallToken);
