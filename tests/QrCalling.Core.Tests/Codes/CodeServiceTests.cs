using Xunit;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using QrCalling.Codes;
using QrCalling.Diagnostics;
using QrCalling.Storage;

namespace QrCalling.Core.Tests.Codes;

public sealed class CodeServiceTests : IDisposable
{
    private const string Owner = "owner-1";
    private readonly CodeTestHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task Issue_Defaults_StoresRecordAndReturnsPayloadThatScans()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { Label = "  Blue van, front door  " });

        Assert.Equal(PayloadStatus.Ok, CodePayload.Parse(issued.Payload).Status);
        Assert.Equal(issued.Payload.ToUpperInvariant(), issued.Payload);
        Assert.Equal("Blue van, front door", issued.Code.Label);
        Assert.Equal(MediaKinds.All, issued.Code.Media);
        Assert.Equal(CodeTestHost.Start, issued.Code.CreatedAt);
        Assert.Null(issued.Code.ExpiresAt);
        Assert.Null(issued.Code.MaxScans);
        Assert.Equal(Owner, issued.Code.OwnerId);
        Assert.Matches("^c_[a-z2-7]{26}$", issued.Code.Id);

        var scan = await _host.Codes.ScanAsync(issued.Payload, default);
        Assert.True(scan.IsSuccess);
        Assert.Equal(new CodeInfo("Blue van, front door", MediaKinds.All), scan.Value);
    }

    [Fact]
    public async Task Issue_WithSpec_AppliesLifetimeMediaAndMaxScans()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { Media = MediaKind.Chat, ExpiresInSeconds = 3600, MaxScans = 4 });

        Assert.Equal(MediaKind.Chat, issued.Code.Media);
        Assert.Equal(CodeTestHost.Start.AddHours(1), issued.Code.ExpiresAt);
        Assert.Equal(4, issued.Code.MaxScans);
        var stored = await _host.Storage.Codes.FindByIdAsync(Owner, issued.Code.Id, default);
        Assert.Equal(issued.Code.KeyHash, stored!.KeyHash);
    }

    [Fact]
    public async Task Issue_DefaultCodeLifetimeOption_AppliesWhenNoExpiryGiven()
    {
        using var host = new CodeTestHost(o => o.DefaultCodeLifetime = TimeSpan.FromDays(7));

        var issued = await host.IssueAsync(Owner);

        Assert.Equal(CodeTestHost.Start.AddDays(7), issued.Code.ExpiresAt);
    }

    public static TheoryData<CodeSpec> InvalidSpecs() => new()
    {
        new CodeSpec { Label = new string('x', 81) },
        new CodeSpec { Label = "bell\u0007" },
        new CodeSpec { Media = MediaKind.None },
        new CodeSpec { Media = (MediaKind)8 },
        new CodeSpec { Media = MediaKind.Audio | (MediaKind)16 },
        new CodeSpec { ExpiresInSeconds = 0 },
        new CodeSpec { ExpiresInSeconds = -5 },
        new CodeSpec { ExpiresInSeconds = (long)TimeSpan.FromDays(5 * 365).TotalSeconds + 1 },
        new CodeSpec { ExpiresInSeconds = long.MaxValue },
        new CodeSpec { MaxScans = 0 },
        new CodeSpec { MaxScans = int.MinValue },
    };

    [Theory]
    [MemberData(nameof(InvalidSpecs))]
    public async Task Issue_InvalidSpec_ReturnsInvalidRequestAndStoresNothing(CodeSpec spec)
    {
        var result = await _host.Codes.IssueAsync(Owner, spec, default);

        Assert.False(result.IsSuccess);
        Assert.Equal(QrCallingErrorCodes.InvalidRequest, result.Error!.Code);
        Assert.Empty(await ListAsync(Owner));
    }

    [Fact]
    public async Task Issue_LabelAtMaxLengthAfterTrim_IsAccepted()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { Label = "  " + new string('x', 80) + "  ", ExpiresInSeconds = 1, MaxScans = 1 });

        Assert.Equal(80, issued.Code.Label.Length);
    }

    [Fact]
    public async Task Issue_StoredRecord_NeverHoldsTokenOrPayload()
    {
        for (var i = 0; i < 50; i++)
        {
            var issued = await _host.IssueAsync(Owner, new CodeSpec { Label = "door" });
            var token = CodePayload.Parse(issued.Payload).Token!;
            var stored = (await _host.Storage.Codes.FindByIdAsync(Owner, issued.Code.Id, default))!;

            Assert.False(stored.KeyHash.AsSpan().SequenceEqual(token.Bytes));
            Assert.Equal(-1, stored.KeyHash.AsSpan().IndexOf(token.Bytes[..8]));
            var json = JsonSerializer.Serialize(stored);
            var tokenText = issued.Payload[6..58];
            Assert.DoesNotContain(tokenText, json, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(tokenText[..16], json, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Convert.ToHexString(token.Bytes), json, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Convert.ToBase64String(token.Bytes.ToArray()), json, StringComparison.Ordinal);
            Assert.DoesNotContain(issued.Payload, stored.Id, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task List_NewestFirst_OnlyOwnersCodes()
    {
        var first = await _host.IssueAsync(Owner);
        _host.Time.Advance(TimeSpan.FromSeconds(1));
        var second = await _host.IssueAsync(Owner);
        await _host.IssueAsync("someone-else");

        var listed = await ListAsync(Owner);

        Assert.Equal([second.Code.Id, first.Code.Id], listed.Select(c => c.Id));
    }

    [Fact]
    public async Task Scan_DoesNotCountAgainstMaxScans()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { MaxScans = 1 });

        for (var i = 0; i < 5; i++)
        {
            Assert.True((await _host.Codes.ScanAsync(issued.Payload, default)).IsSuccess);
        }
        var stored = await _host.Storage.Codes.FindByIdAsync(Owner, issued.Code.Id, default);
        Assert.Equal(0, stored!.ScanCount);
    }

    [Fact]
    public async Task Scan_MalformedAndChecksum_ReturnTypedErrors()
    {
        var issued = await _host.IssueAsync(Owner);
        var wrongChecksum = issued.Payload[..59] + (issued.Payload[59] == 'A' ? 'B' : 'A') + issued.Payload[60..];

        var malformed = await _host.Codes.ScanAsync("hello", default);
        var nothing = await _host.Codes.ScanAsync(null, default);
        var checksum = await _host.Codes.ScanAsync(wrongChecksum, default);

        Assert.Same(QrCallingError.Malformed, malformed.Error);
        Assert.Same(QrCallingError.Malformed, nothing.Error);
        Assert.Same(QrCallingError.Checksum, checksum.Error);
    }

    [Fact]
    public async Task Scan_LinkFormAndLowerCase_Work()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { Label = "gate" });

        var link = await _host.Codes.ScanAsync(CodePayload.ToLink("https://call.example.org/c", issued.Payload), default);
        var lower = await _host.Codes.ScanAsync("  " + issued.Payload.ToLowerInvariant() + "\n", default);

        Assert.Equal("gate", link.Value.Label);
        Assert.Equal("gate", lower.Value.Label);
    }

    [Fact]
    public async Task Scan_PastExpiry_IsUnavailable()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { ExpiresInSeconds = 60 });

        _host.Time.Advance(TimeSpan.FromSeconds(59));
        var before = await _host.Codes.ScanAsync(issued.Payload, default);
        _host.Time.Advance(TimeSpan.FromSeconds(1));
        var at = await _host.Codes.ScanAsync(issued.Payload, default);

        Assert.True(before.IsSuccess);
        Assert.Same(QrCallingError.Unavailable, at.Error);
    }

    [Fact]
    public async Task Resolve_CountScan_UsesUpMaxScansThenUnavailable()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { MaxScans = 2 });

        var first = await _host.Resolver.ResolveAsync(issued.Payload, countScan: true, default);
        var second = await _host.Resolver.ResolveAsync(issued.Payload, countScan: true, default);
        var third = await _host.Resolver.ResolveAsync(issued.Payload, countScan: true, default);
        var preview = await _host.Codes.ScanAsync(issued.Payload, default);

        Assert.Equal(1, first.Value.ScanCount);
        Assert.Equal(2, second.Value.ScanCount);
        Assert.Equal(CodeTestHost.Start, second.Value.LastScannedAt);
        Assert.Same(QrCallingError.Unavailable, third.Error);
        Assert.Same(QrCallingError.Unavailable, preview.Error);
    }

    [Fact]
    public async Task Resolve_CountScan_ParallelCallersNeverExceedMaxScans()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { MaxScans = 3 });

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
            Task.Run(async () => await _host.Resolver.ResolveAsync(issued.Payload, countScan: true, default))));

        Assert.Equal(3, results.Count(r => r.IsSuccess));
        Assert.All(results.Where(r => !r.IsSuccess), r => Assert.Same(QrCallingError.Unavailable, r.Error));
    }

    [Fact]
    public async Task Scan_UnknownRevokedExpiredUsedUp_GiveTheIdenticalError()
    {
        var revoked = await _host.IssueAsync(Owner);
        var expiring = await _host.IssueAsync(Owner, new CodeSpec { ExpiresInSeconds = 10 });
        var usedUp = await _host.IssueAsync(Owner, new CodeSpec { MaxScans = 1 });
        Assert.True((await _host.Codes.RevokeAsync(Owner, revoked.Code.Id, default)).IsSuccess);
        Assert.True((await _host.Resolver.ResolveAsync(usedUp.Payload, countScan: true, default)).IsSuccess);
        _host.Time.Advance(TimeSpan.FromSeconds(10));
        var unknown = CodePayload.Format(CodeToken.New());

        var errors = new List<QrCallingError?>();
        foreach (var payload in new[] { unknown, revoked.Payload, expiring.Payload, usedUp.Payload })
        {
            errors.Add((await _host.Codes.ScanAsync(payload, default)).Error);
            errors.Add((await _host.Resolver.ResolveAsync(payload, countScan: true, default)).Error);
        }

        Assert.All(errors, e => Assert.Same(QrCallingError.Unavailable, e));
    }

    [Fact]
    public async Task Revoke_OwnCode_MakesItUnavailableAndSecondRevokeIsNotFound()
    {
        var issued = await _host.IssueAsync(Owner);

        var first = await _host.Codes.RevokeAsync(Owner, issued.Code.Id, default);
        var second = await _host.Codes.RevokeAsync(Owner, issued.Code.Id, default);

        Assert.True(first.IsSuccess);
        Assert.Same(QrCallingError.NotFound, second.Error);
        Assert.Same(QrCallingError.Unavailable, (await _host.Codes.ScanAsync(issued.Payload, default)).Error);
        var listed = Assert.Single(await ListAsync(Owner));
        Assert.Equal(CodeTestHost.Start, listed.RevokedAt);
    }

    [Fact]
    public async Task Revoke_CodeWithRingingCall_EndsTheCallAsRevoked()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { MaxScans = 1 });
        var calls = _host.Provider.GetRequiredService<QrCalling.Calls.CallService>();
        var started = await calls.StartAsync(issued.Payload, MediaKind.Audio, default);
        Assert.True(started.IsSuccess, started.Error?.Detail);
        // Starting the call counted the one allowed scan.
        Assert.Same(QrCallingError.Unavailable, (await _host.Codes.ScanAsync(issued.Payload, default)).Error);

        Assert.True((await _host.Codes.RevokeAsync(Owner, issued.Code.Id, default)).IsSuccess);

        var call = await _host.Storage.Calls.GetAsync(started.Value.Call.CallId, default);
        Assert.Equal(QrCalling.Calls.CallState.Ended, call!.State);
        Assert.Equal(QrCalling.Calls.CallEndReason.Revoked, call.EndReason);
    }

    [Fact]
    public async Task Rotate_CodeWithRingingCall_EndsTheCallAsRevoked()
    {
        var issued = await _host.IssueAsync(Owner);
        var calls = _host.Provider.GetRequiredService<QrCalling.Calls.CallService>();
        var started = await calls.StartAsync(issued.Payload, MediaKind.Chat, default);
        Assert.True(started.IsSuccess, started.Error?.Detail);

        Assert.True((await _host.Codes.RotateAsync(Owner, issued.Code.Id, default)).IsSuccess);

        var call = await _host.Storage.Calls.GetAsync(started.Value.Call.CallId, default);
        Assert.Equal(QrCalling.Calls.CallEndReason.Revoked, call!.EndReason);
    }

    [Fact]
    public async Task Revoke_OtherOwnersOrUnknownCode_IsNotFoundAndCodeStillScans()
    {
        var issued = await _host.IssueAsync(Owner);

        Assert.Same(QrCallingError.NotFound, (await _host.Codes.RevokeAsync("intruder", issued.Code.Id, default)).Error);
        Assert.Same(QrCallingError.NotFound, (await _host.Codes.RevokeAsync(Owner, "c_unknown", default)).Error);
        Assert.Same(QrCallingError.NotFound, (await _host.Codes.RevokeAsync(Owner, "", default)).Error);
        Assert.True((await _host.Codes.ScanAsync(issued.Payload, default)).IsSuccess);
    }

    [Fact]
    public async Task Rotate_OldBecomesUnavailableNewWorksWithSamePolicy()
    {
        var old = await _host.IssueAsync(Owner, new CodeSpec { Label = "door", Media = MediaKind.Audio, ExpiresInSeconds = 3600, MaxScans = 7 });
        _host.Time.Advance(TimeSpan.FromMinutes(10));

        var rotated = await _host.Codes.RotateAsync(Owner, old.Code.Id, default);

        Assert.True(rotated.IsSuccess);
        var fresh = rotated.Value;
        Assert.NotEqual(old.Code.Id, fresh.Code.Id);
        Assert.NotEqual(old.Payload, fresh.Payload);
        Assert.Equal("door", fresh.Code.Label);
        Assert.Equal(MediaKind.Audio, fresh.Code.Media);
        Assert.Equal(7, fresh.Code.MaxScans);
        Assert.Equal(CodeTestHost.Start.AddMinutes(10), fresh.Code.CreatedAt);
        Assert.Equal(CodeTestHost.Start.AddMinutes(70), fresh.Code.ExpiresAt);
        Assert.Same(QrCallingError.Unavailable, (await _host.Codes.ScanAsync(old.Payload, default)).Error);
        Assert.Equal("door", (await _host.Codes.ScanAsync(fresh.Payload, default)).Value.Label);
        Assert.Equal(CodeTestHost.Start.AddMinutes(10), (await _host.Storage.Codes.FindByIdAsync(Owner, old.Code.Id, default))!.RevokedAt);
    }

    [Fact]
    public async Task Rotate_NeverExpiringCode_NewOneNeverExpires()
    {
        var old = await _host.IssueAsync(Owner);

        var rotated = await _host.Codes.RotateAsync(Owner, old.Code.Id, default);

        Assert.Null(rotated.Value.Code.ExpiresAt);
    }

    [Fact]
    public async Task Rotate_RevokedOtherOwnersOrUnknown_IsNotFound()
    {
        var revoked = await _host.IssueAsync(Owner);
        await _host.Codes.RevokeAsync(Owner, revoked.Code.Id, default);
        var live = await _host.IssueAsync(Owner);

        Assert.Same(QrCallingError.NotFound, (await _host.Codes.RotateAsync(Owner, revoked.Code.Id, default)).Error);
        Assert.Same(QrCallingError.NotFound, (await _host.Codes.RotateAsync("intruder", live.Code.Id, default)).Error);
        Assert.Same(QrCallingError.NotFound, (await _host.Codes.RotateAsync(Owner, "c_nope", default)).Error);
        Assert.Equal(2, (await ListAsync(Owner)).Count);
    }

    [Fact]
    public async Task Scan_PepperRotation_OldCodeScansWhileOldPepperIsListed()
    {
        var storage = new InMemoryStorage();
        IssuedCode issued;
        using (var before = new CodeTestHost(o => o.Pepper = "old-pepper-0123456789", storage))
        {
            issued = await before.IssueAsync(Owner, new CodeSpec { Label = "kept" });
        }

        using var listed = new CodeTestHost(o => { o.Pepper = "new-pepper-0123456789"; o.PreviousPeppers.Add("old-pepper-0123456789"); }, storage);
        using var dropped = new CodeTestHost(o => o.Pepper = "new-pepper-0123456789", storage);

        Assert.Equal("kept", (await listed.Codes.ScanAsync(issued.Payload, default)).Value.Label);
        Assert.Equal(1, (await listed.Resolver.ResolveAsync(issued.Payload, countScan: true, default)).Value.ScanCount);
        Assert.Same(QrCallingError.Unavailable, (await dropped.Codes.ScanAsync(issued.Payload, default)).Error);
        Assert.Same(QrCallingError.Unavailable, (await dropped.Resolver.ResolveAsync(issued.Payload, countScan: true, default)).Error);
        var fresh = await listed.IssueAsync(Owner);
        Assert.True((await dropped.Codes.ScanAsync(fresh.Payload, default)).IsSuccess);
    }

    [Fact]
    public async Task Metrics_IssueAndScans_AreCountedByOutcome()
    {
        var meterFactory = _host.Provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var issuedCounter = new MetricCollector<long>(meterFactory, QrCallingDiagnostics.MeterName, QrCallingDiagnostics.CodesIssued);
        using var scans = new MetricCollector<long>(meterFactory, QrCallingDiagnostics.MeterName, QrCallingDiagnostics.Scans);

        var issued = await _host.IssueAsync(Owner);
        await _host.Codes.ScanAsync(issued.Payload, default);
        await _host.Codes.ScanAsync("junk", default);
        await _host.Codes.ScanAsync(issued.Payload[..59] + (issued.Payload[59] == 'A' ? 'B' : 'A') + issued.Payload[60..], default);
        await _host.Codes.ScanAsync(CodePayload.Format(CodeToken.New()), default);

        Assert.Equal(1, issuedCounter.GetMeasurementSnapshot().EvaluateAsCounter());
        var outcomes = scans.GetMeasurementSnapshot().Select(m => (string)m.Tags["outcome"]!).ToList();
        Assert.Equal(["ok", "malformed", "checksum", "unavailable"], outcomes);
    }

    [Fact]
    public async Task Logs_FullLifecycle_NeverHoldTokenOrPayload()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { Label = "door" });
        await _host.Codes.ScanAsync(issued.Payload, default);
        await _host.Codes.ScanAsync(issued.Payload.ToLowerInvariant()[..60], default);
        await _host.Codes.IssueAsync(Owner, new CodeSpec { MaxScans = 0 }, default);
        var rotated = await _host.Codes.RotateAsync(Owner, issued.Code.Id, default);
        await _host.Codes.ScanAsync(issued.Payload, default);
        await _host.Codes.RevokeAsync(Owner, rotated.Value.Code.Id, default);

        var logs = _host.Logs.AllText;
        Assert.Contains(issued.Code.Id, logs, StringComparison.Ordinal); // something was logged
        foreach (var payload in new[] { issued.Payload, rotated.Value.Payload })
        {
            Assert.DoesNotContain(payload[6..58], logs, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(payload[6..30], logs, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Convert.ToHexString(CodePayload.Parse(payload).Token!.Bytes), logs, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void AddQrCallingCore_BuildsProvider_ResolvesCodeServiceAndRenderer()
    {
        Assert.NotNull(_host.Provider.GetRequiredService<CodeService>());
        Assert.NotNull(_host.Provider.GetRequiredService<QrRenderer>());
        Assert.Same(_host.Provider.GetRequiredService<TokenHasher>(), _host.Provider.GetRequiredService<TokenHasher>());
        Assert.Same(_host.Storage, _host.Provider.GetRequiredService<IStorage>());
        Assert.Equal(80, _host.Provider.GetRequiredService<IOptions<QrCallingOptions>>().Value.MaxLabelLength);
    }

    private async Task<List<CodeRecord>> ListAsync(string owner)
    {
        var list = new List<CodeRecord>();
        await foreach (var code in _host.Codes.ListAsync(owner, default))
        {
            list.Add(code);
        }
        return list;
    }
}
