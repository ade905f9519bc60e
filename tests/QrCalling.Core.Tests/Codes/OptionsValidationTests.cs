using Xunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace QrCalling.Core.Tests.Codes;

public sealed class OptionsValidationTests
{
    public static TheoryData<string, Action<QrCallingOptions>> BadOptions() => new()
    {
        { nameof(QrCallingOptions.Pepper), o => o.Pepper = "short" },
        { nameof(QrCallingOptions.MaxLabelLength), o => o.MaxLabelLength = 0 },
        { nameof(QrCallingOptions.QrPixelsPerModule), o => o.QrPixelsPerModule = 41 },
        { nameof(QrCallingOptions.QrErrorCorrection), o => o.QrErrorCorrection = "X" },
        { nameof(QrCallingOptions.MaxCodeLifetime), o => o.MaxCodeLifetime = TimeSpan.FromSeconds(5) },
        { nameof(QrCallingOptions.PublicBaseUrl), o => o.PublicBaseUrl = "not a url" },
        { nameof(QrCallingOptions.DefaultCodeLifetime), o => o.DefaultCodeLifetime = TimeSpan.Zero },
        { nameof(QrCallingOptions.DefaultCodeLifetime), o => o.DefaultCodeLifetime = TimeSpan.FromDays(6 * 365) },
        { nameof(QrCallingOptions.PreviousPeppers), o => o.PreviousPeppers.Add("tiny") },
        { nameof(QrCallingOptions.DelegateRingAfter), o => o.DelegateRingAfter = o.RingTimeout },
        { nameof(QrCallingOptions.MaxDelegatesPerCode), o => o.MaxDelegatesPerCode = 0 },
        { nameof(QrCallingOptions.DelegateInvitationLifetime), o => o.DelegateInvitationLifetime = TimeSpan.Zero },
        { nameof(QrCallingOptions.PendingDeviceLifetime), o => o.PendingDeviceLifetime = TimeSpan.FromSeconds(1) },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Options_BadValue_FailsValidationNamingTheKey(string key, Action<QrCallingOptions> configure)
    {
        using var provider = new ServiceCollection().AddLogging().AddQrCallingCore(configure).Services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<QrCallingOptions>>().Value);

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void StartupValidator_BadValue_Throws(string key, Action<QrCallingOptions> configure)
    {
        using var provider = new ServiceCollection().AddLogging().AddQrCallingCore(configure).Services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_Defaults_AreValid()
    {
        using var provider = new ServiceCollection().AddLogging().AddQrCallingCore(o =>
        {
            o.Pepper = "a-pepper-of-16-chars";
            o.PreviousPeppers.Add("an-older-pepper-16ch");
            o.DefaultCodeLifetime = TimeSpan.FromDays(30);
            o.PublicBaseUrl = "https://call.example.org/c";
        }).Services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
        Assert.Equal("a-pepper-of-16-chars", provider.GetRequiredService<IOptions<QrCallingOptions>>().Value.Pepper);
    }
}
