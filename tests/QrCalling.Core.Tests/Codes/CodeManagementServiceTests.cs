using Xunit;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Calls;
using QrCalling.Codes;

namespace QrCalling.Core.Tests.Codes;

/// <summary><see cref="CodeService.UpdateAsync"/> and <see cref="CodeService.DeleteAsync"/>, and chat refused in the call of
/// a code that does not allow it, on in-memory storage with a fake clock.</summary>
public sealed class CodeManagementServiceTests : IDisposable
{
    private const string Owner = "owner-1";
    private readonly CodeTestHost _host = new();

    public void Dispose() => _host.Dispose();

    private CallService Calls => _host.Provider.GetRequiredService<CallService>();

    [Fact]
    public async Task Update_TrimsAndValidatesLikeIssue()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { Label = "Gate" });

        var updated = await _host.Codes.UpdateAsync(Owner, issued.Code.Id, new CodeUpdate { Label = "  Side gate  ", Media = MediaKind.Audio }, default);
        var tooLong = await _host.Codes.UpdateAsync(Owner, issued.Code.Id, new CodeUpdate { Label = new string('x', 81) }, default);
        var control = await _host.Codes.UpdateAsync(Owner, issued.Code.Id, new CodeUpdate { Label = "a\nb" }, default);
        var noMedia = await _host.Codes.UpdateAsync(Owner, issued.Code.Id, new CodeUpdate { Media = MediaKind.None }, default);
        var otherOwner = await _host.Codes.UpdateAsync("owner-2", issued.Code.Id, new CodeUpdate { Label = "Mine" }, default);

        Assert.Equal(("Side gate", MediaKind.Audio), (updated.Value.Label, updated.Value.Media));
        Assert.Equal(QrCallingErrorCodes.InvalidRequest, tooLong.Error!.Code);
        Assert.Equal(QrCallingErrorCodes.InvalidRequest, control.Error!.Code);
        Assert.Equal(QrCallingErrorCodes.InvalidRequest, noMedia.Error!.Code);
        Assert.Equal(QrCallingErrorCodes.NotFound, otherOwner.Error!.Code);
        Assert.Equal(new CodeInfo("Side gate", MediaKind.Audio), (await _host.Codes.ScanAsync(issued.Payload, default)).Value);
    }

    [Fact]
    public async Task Delete_ThenScan_IsUnavailableAndOpenCallsEndRevoked()
    {
        var issued = await _host.IssueAsync(Owner, new CodeSpec { Label = "Gate" });
        var started = await Calls.StartAsync(issued.Payload, MediaKind.Audio, default);

        var deleted = await _host.Codes.DeleteAsync(Owner, issued.Code.Id, default);
        var again = await _host.Codes.DeleteAsync(Owner, issued.Code.Id, default);

        Assert.True(deleted.Value);
        Assert.Equal(QrCallingErrorCodes.NotFound, again.Error!.Code);
        Assert.Same(QrCallingError.Unavailable, (await _host.Codes.ScanAsync(issued.Payload, default)).Error);
        var call = await _host.Storage.Calls.GetAsync(started.Value.Call.CallId, default);
        Assert.Equal((CallState.Ended, CallEndReason.Revoked), (call!.State, call.EndReason));
    }

    [Fact]
    public async Task Chat_CodeWithoutChat_IsMediaNotAllowedAndSignalsStillPass()
    {
        var voiceOnly = await _host.IssueAsync(Owner, new CodeSpec { Label = "Bell", Media = MediaKind.Audio | MediaKind.Video });
        var started = (await Calls.StartAsync(voiceOnly.Payload, MediaKind.Video, default)).Value;
        var caller = CallActor.Caller(started.Call.CallId);

        var chat = await Calls.ChatAsync(caller, started.Call.CallId, "Y2lwaGVy", default);
        var signal = await Calls.SignalAsync(caller, started.Call.CallId, "offer", System.Text.Json.JsonDocument.Parse("{\"sdp\":\"v=0\"}").RootElement, default);

        Assert.Equal(QrCallingErrorCodes.MediaNotAllowed, chat.Error!.Code);
        Assert.True(signal.IsSuccess, signal.Error?.Detail);
        Assert.Equal(MediaKind.Audio | MediaKind.Video, started.Call.CodeMedia);
    }
}
