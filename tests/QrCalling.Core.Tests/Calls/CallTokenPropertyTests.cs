using System.Buffers.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using QrCalling.Calls;

namespace QrCalling.Core.Tests.Calls;

/// <summary>Call-token shape checks over generated strings: never a throw, never a look-up for a bad shape.</summary>
public sealed class CallTokenPropertyTests
{
    private static Arbitrary<string> TokenLike() =>
        Gen.OneOf(
            ArbMap.Default.GeneratorFor<string>(),
            Gen.Elements("!", "=", "+", "/", "A", "_", "-", " ", "é", "\0").ArrayOf().Select(parts => "qct_" + string.Concat(parts)),
            Gen.Elements("!", "=", "+", "/", "A", "_", "-", " ").ArrayOf(43).Select(parts => "qct_" + string.Concat(parts)))
        .ToArbitrary();

    [Property(MaxTest = 1000)]
    public Property IsWellFormedCallToken_AnyString_NeverThrowsAndMatchesTheShape() =>
        Prop.ForAll(TokenLike(), token =>
        {
            var expected = token is { Length: 47 } && token.StartsWith("qct_", StringComparison.Ordinal)
                && token[4..].All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
                && Base64Url.DecodeFromChars(token.AsSpan(4)).Length == 32;
            return CallService.IsWellFormedCallToken(token) == expected;
        });

    [Property(MaxTest = 300)]
    public Property AuthenticateCallerAsync_AnyString_IsNullWithoutThrowing() =>
        Prop.ForAll(TokenLike(), token =>
        {
            using var h = CallHarness.Create();
            return h.Calls.AuthenticateCallerAsync(token, CancellationToken.None).AsTask().GetAwaiter().GetResult() is null;
        });
}
