using Microsoft.Extensions.Logging;

namespace QrCalling.Hosting.Internal;

// Hosting's log messages of leave-a-message (EventIds 3600-3699): never a token, key, ciphertext or message text.
internal static partial class Log
{
    [LoggerMessage(EventId = 3600, Level = LogLevel.Error, Message = "The message sweep failed; it runs again at the next interval.")]
    public static partial void MessageSweepFailed(ILogger logger, Exception exception);
}
