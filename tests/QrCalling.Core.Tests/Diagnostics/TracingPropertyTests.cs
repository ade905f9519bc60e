using System.Collections.Concurrent;
using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Core.Tests.Calls;
using QrCalling.Diagnostics;
using Xunit;

namespace QrCalling.Core.Tests.Diagnostics;

/// <summary>Issue 13: the <c>QrCalling</c> activity source traces scan, call start, accept and hangup, and no activity
/// tag ever holds a payload, token, id or label, whatever the input.</summary>
public sealed class TracingPropertyTests
{
    private static readonly string[] AllowedTags = [QrCallingDiagnostics.OutcomeTag, QrCallingDiagnostics.MediaTag];

    /// <summary>One generated session: a label, which payload is scanned and started (the issued one, its link form, a
    /// garbled one or any string), the media asked for, and whether the owner hangs up or the caller does.</summary>
    private sealed record Session(string Label, int PayloadKind, string Garbage, MediaKind Media, bool OwnerHangsUp, string DeviceId);

    private static Arbitrary<Session> Sessions() =>
        (from label in Gen.Elements("Blue van", "Front door 12", "café", "", "Anna's bike").Or(ArbMap.Default.GeneratorFor<string>().Where(s => s is { Length: < 60 } && !s.Any(char.IsControl)))
         from kind in Gen.Choose(0, 3)
         from garbage in ArbMap.Default.GeneratorFor<string>().Select(s => s ?? "")
         from media in Gen.Elements(MediaKind.Audio, MediaKind.Video, MediaKind.Chat, MediaKind.None, (MediaKind)64)
         from ownerHangsUp in ArbMap.Default.GeneratorFor<bool>()
         from device in Gen.Elements("phone", "tablet-7", "qd_" + Guid.NewGuid().ToString("N"))
         select new Session(label ?? "", kind, garbage, media, ownerHangsUp, device)).ToArbitrary();

    [Property(MaxTest = 60)]
    public Property Activities_AnySession_CarryOnlyOutcomeAndMediaTagsAndNoIdentifier() =>
        Prop.ForAll(Sessions(), session => RunAsync(session).GetAwaiter().GetResult());

    private static async Task<bool> RunAsync(Session session)
    {
        var recorded = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == QrCallingDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = recorded.Add,
        };
        ActivitySource.AddActivityListener(listener);
        // Other tests run at the same time: ours are the activities under this root.
        using var root = new Activity("tracing-property-test").Start();
        using var harness = CallHarness.Create();
        var issued = (await harness.Codes.IssueAsync(harness.Owner, new CodeSpec { Label = session.Label.Trim() }, CancellationToken.None)).Value;
        var payload = session.PayloadKind switch
        {
            0 => issued.Payload,
            1 => "https://call.example.org/c#" + issued.Payload,
            2 => issued.Payload[..^1] + (issued.Payload[^1] == 'A' ? 'B' : 'A'),
            _ => session.Garbage,
        };
        var scan = await harness.Codes.ScanAsync(payload, CancellationToken.None);
        var start = await harness.Calls.StartAsync(payload, session.Media, CancellationToken.None);
        var secrets = new List<string> { issued.Payload, issued.Code.Id, harness.Owner, session.DeviceId };
        var vocabulary = string.Join(' ', typeof(QrCallingErrorCodes).GetFields().Select(f => f.GetValue(null) as string)) + " ok audio video chat";
        if (session.Label.Trim().Length >= 3 && !vocabulary.Contains(session.Label.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            secrets.Add(session.Label.Trim());
        }
        var names = new List<string> { QrCallingDiagnostics.ScanActivity, QrCallingDiagnostics.CallStartActivity };
        if (start.IsSuccess)
        {
            var call = start.Value.Call;
            secrets.AddRange([call.CallId, call.CallerId, call.CalleeId, start.Value.CallToken]);
            var device = harness.Device(session.DeviceId);
            await harness.Calls.AcceptAsync(device, call.CallId, CancellationToken.None);
            await harness.Calls.HangupAsync(session.OwnerHangsUp ? device : CallActor.Caller(call.CallId), call.CallId, CancellationToken.None);
            names.AddRange([QrCallingDiagnostics.CallAcceptActivity, QrCallingDiagnostics.CallHangupActivity]);
        }
        var ours = recorded.Where(a => a.TraceId == root.TraceId && a.Source.Name == QrCallingDiagnostics.ActivitySourceName).ToList();
        foreach (var name in names)
        {
            Assert.Contains(ours, a => a.OperationName == name);
        }
        var scanActivity = ours.Single(a => a.OperationName == QrCallingDiagnostics.ScanActivity);
        Assert.Equal(scan.IsSuccess ? "ok" : scan.Error!.Code, scanActivity.GetTagItem(QrCallingDiagnostics.OutcomeTag));
        foreach (var activity in ours)
        {
            foreach (var (key, value) in activity.TagObjects)
            {
                Assert.Contains(key, AllowedTags);
                var text = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                Assert.DoesNotContain(secrets, s => s.Length > 0 && text.Contains(s, StringComparison.OrdinalIgnoreCase));
            }
            Assert.DoesNotContain(secrets, s => s.Length > 0 && (activity.StatusDescription ?? "").Contains(s, StringComparison.OrdinalIgnoreCase));
            Assert.Empty(activity.Baggage);
        }
        return true;
    }
}
