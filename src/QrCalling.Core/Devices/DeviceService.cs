using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Codes;
using QrCalling.Diagnostics;
using QrCalling.Storage;

namespace QrCalling.Devices;

/// <summary>A pairing payload to show as a QR on a signed-in device.</summary>
/// <param name="PairingPayload">The single-use payload (<c>qpp_</c> + 43 base64url characters).</param>
/// <param name="ExpiresAt">When it stops working.</param>
public sealed record DevicePairingTicket(string PairingPayload, DateTimeOffset ExpiresAt);

/// <summary>A device that just paired: its id, its credential (shown once) and the check code both devices show.</summary>
/// <param name="Device">The stored device (unconfirmed).</param>
/// <param name="DeviceToken">The device's bearer credential (<c>qdt_</c> + 43 base64url characters); only its keyed hash
/// is stored.</param>
public sealed record PairedDevice(DeviceRecord Device, string DeviceToken);

/// <summary>Owner devices paired by QR: a signed-in device asks for a single-use pairing payload
/// (<see cref="CreatePairingAsync"/>), the new device redeems it (<see cref="PairAsync"/>) for its own id and token, a
/// signed-in device confirms it after comparing the check code both show (<see cref="ConfirmAsync"/>), and from then on
/// the new device's token admits it to the hub as one of the owner's devices. Secrets are kept as keyed hashes only.</summary>
public sealed class DeviceService
{
    /// <summary>Prefix of pairing payloads.</summary>
    public const string PairingPrefix = "qpp_";
    /// <summary>Prefix of device tokens.</summary>
    public const string TokenPrefix = "qdt_";
    /// <summary>Prefix of paired device ids.</summary>
    public const string DeviceIdPrefix = "dev_";
    /// <summary>Longest device name, in characters.</summary>
    public const int MaxNameLength = 64;

    private const int SecretBytes = 32;
    private static readonly int SecretChars = Base64Url.GetEncodedLength(SecretBytes);

    private readonly IStorage _storage;
    private readonly TokenHasher _hasher;
    private readonly QrCallingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DeviceService> _logger;
    private readonly QrCallingMetrics _metrics;

    internal DeviceService(IStorage storage, TokenHasher hasher, IOptions<QrCallingOptions> options, TimeProvider timeProvider,
        ILogger<DeviceService> logger, QrCallingMetrics metrics)
    {
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _hasher = hasher ?? throw new ArgumentNullException(nameof(hasher));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
    }

    /// <summary>The one answer for an unknown, expired or already used pairing payload.</summary>
    public static QrCallingError PairingUnavailable { get; } =
        new(QrCallingErrorCodes.PairingUnavailable, "This pairing code is not valid any more; show a new one on a signed-in device.");

    /// <summary>A new single-use pairing payload for an owner, valid <see cref="QrCallingOptions.PairingLifetime"/>.</summary>
    public async ValueTask<DevicePairingTicket> CreatePairingAsync(string ownerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        var secret = RandomNumberGenerator.GetBytes(SecretBytes);
        var expiresAt = _time.GetUtcNow() + _options.PairingLifetime;
        await _storage.Devices.CreatePairingAsync(new DevicePairing { SecretHash = HashOf(secret), OwnerId = ownerId, ExpiresAt = expiresAt }, cancellationToken)
            .ConfigureAwait(false);
        return new DevicePairingTicket(PairingPrefix + Base64Url.EncodeToString(secret), expiresAt);
    }

    /// <summary>Redeems a pairing payload (once) for a new, unconfirmed device of the payload's owner.</summary>
    public async ValueTask<QrCallingResult<PairedDevice>> PairAsync(string? pairingPayload, string? name, CancellationToken cancellationToken)
    {
        if (NormalizeName(name) is not { } cleanName)
        {
            return QrCallingError.InvalidRequest($"name must be 1 to {MaxNameLength} characters without control characters.");
        }
        if (ParseSecret(pairingPayload, PairingPrefix) is not { } secret)
        {
            return PairingUnavailable;
        }
        var now = _time.GetUtcNow();
        var token = RandomNumberGenerator.GetBytes(SecretBytes);
        DeviceRecord NewDevice(string ownerId) => new()
        {
            DeviceId = DeviceIdPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16)),
            OwnerId = ownerId,
            Name = cleanName,
            TokenHash = HashOf(token),
            CreatedAt = now,
            Confirmed = false,
            CheckCode = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture),
        };
        // Taking the pairing and storing the device is one store step that checks the cap first: a pairing refused for
        // the cap is not spent, so the owner can revoke a device and use the same pairing while it lives.
        DevicePairResult result = default;
        foreach (var hash in _hasher.CandidateHashes(secret))
        {
            result = await _storage.Devices.PairAsync(hash, now, _options.MaxDevicesPerOwner, NewDevice, cancellationToken).ConfigureAwait(false);
            if (result.Status != DevicePairStatus.PairingUnavailable)
            {
                break;
            }
        }
        if (result.Status == DevicePairStatus.QuotaExceeded)
        {
            return new QrCallingError(QrCallingErrorCodes.QuotaExceeded, $"The owner has {_options.MaxDevicesPerOwner} devices already; revoke one first.");
        }
        if (result.Status != DevicePairStatus.Paired || result.Device is not { } device)
        {
            Log.PairingRefused(_logger);
            return PairingUnavailable;
        }
        _metrics.DevicesPaired.Add(1);
        Log.DevicePaired(_logger, device.DeviceId);
        return new PairedDevice(device, TokenPrefix + Base64Url.EncodeToString(token));
    }

    /// <summary>An owner's devices, oldest first (without unconfirmed devices whose
    /// <see cref="QrCallingOptions.PendingDeviceLifetime"/> ran out; the sweep deletes them).</summary>
    public async ValueTask<IReadOnlyList<DeviceRecord>> ListAsync(string ownerId, CancellationToken cancellationToken)
    {
        var devices = await _storage.Devices.ListByOwnerAsync(ownerId ?? throw new ArgumentNullException(nameof(ownerId)), cancellationToken)
            .ConfigureAwait(false);
        var now = _time.GetUtcNow();
        return devices.Any(d => IsExpiredPending(d, now)) ? [.. devices.Where(d => !IsExpiredPending(d, now))] : devices;
    }

    /// <summary>True for an unconfirmed device older than <see cref="QrCallingOptions.PendingDeviceLifetime"/>: it can no
    /// longer be confirmed and its token admits nothing.</summary>
    private bool IsExpiredPending(DeviceRecord device, DateTimeOffset now) =>
        !device.Confirmed && device.CreatedAt + _options.PendingDeviceLifetime <= now;

    /// <summary>Renames one of an owner's devices; <c>not_found</c> for another owner's or an unknown one.</summary>
    public async ValueTask<QrCallingResult<DeviceRecord>> RenameAsync(string ownerId, string deviceId, string? name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        if (NormalizeName(name) is not { } cleanName)
        {
            return QrCallingError.InvalidRequest($"name must be 1 to {MaxNameLength} characters without control characters.");
        }
        return await _storage.Devices.UpdateAsync(ownerId, deviceId ?? "", cleanName, null, cancellationToken).ConfigureAwait(false) is { } updated
            ? updated
            : QrCallingError.NotFound;
    }

    /// <summary>Confirms a paired device once the owner saw the same check code on both devices; a wrong code is
    /// <c>invalid_request</c> and changes nothing.</summary>
    public async ValueTask<QrCallingResult<DeviceRecord>> ConfirmAsync(string ownerId, string deviceId, string? checkCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        var device = (await ListAsync(ownerId, cancellationToken).ConfigureAwait(false)).FirstOrDefault(d => d.DeviceId == deviceId);
        if (device is null)
        {
            return QrCallingError.NotFound;
        }
        if (device.Confirmed)
        {
            return device;
        }
        if (checkCode is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(checkCode), Encoding.ASCII.GetBytes(device.CheckCode)))
        {
            return QrCallingError.InvalidRequest("checkCode does not match the code shown on the new device.");
        }
        return await _storage.Devices.UpdateAsync(ownerId, device.DeviceId, null, true, cancellationToken).ConfigureAwait(false) is { } updated
            ? updated
            : QrCallingError.NotFound;
    }

    /// <summary>Revokes one of an owner's devices: its token stops working at once. False for an unknown device or
    /// another owner's. (Closing its live connections is the host's part.)</summary>
    public async ValueTask<bool> RevokeAsync(string ownerId, string deviceId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        if (!await _storage.Devices.DeleteAsync(ownerId, deviceId ?? "", cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        _metrics.DevicesRevoked.Add(1);
        Log.DeviceRevoked(_logger, deviceId!);
        return true;
    }

    /// <summary>The device a token belongs to, or null for a malformed, unknown or revoked token, or an unconfirmed device
    /// past <see cref="QrCallingOptions.PendingDeviceLifetime"/>. Does not otherwise check
    /// <see cref="DeviceRecord.Confirmed"/>.</summary>
    public async ValueTask<DeviceRecord?> FindByTokenAsync(string? deviceToken, CancellationToken cancellationToken)
    {
        if (ParseSecret(deviceToken, TokenPrefix) is not { } secret)
        {
            return null;
        }
        foreach (var hash in _hasher.CandidateHashes(secret))
        {
            if (await _storage.Devices.FindByTokenHashAsync(hash, cancellationToken).ConfigureAwait(false) is { } device)
            {
                return IsExpiredPending(device, _time.GetUtcNow()) ? null : device;
            }
        }
        return null;
    }

    /// <summary>Records that a device connected now.</summary>
    public ValueTask TouchAsync(DeviceRecord device, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        return _storage.Devices.TouchAsync(device.OwnerId, device.DeviceId, _time.GetUtcNow(), cancellationToken);
    }

    private byte[] HashOf(byte[] secret) => _hasher.Hash(secret);

    private static byte[]? ParseSecret(string? text, string prefix)
    {
        if (text is null || text.Length != prefix.Length + SecretChars || !text.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }
        var bytes = new byte[SecretBytes];
        return Base64Url.TryDecodeFromChars(text.AsSpan(prefix.Length), bytes, out var written) && written == SecretBytes
            && Base64Url.EncodeToString(bytes) == text[prefix.Length..] ? bytes : null;
    }

    private static string? NormalizeName(string? name)
    {
        var trimmed = name?.Trim();
        return trimmed is { Length: > 0 and <= MaxNameLength } && !trimmed.Any(char.IsControl) ? trimmed : null;
    }
}
