using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Calls;
using QrCalling.Codes;
using Xunit;

namespace QrCalling.Core.Tests.Codes;

/// <summary>Blocking a caller and chat-only mode through CodeService, CallService and CallerControlService.</summary>
public sealed class CallerControlServiceTests : IDisposable
{
    private const string Owner = "owner-1";
    private readonly CodeTestHost _host = new(o => o.Pepper = "pepper-for-tests-0123456789abcdef");

    private CallService Calls => _host.Provider.GetRequiredService<CallService>();
    private CallerControlService Controls => _host.Provider.GetRequiredService<CallerControlService>();

    public void Dispose() => _host.Dispose();

    private static string NewCallerKey() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private async Task<string> CallAsync(IssuedCode code, string? callerKey, MediaKind media = MediaKind.Audio)
    {
        var started = await Calls.StartAsync(code.Payload, media, callerKey, default);
        Assert.True(started.IsSuccess, started.Error?.Code);
        return started.Value.Call.CallId;
    }

    [Fact]
    public async Task BlockCaller_ThatCallerGetsUnavailableOnThatCodeOnly_WithoutSpendingScans()
    {
        var code = await _host.IssueAsync(Owner, new CodeSpec { MaxScans = 10 });
        var other = await _host.IssueAsync(Owner);
        var caller = NewCallerKey();
        var callId = await CallAsync(code, caller);

        var block = await Controls.BlockCallerAsync(Owner, callId, default);
        Assert.True(block.IsSuccess, block.Error?.Code);
        Assert.StartsWith("b_", block.Value.BlockId, StringComparison.Ordinal);

        Assert.Same(QrCallingError.Unavailable, (await _host.Codes.ScanAsync(code.Payload, caller, default)).Error);
        Assert.Same(QrCallingError.Unavailable, (await Calls.StartAsync(code.Payload, MediaKind.Chat, caller, default)).Error);
        // Media the code does not allow would be invalid_request for others: a blocked caller still sees unavailable.
        Assert.Same(QrCallingError.Unavailable, (await Calls.StartAsync(code.Payload, MediaKind.Video, caller, default)).Error);
        Assert.Equal(1, (await _host.Storage.Codes.FindByIdAsync(Owner, code.Code.Id, default))!.ScanCount);
        // Another caller, a caller without a key, and the same caller on another code are not affected.
        await CallAsync(code, NewCallerKey());
        await CallAsync(code, null);
        await CallAsync(other, caller);
        Assert.True((await _host.Codes.ScanAsync(other.Payload, caller, default)).IsSuccess);
    }

    [Fact]
    public async Task Unblock_CallerCanCallAgain()
    {
        var code = await _host.IssueAsync(Owner);
        var caller = NewCallerKey();
        var block = (await Controls.BlockCallerAsync(Owner, await CallAsync(code, caller), default)).Value;

        var listed = (await Controls.ListBlocksAsync(Owner, code.Code.Id, default)).Value;
        Assert.Equal(block.BlockId, Assert.Single(listed).BlockId);
        Assert.True((await Controls.UnblockAsync(Owner, code.Code.Id, block.BlockId, default)).IsSuccess);

        await CallAsync(code, caller);
        Assert.Empty((await Controls.ListBlocksAsync(Owner, code.Code.Id, default)).Value);
        Assert.Same(QrCallingError.NotFound, (await Controls.UnblockAsync(Owner, code.Code.Id, block.BlockId, default)).Error);
    }

    [Fact]
    public async Task BlockCaller_CallWithoutCallerKey_IsCallerUnknown_OtherOwnersCallNotFound()
    {
        var code = await _host.IssueAsync(Owner);
        var anonymous = await CallAsync(code, null);
        var keyed = await CallAsync(code, NewCallerKey());

        Assert.Equal(QrCallingErrorCodes.CallerUnknown, (await Controls.BlockCallerAsync(Owner, anonymous, default)).Error!.Code);
        Assert.Same(QrCallingError.NotFound, (await Controls.BlockCallerAsync("someone-else", keyed, default)).Error);
        Assert.Same(QrCallingError.NotFound, (await Controls.BlockCallerAsync(Owner, "call_unknown", default)).Error);
        Assert.Same(QrCallingError.NotFound, (await Controls.BlockCallerAsync(Owner, "not an id", default)).Error);
        Assert.Same(QrCallingError.NotFound, (await Controls.ListBlocksAsync("someone-else", code.Code.Id, default)).Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB")] // non-canonical last character
    public async Task StartAndScan_MalformedCallerKey_AreInvalidRequest(string callerKey)
    {
        var code = await _host.IssueAsync(Owner, new CodeSpec { MaxScans = 1 });

        Assert.Equal(QrCallingErrorCodes.InvalidRequest, (await _host.Codes.ScanAsync(code.Payload, callerKey, default)).Error!.Code);
        Assert.Equal(QrCallingErrorCodes.InvalidRequest, (await Calls.StartAsync(code.Payload, MediaKind.Audio, callerKey, default)).Error!.Code);
        Assert.Equal(0, (await _host.Storage.Codes.FindByIdAsync(Owner, code.Code.Id, default))!.ScanCount);
    }

    [Fact]
    public async Task ChatOnly_VoiceAndVideoRefused_ChatStarts_NoScanSpent()
    {
        var code = await _host.IssueAsync(Owner, new CodeSpec { MaxScans = 5 });
        var set = await Controls.SetPolicyAsync(Owner, code.Code.Id, new CallPolicy { ChatOnly = true }, default);
        Assert.True(set.IsSuccess);
        Assert.Equal(new CallPolicyDecision(MediaKind.Chat, true, null), set.Value.Now);

        var scan = (await _host.Codes.ScanAsync(code.Payload, NewCallerKey(), default)).Value;
        Assert.Equal(new CallPolicyDecision(MediaKind.Chat, true, null), scan.Policy);
        Assert.Equal(QrCallingErrorCodes.ChatOnly, (await Calls.StartAsync(code.Payload, MediaKind.Audio, default)).Error!.Code);
        Assert.Equal(QrCallingErrorCodes.ChatOnly, (await Calls.StartAsync(code.Payload, MediaKind.Video, default)).Error!.Code);
        Assert.Equal(0, (await _host.Storage.Codes.FindByIdAsync(Owner, code.Code.Id, default))!.ScanCount);
        await CallAsync(code, null, MediaKind.Chat);

        await Controls.SetPolicyAsync(Owner, code.Code.Id, CallPolicy.None, default);
        await CallAsync(code, null, MediaKind.Video);
    }

    [Fact]
    public async Task SetPolicy_InvalidQuietHoursOrOtherOwner_IsRefused()
    {
        var code = await _host.IssueAsync(Owner);
        var bad = new CallPolicy { QuietHours = new QuietHours { Start = new(22, 0), End = new(7, 0), TimeZone = "Nowhere/Atlantis" } };
        var good = new CallPolicy { QuietHours = new QuietHours { Start = new(22, 0), End = new(7, 0), TimeZone = "Europe/Berlin" } };

        Assert.Equal(QrCallingErrorCodes.InvalidRequest, (await Controls.SetPolicyAsync(Owner, code.Code.Id, bad, default)).Error!.Code);
        Assert.Same(QrCallingError.NotFound, (await Controls.SetPolicyAsync("someone-else", code.Code.Id, good, default)).Error);
        Assert.Equal(CallPolicy.None, (await Controls.GetPolicyAsync(Owner, code.Code.Id, default)).Value.Policy);
        Assert.Equal(good, (await Controls.SetPolicyAsync(Owner, code.Code.Id, good, default)).Value.Policy);
    }

    [Fact]
    public async Task DeleteCode_BlocksAndPolicyGoWithIt()
    {
        var code = await _host.IssueAsync(Owner);
        var caller = NewCallerKey();
        await Controls.BlockCallerAsync(Owner, await CallAsync(code, caller), default);
        await Controls.SetPolicyAsync(Owner, code.Code.Id, new CallPolicy { ChatOnly = true }, default);

        Assert.True((await _host.Codes.DeleteAsync(Owner, code.Code.Id, default)).IsSuccess);

        Assert.Empty(await _host.Storage.CallerControls.ListBlocksAsync(code.Code.Id, default));
        Assert.Equal(CallPolicy.None, await _host.Storage.CallerControls.GetPolicyAsync(code.Code.Id, default));
    }

    [Fact]
    public async Task Sweep_DeletesCallerRecordsPastTheCallHistory()
    {
        var code = await _host.IssueAsync(Owner);
        var callId = await CallAsync(code, NewCallerKey());
        Assert.NotNull(await _host.Storage.CallerControls.FindCallerAsync(callId, default));

        _host.Time.Advance(TimeSpan.FromDays(29));
        Assert.Equal(0, await Controls.SweepAsync(default));
        _host.Time.Advance(TimeSpan.FromDays(2) + TimeSpan.FromHours(3));
        Assert.Equal(1, await Controls.SweepAsync(default));

        Assert.Null(await _host.Storage.CallerControls.FindCallerAsync(callId, default));
    }

    [Fact]
    public async Task Logs_NeverHoldTheCallerKeyOrPseudonym()
    {
        var code = await _host.IssueAsync(Owner);
        var caller = NewCallerKey();
        var callId = await CallAsync(code, caller);
        await Controls.BlockCallerAsync(Owner, callId, default);
        await _host.Codes.ScanAsync(code.Payload, caller, default);
        await Calls.StartAsync(code.Payload, MediaKind.Audio, caller, default);
        var pseudonym = (await _host.Storage.CallerControls.FindCallerAsync(callId, default))!.Pseudonym;

        var logs = _host.Logs.AllText;
        Assert.Contains("a caller was blocked", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(caller, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(pseudonym), logs, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToBase64String(pseudonym), logs, StringComparison.Ordinal);
    }
}
