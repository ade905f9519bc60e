using Xunit;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Codes;

namespace QrCalling.Core.Tests.Codes;

/// <summary>A signed meet-now QR (<c>PQS:1:MEET:…</c>) stands for its code in the Core services: the signature and its
/// expiry are checked, then the code's own state.</summary>
public sealed class SignedMeetCodeTests
{
    private CodeTestHost Host() => new(o => o.SessionQr.EphemeralKey = true);

    [Fact]
    public async Task Scan_SignedMeetPayload_ResolvesToItsCode_UntilTheCodeIsRevoked()
    {
        using var host = Host();
        var issued = await host.IssueAsync("alice", new CodeSpec { Label = "Meet", ExpiresInSeconds = 600 });
        var signer = host.Provider.GetRequiredService<ISessionQrSigner>();
        var signed = signer.Sign(SessionQrKinds.Meet, issued.Payload.Substring(CodePayload.Prefix.Length, CodePayload.TokenChars), issued.Code.ExpiresAt!.Value).Value;

        var scan = await host.Codes.ScanAsync("https://x.example/c#" + signed.Payload.ToLowerInvariant(), null, default);
        Assert.True(scan.IsSuccess, scan.Error?.Detail);
        Assert.Equal("Meet", scan.Value.Label);

        Assert.True((await host.Codes.RevokeAsync("alice", issued.Code.Id, default)).IsSuccess);
        Assert.True(signer.Verify(signed.Payload).IsValid); // the signature alone still verifies…
        Assert.Equal(QrCallingErrorCodes.Unavailable, (await host.Codes.ScanAsync(signed.Payload, null, default)).Error?.Code); // …the code does not
    }

    [Fact]
    public async Task Scan_TamperedExpiredRoomOrMalformedSignedPayload_IsRefusedLikeADeadCode()
    {
        using var host = Host();
        var issued = await host.IssueAsync("alice", new CodeSpec { ExpiresInSeconds = 600 });
        var signer = host.Provider.GetRequiredService<ISessionQrSigner>();
        var token = issued.Payload.Substring(CodePayload.Prefix.Length, CodePayload.TokenChars);
        var signed = signer.Sign(SessionQrKinds.Meet, token, CodeTestHost.Start.AddSeconds(300)).Value.Payload;
        var room = signer.Sign(SessionQrKinds.Room, token, CodeTestHost.Start.AddSeconds(300)).Value.Payload;
        var tampered = signed[..^1] + (signed[^1] == 'A' ? 'Q' : 'A');

        Assert.Equal(QrCallingErrorCodes.Unavailable, (await host.Codes.ScanAsync(tampered, null, default)).Error?.Code);
        Assert.Equal(QrCallingErrorCodes.Unavailable, (await host.Codes.ScanAsync(room, null, default)).Error?.Code);
        Assert.Equal(QrCallingErrorCodes.Malformed, (await host.Codes.ScanAsync("PQS:1:MEET:nope", null, default)).Error?.Code);
        host.Time.Advance(TimeSpan.FromSeconds(300)); // the signature expires before the code
        Assert.Equal(QrCallingErrorCodes.Unavailable, (await host.Codes.ScanAsync(signed, null, default)).Error?.Code);
        Assert.True((await host.Codes.ScanAsync(issued.Payload, null, default)).IsSuccess);
    }
}
