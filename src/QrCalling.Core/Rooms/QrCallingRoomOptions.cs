using System.ComponentModel.DataAnnotations;

namespace QrCalling.Rooms;

/// <summary>Limits of meet-now rooms (<c>QrCalling:Rooms</c>), validated at start-up.</summary>
public sealed class QrCallingRoomOptions : IValidatableObject
{
    /// <summary>Participants of a room when its creator does not say. Default 8.</summary>
    [Range(2, 256)]
    public int MaxParticipants { get; set; } = 8;

    /// <summary>Most participants a creator may ask for. Default 16.</summary>
    [Range(2, 256)]
    public int MaxParticipantsCap { get; set; } = 16;

    /// <summary>How long a room lives when its creator does not say. Default 24 hours.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan DefaultExpiry { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Longest life a creator may ask for. Default 7 days.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan MaxExpiry { get; set; } = TimeSpan.FromDays(7);

    /// <summary>A room with no message and no connected participant for this long ends (<c>idle</c>). Default 30 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Most entries a room's history keeps. Default 200.</summary>
    [Range(1, 100_000)]
    public int HistoryCount { get; set; } = 200;

    /// <summary>Most bytes a room's history keeps (each ciphertext's UTF-8 length plus 64). Default 1 MiB.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int HistoryBytes { get; set; } = 1024 * 1024;

    /// <summary>Largest ciphertext for one recipient, UTF-8 bytes. Default 64 KiB.</summary>
    [Range(256, 4 * 1024 * 1024)]
    public int MaxCiphertextBytes { get; set; } = 64 * 1024;

    /// <summary>Largest message (all its ciphertexts together), UTF-8 bytes. Default 256 KiB.</summary>
    [Range(256, 16 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 256 * 1024;

    /// <summary>Most unacknowledged bytes addressed to one participant. Default 512 KiB.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int WindowBytes { get; set; } = 512 * 1024;

    /// <summary>Longest published public key, characters. Default 1024.</summary>
    [Range(64, 16 * 1024)]
    public int MaxPublicKeyLength { get; set; } = 1024;

    /// <summary>Rules across members: defaults within their caps, and one largest message fits a window and the history.</summary>
    /// <param name="validationContext">The validation context.</param>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        const string section = QrCallingOptions.SectionName + ":Rooms:";
        if (MaxParticipants > MaxParticipantsCap)
        {
            yield return new ValidationResult($"{section}{nameof(MaxParticipants)} must be at most {nameof(MaxParticipantsCap)} ({MaxParticipantsCap}).",
                [nameof(MaxParticipants)]);
        }
        if (DefaultExpiry > MaxExpiry)
        {
            yield return new ValidationResult($"{section}{nameof(DefaultExpiry)} must be at most {nameof(MaxExpiry)} ({MaxExpiry}).",
                [nameof(DefaultExpiry)]);
        }
        if (MaxCiphertextBytes > MaxMessageBytes)
        {
            yield return new ValidationResult($"{section}{nameof(MaxCiphertextBytes)} must be at most {nameof(MaxMessageBytes)} ({MaxMessageBytes}).",
                [nameof(MaxCiphertextBytes)]);
        }
        if (WindowBytes < MaxCiphertextBytes + 64 || HistoryBytes < MaxMessageBytes + 64L * MaxParticipantsCap)
        {
            yield return new ValidationResult(
                $"{section}{nameof(WindowBytes)} must hold one ciphertext of {nameof(MaxCiphertextBytes)} plus 64 bytes, and {section}{nameof(HistoryBytes)} one message of {nameof(MaxMessageBytes)} plus 64 bytes per participant.",
                [nameof(WindowBytes), nameof(HistoryBytes)]);
        }
    }
}
