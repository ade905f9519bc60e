using System.Diagnostics.Metrics;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using QrCalling.Diagnostics;
using QrCalling.SampleHost.Admin;

namespace QrCalling.Browser.Tests.Admin;

/// <summary>Issue 13: the analytics export and the operations log hold no identifiers, whatever tokens, payloads, ids and
/// addresses the host handled (FsCheck over generated ones).</summary>
public sealed class AdminPrivacyPropertyTests
{
    private const string Base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private const string Base64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private const string Hex = "0123456789abcdef";

    private static Gen<string> Chars(string alphabet, int length) => Gen.ArrayOf(Gen.Elements(alphabet.ToCharArray()), length).Select(c => new string(c));

    /// <summary>Identifiers of every kind the host handles: QR payloads, call tokens, hub tickets, call/participant/owner
    /// ids, device ids (GUIDs), IPv4 and IPv6 addresses, e-mail addresses.</summary>
    private static Gen<string> Identifier() => Gen.OneOf(
        Gen.Zip(Chars(Base32, 52), Chars(Base32, 7)).Select(t => $"pqc:1:{t.Item1}:{t.Item2}"),
        Chars(Base64Url, 43).Select(t => "qct_" + t),
        Chars(Base64Url, 43).Select(t => "qht_" + t),
        Chars(Hex, 16).Select(t => "c_" + t),
        Chars(Hex, 16).Select(t => "p_" + t),
        Chars(Hex, 32).Select(t => "u_" + t),
        Gen.Constant(0).Select(_ => Guid.NewGuid().ToString()),
        Gen.ArrayOf(Gen.Choose(1, 254), 4).Select(b => string.Join('.', b)),
        Gen.ArrayOf(Gen.Choose(1, 0xffff), 8).Select(b => string.Join(':', b.Select(x => x.ToString("x", System.Globalization.CultureInfo.InvariantCulture)))),
        Gen.Zip(Chars("abcdefghijklmnopqrstuvwxyz", 8), Chars("abcdefghijklmnopqrstuvwxyz", 6)).Select(t => $"{t.Item1}@{t.Item2}.example"));

    private static Arbitrary<string[]> Identifiers() => Gen.Choose(1, 8).SelectMany(n => Gen.ArrayOf(Identifier(), n)).ToArbitrary();

    [Property(MaxTest = 100)]
    public Property AnalyticsExport_IdentifiersAsTagValues_CsvAndJsonHoldNone() =>
        Prop.ForAll(Identifiers(), ids =>
        {
            using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
            var factory = services.GetRequiredService<IMeterFactory>();
            var store = new InMemoryAdminStore();
            using var metrics = new AdminMetrics(factory, new AdminRuntime(store, TimeProvider.System), TimeProvider.System);
            var meter = factory.Create(QrCallingDiagnostics.MeterName);
            var scans = meter.CreateCounter<long>(QrCallingDiagnostics.Scans);
            var ended = meter.CreateCounter<long>(QrCallingDiagnostics.CallsEnded);
            foreach (var id in ids)
            {
                scans.Add(1, new KeyValuePair<string, object?>("outcome", id)); // an instrument that (wrongly) tagged an identifier
                ended.Add(1, new KeyValuePair<string, object?>("reason", "hangup"), new KeyValuePair<string, object?>("callId", id));
            }
            scans.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
            metrics.FlushAnalyticsAsync(store, default).AsTask().GetAwaiter().GetResult();
            var buckets = store.ListAnalyticsAsync(DateTimeOffset.MinValue, default).AsTask().GetAwaiter().GetResult();
            var csv = AnalyticsFormat.ToCsv(buckets);
            var json = JsonSerializer.Serialize(new AdminEndpoints.AnalyticsExport(DateTimeOffset.UnixEpoch, buckets), JsonSerializerOptions.Web);
            var stats = JsonSerializer.Serialize(metrics.Snapshot(new AdminSettings()), JsonSerializerOptions.Web);

            var leaks = ids.Where(id => csv.Contains(id, StringComparison.OrdinalIgnoreCase) || json.Contains(id, StringComparison.OrdinalIgnoreCase)
                || stats.Contains(id, StringComparison.OrdinalIgnoreCase)).ToList();
            var counted = buckets.Single(b => b.Metric == "scans" && b.Outcome == "other").Count == ids.Length
                && buckets.Single(b => b.Metric == "calls_ended").Count == ids.Length
                && buckets.All(b => b.Outcome is "other" or "all" || AdminMetrics.Vocabulary.Contains(b.Outcome));
            return (leaks.Count == 0 && counted).Label($"leaked: {string.Join(", ", leaks)}; counted: {counted}");
        });

    [Property(MaxTest = 200)]
    public Property OpsLog_MessagesWithIdentifiers_AreScrubbedOfAll() =>
        Prop.ForAll(Identifiers(), ids =>
        {
            var log = new OpsLog(TimeProvider.System);
            var message = "Relay failed: " + string.Join(" then ", ids.Select((id, i) => i % 2 == 0 ? $"'{id}'" : $"({id}),"));
            log.Add(LogLevel.Error, "QrCalling.Tests", message, new InvalidOperationException("secret " + ids[0]));
            var entry = log.Recent(1).Single();
            var leaks = ids.Where(id => entry.Message.Contains(id, StringComparison.OrdinalIgnoreCase)).ToList();
            return (leaks.Count == 0 && entry.Exception == "InvalidOperationException" && entry.Message.StartsWith("Relay failed: ", StringComparison.Ordinal))
                .Label($"kept: {string.Join(", ", leaks)} in {entry.Message}");
        });
}
