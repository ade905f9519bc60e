namespace QrCalling.Codes;

/// <summary>What the code lifecycle needs from calls: ending the open calls of a code it revoked. Implemented by the
/// calls part of Core, so Codes does not depend on Calls (Calls depends on Codes for resolving payloads).</summary>
internal interface ICodeCallEnder
{
    /// <summary>Ends every open call started from a code with <c>revoked</c>; returns how many it ended.</summary>
    ValueTask<int> EndCallsOfCodeAsync(string codeId, CancellationToken cancellationToken);
}
