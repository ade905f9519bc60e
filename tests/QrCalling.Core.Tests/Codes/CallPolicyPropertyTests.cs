using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using QrCalling.Calls;
using QrCalling.Codes;
using Xunit;

namespace QrCalling.Core.Tests.Codes;

/// <summary>Quiet hours and chat-only as a pure function, under FsCheck over schedules (same-day and overnight ranges,
/// any set of days), time zones (whole-hour, half-hour and 45-minute offsets, northern and southern DST, a 30-minute DST
/// shift) and instants across several years of DST changes; then through the services with a FakeTimeProvider.</summary>
public sealed class CallPolicyPropertyTests
{
    private static readonly string[] Zones =
    [
        "UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata",
        "Pacific/Chatham", "America/St_Johns", "Asia/Tokyo", "America/Santiago",
    ];

    private static readonly DateTimeOffset From = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static Gen<QuietHours> Schedule =>
        from start in Gen.Choose(0, 1439)
        from length in Gen.Choose(1, 1439)
        from days in Gen.Choose(1, 127)
        from zone in Gen.Elements(Zones)
        select new QuietHours
        {
            Start = TimeOnly.FromTimeSpan(TimeSpan.FromMinutes(start)),
            End = TimeOnly.FromTimeSpan(TimeSpan.FromMinutes((start + length) % 1440)),
            Days = (QuietDays)days,
            TimeZone = zone,
        };

    /// <summary>Instants over four years at minute resolution, biased towards the nights of DST changes.</summary>
    private static Gen<DateTimeOffset> Instant =>
        Gen.OneOf(
            Gen.Choose(0, 4 * 366 * 1440).Select(m => From.AddMinutes(m)),
            from year in Gen.Choose(2024, 2027)
            from change in Gen.Elements(DstChanges)
            from minutes in Gen.Choose(-26 * 60, 26 * 60)
            select new DateTimeOffset(year, change.Month, change.Day, 0, 0, 0, TimeSpan.Zero).AddMinutes(minutes));

    // Approximate dates of DST changes in the zones above (the generator spreads ±26 h around them, per year).
    private static readonly (int Month, int Day)[] DstChanges = [(3, 10), (3, 31), (4, 7), (9, 8), (9, 29), (10, 6), (10, 27), (11, 3), (4, 2)];

    private static Gen<MediaKind> CodeMedia => Gen.Choose(1, 7).Select(m => (MediaKind)m);

    [Property(MaxTest = 1000)]
    public Property QuietUntil_IsInTheFutureAndWithinADay() =>
        Prop.ForAll(Schedule.ToArbitrary(), Instant.ToArbitrary(), (quiet, now) =>
        {
            var until = CallPolicyEvaluator.QuietUntil(quiet, now);
            return until is null || (until > now && until <= now.AddHours(25).AddMinutes(1));
        });

    [Property(MaxTest = 1000)]
    public Property Quiet_MatchesTheWallClockModel() =>
        Prop.ForAll(Schedule.ToArbitrary(), Instant.ToArbitrary(), (quiet, now) =>
        {
            // The model: the local wall clock lies in [d + start, d + start + length) for d = today or yesterday, d one of
            // the days.
            var local = TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(quiet.TimeZone)).DateTime;
            var length = TimeSpan.FromMinutes(((quiet.End.ToTimeSpan() - quiet.Start.ToTimeSpan()).TotalMinutes + 1440) % 1440);
            var expected = new[] { local.Date, local.Date.AddDays(-1) }.Any(d =>
                (quiet.Days & (QuietDays)(1 << (int)d.DayOfWeek)) != 0
                && local >= d + quiet.Start.ToTimeSpan() && local < d + quiet.Start.ToTimeSpan() + length);
            return (CallPolicyEvaluator.QuietUntil(quiet, now) is not null) == expected;
        });

    [Property(MaxTest = 500)]
    public Property Quiet_HoldsUntilQuietUntilAndEndsThere() =>
        Prop.ForAll(Schedule.ToArbitrary(), Instant.ToArbitrary(), (quiet, now) =>
        {
            if (CallPolicyEvaluator.QuietUntil(quiet, now) is not { } until)
            {
                return true;
            }
            var span = until - now;
            var holds = Enumerable.Range(0, 8).All(k => CallPolicyEvaluator.QuietUntil(quiet, now + span * k / 8) is not null)
                && CallPolicyEvaluator.QuietUntil(quiet, until - TimeSpan.FromTicks(1)) is not null;
            // At until the period is over (unless the clock skipped or repeated the end, and the +1 minute floor applied).
            var ends = until == now.AddMinutes(1) || CallPolicyEvaluator.QuietUntil(quiet, until) is null;
            return holds && ends;
        });

    [Property(MaxTest = 500)]
    public Property Quiet_DependsOnlyOnTheOwnersWallClock() =>
        Prop.ForAll(Schedule.ToArbitrary(), Instant.ToArbitrary(), (quiet, now) =>
        {
            // The same local time in UTC and in fixed-offset zones (India +05:30, Tokyo +09:00) gives the same answer.
            var utc = quiet with { TimeZone = "UTC" };
            var kolkata = quiet with { TimeZone = "Asia/Kolkata" };
            var tokyo = quiet with { TimeZone = "Asia/Tokyo" };
            var inUtc = CallPolicyEvaluator.QuietUntil(utc, now);
            var inKolkata = CallPolicyEvaluator.QuietUntil(kolkata, now - TimeSpan.FromMinutes(330));
            var inTokyo = CallPolicyEvaluator.QuietUntil(tokyo, now - TimeSpan.FromHours(9));
            return inKolkata == inUtc - TimeSpan.FromMinutes(330) && inTokyo == inUtc - TimeSpan.FromHours(9);
        });

    [Property(MaxTest = 1000)]
    public Property Evaluate_AllowsASubsetOfTheCodesMedia_ChatOnlyWhenQuietOrChatOnly() =>
        Prop.ForAll(Schedule.ToArbitrary(), Instant.ToArbitrary(), Gen.Zip(CodeMedia, Gen.Elements(true, false)).ToArbitrary(),
            (quiet, now, mediaAndMode) =>
            {
                var (media, chatOnly) = mediaAndMode;
                var policy = new CallPolicy { ChatOnly = chatOnly, QuietHours = quiet };
                var decision = CallPolicyEvaluator.Evaluate(policy, media, now);
                var quietNow = CallPolicyEvaluator.QuietUntil(quiet, now) is not null;
                var expected = chatOnly || quietNow ? media & MediaKind.Chat : media;
                return decision.AllowedMedia == expected
                    && decision.ChatOnly == (chatOnly || quietNow)
                    && decision.Quiet == quietNow
                    && decision.CallsAllowed == ((expected & (MediaKind.Audio | MediaKind.Video)) != 0);
            });

    [Fact]
    public void Evaluate_NoPolicy_AllowsTheCodesMedia()
    {
        var decision = CallPolicyEvaluator.Evaluate(CallPolicy.None, MediaKind.Audio | MediaKind.Chat, From);

        Assert.Equal(new CallPolicyDecision(MediaKind.Audio | MediaKind.Chat, false, null), decision);
        Assert.True(decision.CallsAllowed);
    }

    [Fact]
    public void QuietUntil_OvernightFriday_EndsSaturdayMorningLocalTime()
    {
        var quiet = new QuietHours { Start = new(22, 0), End = new(7, 0), Days = QuietDays.Friday, TimeZone = "Europe/Berlin" };
        var fridayNight = new DateTimeOffset(2026, 6, 5, 23, 30, 0, TimeSpan.FromHours(2)); // Friday, CEST

        Assert.Equal(new DateTimeOffset(2026, 6, 6, 7, 0, 0, TimeSpan.FromHours(2)), CallPolicyEvaluator.QuietUntil(quiet, fridayNight));
        Assert.Equal(new DateTimeOffset(2026, 6, 6, 7, 0, 0, TimeSpan.FromHours(2)), CallPolicyEvaluator.QuietUntil(quiet, fridayNight.AddHours(5)));
        // Saturday night is not quiet (the period starts on Fridays only), nor is Friday morning.
        Assert.Null(CallPolicyEvaluator.QuietUntil(quiet, fridayNight.AddDays(1)));
        Assert.Null(CallPolicyEvaluator.QuietUntil(quiet, new DateTimeOffset(2026, 6, 5, 6, 0, 0, TimeSpan.FromHours(2))));
    }

    [Fact]
    public void QuietUntil_EndSkippedBySpringForward_EndsAtTheJump()
    {
        // Berlin, 29 March 2026: 02:00 CET jumps to 03:00 CEST. Quiet 23:00 to 02:30 ends when the clock jumps.
        var quiet = new QuietHours { Start = new(23, 0), End = new(2, 30), Days = QuietDays.All, TimeZone = "Europe/Berlin" };
        var night = new DateTimeOffset(2026, 3, 29, 1, 45, 0, TimeSpan.FromHours(1));

        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero), CallPolicyEvaluator.QuietUntil(quiet, night));
    }

    [Theory]
    [InlineData("Mars/Olympus_Mons")]
    [InlineData("")]
    [InlineData("Europe/Berlin ")]
    [InlineData("../../etc/passwd")]
    public void Validate_UnknownTimeZone_IsRefused(string zone)
    {
        var quiet = new QuietHours { Start = new(22, 0), End = new(7, 0), TimeZone = zone };

        Assert.Equal("timeZone is not a known IANA time zone.", CallPolicyEvaluator.Validate(quiet));
    }

    [Fact]
    public void Validate_EqualStartAndEndOrNoDays_IsRefused()
    {
        Assert.NotNull(CallPolicyEvaluator.Validate(new QuietHours { Start = new(7, 0), End = new(7, 0), TimeZone = "UTC" }));
        Assert.NotNull(CallPolicyEvaluator.Validate(new QuietHours { Start = new(7, 0), End = new(8, 0), Days = QuietDays.None, TimeZone = "UTC" }));
        Assert.Null(CallPolicyEvaluator.Validate(new QuietHours { Start = new(7, 0), End = new(8, 0), TimeZone = "America/New_York" }));
    }

    /// <summary>Through the services: at a generated instant, a code with generated quiet hours refuses voice with
    /// quiet_hours exactly while the pure function says quiet (chat still starts), the scan says so with the same
    /// quietUntil, and once the FakeTimeProvider reaches quietUntil a voice call starts.</summary>
    [Property(MaxTest = 60)]
    public Property Services_FollowTheScheduleAsTheClockAdvances() =>
        // The host's FakeTimeProvider starts in March 2026 and only moves forward: instants from 2027 on.
        Prop.ForAll(Schedule.ToArbitrary(), Instant.Select(i => i.AddYears(3)).ToArbitrary(), (quiet, now) =>
        {
            using var host = new CodeTestHost();
            host.Time.SetUtcNow(now);
            var issued = host.IssueAsync("owner-q").GetAwaiter().GetResult();
            var controls = host.Provider.GetRequiredService<CallerControlService>();
            var calls = host.Provider.GetRequiredService<CallService>();
            Assert.True(controls.SetPolicyAsync("owner-q", issued.Code.Id, new CallPolicy { QuietHours = quiet }, default).GetAwaiter().GetResult().IsSuccess);

            var expected = CallPolicyEvaluator.QuietUntil(quiet, now);
            var scan = host.Codes.ScanAsync(issued.Payload, null, default).GetAwaiter().GetResult().Value;
            var voice = calls.StartAsync(issued.Payload, MediaKind.Audio, default).GetAwaiter().GetResult();
            var chat = calls.StartAsync(issued.Payload, MediaKind.Chat, default).GetAwaiter().GetResult();
            if (expected is not { } until)
            {
                return scan.Policy!.Value.CallsAllowed && scan.Policy.Value.QuietUntil is null && voice.IsSuccess && chat.IsSuccess;
            }
            var refusedWhileQuiet = !scan.Policy!.Value.CallsAllowed && scan.Policy.Value.ChatOnly && scan.Policy.Value.QuietUntil == until
                && voice.Error?.Code == QrCallingErrorCodes.QuietHours && chat.IsSuccess;
            host.Time.SetUtcNow(until);
            var later = calls.StartAsync(issued.Payload, MediaKind.Audio, default).GetAwaiter().GetResult();
            var quietAgain = CallPolicyEvaluator.QuietUntil(quiet, until) is not null;
            return refusedWhileQuiet && (quietAgain ? later.Error?.Code == QrCallingErrorCodes.QuietHours : later.IsSuccess);
        });

    [Property(MaxTest = 300)]
    public Property Pseudonyms_EqualForOneCode_DifferAcrossCodesAndKeys() =>
        Prop.ForAll(Gen.ArrayOf(Generators.Byte, 32).ToArbitrary(), Gen.ArrayOf(Generators.Byte, 32).ToArbitrary(),
            Gen.Zip(Gen.Choose(0, int.MaxValue), Gen.Choose(0, int.MaxValue)).ToArbitrary(), (key, otherKey, ids) =>
            {
                var (a, b) = ids;
                var pseudonyms = new CallerPseudonyms(Options.Create(new QrCallingOptions { Pepper = "pepper-for-tests-0123456789abcdef" }));
                var otherPepper = new CallerPseudonyms(Options.Create(new QrCallingOptions { Pepper = "another-pepper-0123456789abcdef!" }));
                var codeA = "c_" + a.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var codeB = "c_" + b.ToString(System.Globalization.CultureInfo.InvariantCulture) + "b";
                var p = pseudonyms.Of(codeA, key);
                return p.AsSpan().SequenceEqual(pseudonyms.Of(codeA, (byte[])key.Clone()))
                    && !p.AsSpan().SequenceEqual(pseudonyms.Of(codeB, key))
                    && (key.AsSpan().SequenceEqual(otherKey) || !p.AsSpan().SequenceEqual(pseudonyms.Of(codeA, otherKey)))
                    && !p.AsSpan().SequenceEqual(otherPepper.Of(codeA, key))
                    && p.Length == 32;
            });
}
