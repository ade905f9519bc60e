using System.ComponentModel.DataAnnotations;
using QrCalling.Calls;

namespace QrCalling;

/// <summary>Options of QrCalling's core: hashing, code and call lifetimes, size caps. Bound from the
/// <c>QrCalling</c> configuration section by the hosting package and validated at start-up.</summary>
public sealed class QrCallingOptions : IValidatableObject
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "QrCalling";

    /// <summary>Base of the link form <c>&lt;PublicBaseUrl&gt;#&lt;payload&gt;</c>, e.g. <c>https://call.example.org/c</c>.
    /// When null the hosting package derives it from the request (<c>{scheme}://{host}/c</c>).</summary>
    [Url]
    public string? PublicBaseUrl { get; set; }

    /// <summary>Secret key for the at-rest hash of tokens: <c>HMAC-SHA256(pepper, tokenBytes)</c>. When null, plain SHA-256
    /// is used (a stolen database then lets an attacker check guessed tokens offline; set a pepper in production).
    /// At least 16 characters.</summary>
    [MinLength(16)]
    public string? Pepper { get; set; }

    /// <summary>Peppers used before <see cref="Pepper"/>, newest first. Look-ups try the current pepper, then these in order,
    /// so codes issued under an old pepper keep working while it is listed. See docs/operations.md, "Rotating the pepper".</summary>
    public IList<string> PreviousPeppers { get; } = new List<string>();

    /// <summary>Lifetime of a code issued without <c>expiresInSeconds</c>; null means it never expires on its own.</summary>
    public TimeSpan? DefaultCodeLifetime { get; set; }

    /// <summary>The longest lifetime an owner may ask for. Default 5 years.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan MaxCodeLifetime { get; set; } = TimeSpan.FromDays(5 * 365);

    /// <summary>Most live codes (not revoked, expired or used up) one owner may have; issuing one more is
    /// <c>quota_exceeded</c>. Rotating a code does not count. Default 100.</summary>
    [Range(1, 1_000_000)]
    public int MaxLiveCodesPerOwner { get; set; } = 100;

    /// <summary>Longest label, in characters. Default 80.</summary>
    [Range(1, 1000)]
    public int MaxLabelLength { get; set; } = 80;

    /// <summary>How long a call rings before it ends with <c>missed</c>. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RingTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest an active call may last before it ends with <c>timeout</c>; also the lifetime of TURN credentials
    /// and call tokens. Default 2 hours.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan MaxCallDuration { get; set; } = TimeSpan.FromHours(2);

    /// <summary>How long a participant may be disconnected before the call ends with <c>dropped</c>. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ReconnectGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an ended call stays in the owner's history before the sweep deletes it. Default 30 days.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan CallRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How long a call's mailbox (signals and chat ciphertext) is kept after the call ends. Default 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan MailboxRetention { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a revoked or expired code is kept (listed to its owner) before the sweep deletes it. Default 30 days.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan CodeRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Cap on the UTF-8 size of one signal's JSON <c>data</c> for offer, answer and renegotiate. Default 64 KiB
    /// (an SDP offer with many candidates is 5-20 KiB).</summary>
    [Range(256, 1024 * 1024)]
    public int MaxSignalDataBytes { get; set; } = 64 * 1024;

    /// <summary>Cap on the UTF-8 size of an <c>ice-candidate</c> signal's data (a candidate is about 300 bytes). Default
    /// 4 KiB.</summary>
    [Range(256, 1024 * 1024)]
    public int MaxIceCandidateBytes { get; set; } = 4 * 1024;

    /// <summary>Cap on the UTF-8 size of a <c>key-exchange</c> signal's data (a public key and a commitment). Default
    /// 8 KiB.</summary>
    [Range(256, 1024 * 1024)]
    public int MaxKeyExchangeBytes { get; set; } = 8 * 1024;

    /// <summary>Cap on the length of one chat ciphertext (base64 characters). Default 16 KiB.</summary>
    [Range(16, 1024 * 1024)]
    public int MaxChatCiphertextBytes { get; set; } = 16 * 1024;

    /// <summary>The mailbox window of one side of an active call: the most bytes (data plus 64 per entry) sent to it that
    /// it has not acknowledged yet. A sender that outruns a recipient which stopped reading gets <c>mailbox_full</c>
    /// until the recipient acknowledges (Ack, Resume or a long poll's <c>after</c>). Default 256 KiB.</summary>
    [Range(4 * 1024, 64 * 1024 * 1024)]
    public int MailboxBytesPerSide { get; set; } = 256 * 1024;

    /// <summary>The most bytes a caller may park for the owner while the call rings (early offer, candidates, chat), so an
    /// anonymous caller cannot pile up data nobody accepted. At least <see cref="MaxSignalDataBytes"/>. Default 96 KiB.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int RingingMailboxBytes { get; set; } = 96 * 1024;

    /// <summary>For clients that never acknowledge (v1 clients): entries that reached a side which is still connected
    /// count as received after this long, and are trimmed when the side's window is full. Default 20 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan DeliveredEntrySettleTime { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Default QR module size in pixels for PNG rendering. Default 10.</summary>
    [Range(1, 40)]
    public int QrPixelsPerModule { get; set; } = 10;

    /// <summary>QR error-correction level: L, M, Q or H. Default M.</summary>
    [RegularExpression("^[LMQH]$")]
    public string QrErrorCorrection { get; set; } = "M";

    /// <summary>How often the background sweep runs (ring timeouts, durations, drops, retention). Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most rows one sweep step deletes per store, so a sweep never holds a long lock. Default 500.</summary>
    [Range(1, 100_000)]
    public int SweepBatchSize { get; set; } = 500;

    /// <summary>Whether <c>POST /scan</c> tells a scanner if the owner can be rung now (<c>reachable</c>): a deliberate,
    /// coarse trade-off (whoever holds the sticker learns whether the owner is online now, nothing else). False omits the
    /// field for every code. Default true.</summary>
    public bool ShowReachability { get; set; } = true;

    /// <summary>How long a message left after an unanswered call is kept (ciphertext only) unless its owner deletes it
    /// first. Default 7 days.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan MessageRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long after an unanswered call ended its caller may still leave a message. Default 10 minutes. The
    /// caller leaves it with its call token, so the window also ends when the token expires (<see cref="MaxCallDuration"/>
    /// after the call started).</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan MessageWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Cap on a message's ciphertext in bytes (decoded, AES-GCM tag included). Default 4 KiB.</summary>
    [Range(64, 64 * 1024)]
    public int MaxMessageCiphertextBytes { get; set; } = 4 * 1024;

    /// <summary>Most unexpired messages one owner may hold; one more is refused with <c>inbox_full</c> (nothing is dropped,
    /// so a flood cannot push out messages the owner has not read). Default 50.</summary>
    [Range(1, 100_000)]
    public int MaxStoredMessagesPerOwner { get; set; } = 50;

    /// <summary>How long a device pairing payload (<c>POST /devices/pairing</c>) works, once. Default 2 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "00:30:00")]
    public TimeSpan PairingLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a paired device may wait for its owner's confirmation; after that it can no longer be confirmed,
    /// its token admits nothing and the sweep deletes it (freeing its slot). Default 10 minutes.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan PendingDeviceLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Most paired devices one owner may have. Default 20.</summary>
    [Range(1, 1000)]
    public int MaxDevicesPerOwner { get; set; } = 20;

    /// <summary>How long a delegate invitation (<c>POST /codes/{id}/delegates/invitations</c>) works, once. Default 10
    /// minutes (the invited person may have to sign in first).</summary>
    [Range(typeof(TimeSpan), "00:00:30", "1.00:00:00")]
    public TimeSpan DelegateInvitationLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a call rings unanswered before a delegate's devices ring too, when the invitation does not say.
    /// Default 20 seconds; less than <see cref="RingTimeout"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan DelegateRingAfter { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Most delegates one code may have. Default 5.</summary>
    [Range(1, 100)]
    public int MaxDelegatesPerCode { get; set; } = 5;

    /// <summary>Largest backup body, in bytes; a larger one is <c>413 backup_too_large</c>. Default 8 MiB.</summary>
    [Range(1024, 256 * 1024 * 1024)]
    public int MaxBackupBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>How many backup versions an owner keeps (older ones are deleted with each upload). Default 5.</summary>
    [Range(1, 100)]
    public int BackupVersionsKept { get; set; } = 5;

    /// <summary>How long a backup version is kept before the sweep deletes it. Default 90 days.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan BackupRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Signed session QR: signing and verification keys (<c>QrCalling:SessionQr</c>). Checked at start-up by
    /// loading every key.</summary>
    public SessionQrOptions SessionQr { get; } = new();
    /// <summary>Meet-now rooms: participants, lifetime, idle timeout, history and message caps.</summary>
    [Microsoft.Extensions.Options.ValidateObjectMembers]
    public QrCalling.Rooms.QrCallingRoomOptions Rooms { get; set; } = new();

    /// <summary>Rules across members that attributes cannot express: <see cref="DefaultCodeLifetime"/> lies within
    /// (0, <see cref="MaxCodeLifetime"/>], and every previous pepper is at least 16 characters like <see cref="Pepper"/>.</summary>
    /// <param name="validationContext">The validation context.</param>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (DelegateRingAfter >= RingTimeout)
        {
            yield return new ValidationResult(
                $"{SectionName}:{nameof(DelegateRingAfter)} must be less than {nameof(RingTimeout)} ({RingTimeout}), or delegates never ring.",
                [nameof(DelegateRingAfter)]);
        }
        if (DefaultCodeLifetime is { } lifetime && (lifetime <= TimeSpan.Zero || lifetime > MaxCodeLifetime))
        {
            yield return new ValidationResult(
                $"{SectionName}:{nameof(DefaultCodeLifetime)} must be positive and at most {nameof(MaxCodeLifetime)} ({MaxCodeLifetime}).",
                [nameof(DefaultCodeLifetime)]);
        }
        if (RingingMailboxBytes < MaxSignalDataBytes + MailboxEntry.Overhead || MailboxBytesPerSide < MaxSignalDataBytes + MailboxEntry.Overhead)
        {
            yield return new ValidationResult(
                $"{SectionName}:{nameof(RingingMailboxBytes)} and {SectionName}:{nameof(MailboxBytesPerSide)} must hold at least one signal of {nameof(MaxSignalDataBytes)} ({MaxSignalDataBytes}) plus {MailboxEntry.Overhead} bytes.",
                [nameof(RingingMailboxBytes), nameof(MailboxBytesPerSide)]);
        }
        for (var i = 0; i < PreviousPeppers.Count; i++)
        {
            if (PreviousPeppers[i] is not { Length: >= 16 })
            {
                yield return new ValidationResult(
                    $"{SectionName}:{nameof(PreviousPeppers)}:{i} must be at least 16 characters.",
                    [nameof(PreviousPeppers)]);
            }
        }
    }
}
