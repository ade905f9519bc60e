using Microsoft.Extensions.Logging;

namespace QrCalling.Devices;

/// <summary>Source-generated log messages of devices and backups (EventIds 7000-7099). Device ids and version numbers only:
/// never a pairing payload, device token, check code or backup byte.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7000, Level = LogLevel.Information, Message = "Device {DeviceId} paired")]
    public static partial void DevicePaired(ILogger logger, string deviceId);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Device {DeviceId} revoked")]
    public static partial void DeviceRevoked(ILogger logger, string deviceId);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Debug, Message = "Pairing refused: unknown, expired or used payload")]
    public static partial void PairingRefused(ILogger logger);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "Backup version {Version} stored ({Size} bytes)")]
    public static partial void BackupStored(ILogger logger, long version, long size);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Debug, Message = "Backup refused: {Reason}")]
    public static partial void BackupRefused(ILogger logger, string reason);
}
