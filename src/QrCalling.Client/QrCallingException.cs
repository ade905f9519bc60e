using System.Net;

namespace QrCalling.Client;

/// <summary>The host refused a request or hub method, or the hub connection is gone. <see cref="Code"/> is the host's
/// stable error code (<c>unavailable</c>, <c>invalid_state</c>, <c>not_participant</c>, <c>mailbox_full</c>, …; see
/// docs/protocol.md), or <c>disconnected</c> when the hub connection closed for good.</summary>
public sealed class QrCallingException : Exception
{
    /// <summary>The code this client uses when a hub connection closed and did not come back.</summary>
    public const string DisconnectedCode = "disconnected";

    /// <summary>Creates the exception.</summary>
    /// <param name="code">The stable error code.</param>
    /// <param name="message">What went wrong, in words.</param>
    /// <param name="statusCode">The HTTP status of a REST refusal; null for the hub.</param>
    /// <param name="innerException">The underlying exception, if any.</param>
    public QrCallingException(string code, string message, HttpStatusCode? statusCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        StatusCode = statusCode;
    }

    /// <summary>The stable error code.</summary>
    public string Code { get; }

    /// <summary>The HTTP status of a REST refusal; null for the hub.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>For <c>mailbox_full</c> and <c>rate_limited</c> over REST: the <c>Retry-After</c> the host sent.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
