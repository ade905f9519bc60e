using System.Buffers.Text;
using System.Security.Cryptography;

namespace QrCalling.Calls;

/// <summary>Fresh random ids for calls and their participants: 128 bits from a CSPRNG each, so ids never repeat and two
/// calls cannot be linked through them.</summary>
internal static class CallIds
{
    /// <summary>A new call id, <c>call_</c> + 22 base64url characters.</summary>
    public static string NewCallId() => "call_" + Random128();

    /// <summary>A new anonymous participant id (callerId or calleeId) for one call, <c>p_</c> + 22 base64url characters.</summary>
    public static string NewParticipantId() => "p_" + Random128();

    private static string Random128()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }
}
