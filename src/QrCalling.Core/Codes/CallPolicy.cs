namespace QrCalling.Codes;

/// <summary>Days of the week as flags, for <see cref="QuietHours.Days"/>.</summary>
[Flags]
public enum QuietDays
{
    /// <summary>No day.</summary>
    None = 0,
    /// <summary>Sunday.</summary>
    Sunday = 1 << DayOfWeek.Sunday,
    /// <summary>Monday.</summary>
    Monday = 1 << DayOfWeek.Monday,
    /// <summary>Tuesday.</summary>
    Tuesday = 1 << DayOfWeek.Tuesday,
    /// <summary>Wednesday.</summary>
    Wednesday = 1 << DayOfWeek.Wednesday,
    /// <summary>Thursday.</summary>
    Thursday = 1 << DayOfWeek.Thursday,
    /// <summary>Friday.</summary>
    Friday = 1 << DayOfWeek.Friday,
    /// <summary>Saturday.</summary>
    Saturday = 1 << DayOfWeek.Saturday,
    /// <summary>Every day.</summary>
    All = Sunday | Monday | Tuesday | Wednesday | Thursday | Friday | Saturday,
}

/// <summary>Do-not-disturb hours of a code, in the owner's time zone: from <see cref="Start"/> to <see cref="End"/> local
/// time, starting on each of <see cref="Days"/>. An <see cref="End"/> earlier than <see cref="Start"/> is an overnight
/// range that ends the next morning (so "Friday 22:00 to 07:00" is quiet until Saturday 07:00).</summary>
public sealed record QuietHours
{
    /// <summary>Local time the quiet hours begin (minute precision).</summary>
    public required TimeOnly Start { get; init; }
    /// <summary>Local time they end (exclusive; minute precision); must differ from <see cref="Start"/>.</summary>
    public required TimeOnly End { get; init; }
    /// <summary>The days on which a quiet period begins; not empty.</summary>
    public QuietDays Days { get; init; } = QuietDays.All;
    /// <summary>The owner's IANA time zone id (e.g. <c>Europe/Berlin</c>).</summary>
    public required string TimeZone { get; init; }
}

/// <summary>Who may call a code and when, beyond its media: quiet hours and a chat-only mode. The default policy
/// restricts nothing.</summary>
public sealed record CallPolicy
{
    /// <summary>The policy that restricts nothing.</summary>
    public static CallPolicy None { get; } = new();

    /// <summary>When true, only chat calls are taken (no voice or video), whatever the time.</summary>
    public bool ChatOnly { get; init; }
    /// <summary>Quiet hours, or null for none. During quiet hours only chat calls are taken.</summary>
    public QuietHours? QuietHours { get; init; }

    /// <summary>True when this policy restricts nothing (nothing needs storing).</summary>
    public bool IsEmpty => !ChatOnly && QuietHours is null;
}

/// <summary>What a policy allows at one instant.</summary>
/// <param name="AllowedMedia">The media a call may use now: the code's media, without voice and video while chat-only or
/// quiet.</param>
/// <param name="ChatOnly">True when voice and video are held back now (chat-only mode or quiet hours).</param>
/// <param name="QuietUntil">The end of the current quiet period, or null outside quiet hours.</param>
public readonly record struct CallPolicyDecision(MediaKind AllowedMedia, bool ChatOnly, DateTimeOffset? QuietUntil)
{
    /// <summary>True when a voice or video call may start now.</summary>
    public bool CallsAllowed => (AllowedMedia & (MediaKind.Audio | MediaKind.Video)) != 0;
    /// <summary>True when the code is in quiet hours now.</summary>
    public bool Quiet => QuietUntil is not null;
}

/// <summary>The pure policy function: policy + the code's media + now → what is allowed. No storage, no clock.</summary>
public static class CallPolicyEvaluator
{
    /// <summary>Finds an IANA (or Windows) time zone id on this system; null when unknown or not an id.</summary>
    public static TimeZoneInfo? FindTimeZone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > 64 || id.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            return null;
        }
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (TimeZoneNotFoundException)
        {
            return null;
        }
        catch (InvalidTimeZoneException)
        {
            return null;
        }
    }

    /// <summary>Checks quiet hours as the API takes them: a known time zone, a non-empty set of days, start and end on
    /// whole minutes and different. Returns the problem, or null when valid.</summary>
    public static string? Validate(QuietHours quiet)
    {
        ArgumentNullException.ThrowIfNull(quiet);
        if (FindTimeZone(quiet.TimeZone) is null)
        {
            return "timeZone is not a known IANA time zone.";
        }
        if (quiet.Days == QuietDays.None || (quiet.Days & ~QuietDays.All) != 0)
        {
            return "days must name at least one day of the week.";
        }
        if (quiet.Start.Second != 0 || quiet.Start.Millisecond != 0 || quiet.End.Second != 0 || quiet.End.Millisecond != 0
            || quiet.Start.Microsecond != 0 || quiet.End.Microsecond != 0)
        {
            return "start and end are times of day in whole minutes (HH:mm).";
        }
        if (quiet.Start == quiet.End)
        {
            return "start and end must differ.";
        }
        return null;
    }

    /// <summary>What <paramref name="policy"/> allows at <paramref name="now"/> for a code that allows
    /// <paramref name="codeMedia"/>. Quiet hours whose time zone is unknown on this system are treated as not quiet.</summary>
    public static CallPolicyDecision Evaluate(CallPolicy policy, MediaKind codeMedia, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var quietUntil = policy.QuietHours is { } quiet ? QuietUntil(quiet, now) : null;
        var chatOnly = policy.ChatOnly || quietUntil is not null;
        var allowed = chatOnly ? codeMedia & MediaKind.Chat : codeMedia;
        return new CallPolicyDecision(allowed, chatOnly, quietUntil);
    }

    /// <summary>The end of the quiet period <paramref name="now"/> falls in, or null when it falls in none.</summary>
    public static DateTimeOffset? QuietUntil(QuietHours quiet, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(quiet);
        if (FindTimeZone(quiet.TimeZone) is not { } zone || quiet.Start == quiet.End)
        {
            return null;
        }
        var local = TimeZoneInfo.ConvertTime(now, zone).DateTime;
        var time = TimeOnly.FromDateTime(local);
        var today = DateOnly.FromDateTime(local);
        DateOnly endDay;
        if (quiet.Start < quiet.End)
        {
            if (!StartsOn(quiet, today) || time < quiet.Start || time >= quiet.End)
            {
                return null;
            }
            endDay = today;
        }
        else if (time >= quiet.Start && StartsOn(quiet, today))
        {
            endDay = today.AddDays(1);
        }
        else if (time < quiet.End && StartsOn(quiet, today.AddDays(-1)))
        {
            endDay = today;
        }
        else
        {
            return null;
        }
        var end = ToInstant(zone, endDay.ToDateTime(quiet.End));
        // A local end that the clock skips or repeats (a DST change) can map to an instant at or before now; the quiet
        // period then ends now at the latest + a minute, never in the past.
        return end > now ? end : now.AddMinutes(1);
    }

    private static bool StartsOn(QuietHours quiet, DateOnly day) => (quiet.Days & (QuietDays)(1 << (int)day.DayOfWeek)) != 0;

    /// <summary>The first instant the zone's clock shows <paramref name="local"/>; a time the clock skips (spring forward)
    /// is the instant of the jump.</summary>
    private static DateTimeOffset ToInstant(TimeZoneInfo zone, DateTime local)
    {
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }
        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUniversalTime();
    }
}
