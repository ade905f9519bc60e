using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Diagnostics;
using QrCalling.Storage;

namespace QrCalling.Devices;

/// <summary>Owners' client-encrypted backups: opaque bytes (the server never sees a key or plaintext), at most
/// <see cref="QrCallingOptions.MaxBackupBytes"/>, the latest <see cref="QrCallingOptions.BackupVersionsKept"/> versions
/// kept for <see cref="QrCallingOptions.BackupRetention"/>.</summary>
public sealed class BackupService
{
    private readonly IStorage _storage;
    private readonly QrCallingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<BackupService> _logger;
    private readonly QrCallingMetrics _metrics;

    internal BackupService(IStorage storage, IOptions<QrCallingOptions> options, TimeProvider timeProvider, ILogger<BackupService> logger,
        QrCallingMetrics metrics)
    {
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
    }

    /// <summary>The refusal of a body over the cap.</summary>
    public QrCallingError TooLarge => new(QrCallingErrorCodes.BackupTooLarge, $"A backup may hold at most {_options.MaxBackupBytes} bytes; nothing was stored.");

    /// <summary>Reads <paramref name="body"/> as it arrives, refusing it as soon as it passes the cap (or at once when
    /// <paramref name="declaredLength"/> does), and stores it as the owner's newest version in one atomic write: a body
    /// that fails or is cut off midway stores nothing.</summary>
    public async ValueTask<QrCallingResult<BackupVersion>> UploadAsync(string ownerId, Stream body, long? declaredLength, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        ArgumentNullException.ThrowIfNull(body);
        var cap = _options.MaxBackupBytes;
        if (declaredLength > cap)
        {
            Log.BackupRefused(_logger, "too large");
            return TooLarge;
        }
        using var buffer = new MemoryStream(declaredLength is { } n ? (int)n : 0);
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > cap)
            {
                Log.BackupRefused(_logger, "too large");
                return TooLarge;
            }
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0)
        {
            return QrCallingError.InvalidRequest("The backup is empty.");
        }
        var now = _time.GetUtcNow();
        var version = await _storage.Backups.AddAsync(ownerId, buffer.GetBuffer().AsMemory(0, (int)buffer.Length), _options.BackupVersionsKept, now,
            now + _options.BackupRetention, cancellationToken).ConfigureAwait(false);
        _metrics.BackupsStored.Add(1);
        Log.BackupStored(_logger, version.Version, version.Size);
        return version;
    }

    /// <summary>The owner's versions, newest first.</summary>
    public ValueTask<IReadOnlyList<BackupVersion>> ListAsync(string ownerId, CancellationToken cancellationToken) =>
        _storage.Backups.ListAsync(ownerId ?? throw new ArgumentNullException(nameof(ownerId)), _time.GetUtcNow(), cancellationToken);

    /// <summary>One of the owner's versions (the newest when <paramref name="version"/> is null); null when none.</summary>
    public ValueTask<BackupContent?> GetAsync(string ownerId, long? version, CancellationToken cancellationToken) =>
        _storage.Backups.GetAsync(ownerId ?? throw new ArgumentNullException(nameof(ownerId)), version, _time.GetUtcNow(), cancellationToken);

    /// <summary>Deletes one of the owner's versions; false when there is none.</summary>
    public ValueTask<bool> DeleteAsync(string ownerId, long version, CancellationToken cancellationToken) =>
        _storage.Backups.DeleteAsync(ownerId ?? throw new ArgumentNullException(nameof(ownerId)), version, cancellationToken);
}
