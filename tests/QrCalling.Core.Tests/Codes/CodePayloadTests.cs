using Xunit;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using QrCalling.Codes;

namespace QrCalling.Core.Tests.Codes;

public sealed class CodePayloadTests
{
    // Characters tried as substitutes: the whole base32 alphabet and a few that are not in it.
    private const string Substitutes = Generators.Base32Alphabet + "01890:#/ -_=.\u00e9";

    [Fact]
    public void Format_KnownTokens_MatchesIndependentEncoding()
    {
        // Expected values from Python's base64.b32encode and zlib.crc32.
        var zero = CodeToken.FromBytes(new byte[32]);
        var counting = CodeToken.FromBytes(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());

        Assert.Equal("PQC:1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:DEFFLLI", CodePayload.Format(zero));
        Assert.Equal("PQC:1:AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ:SETH5CQ", CodePayload.Format(counting));
    }

    [Property(MaxTest = 200)]
    public Property FormatThenParse_AnyToken_RoundTrips() => Prop.ForAll(Generators.Tokens, token =>
    {
        var payload = CodePayload.Format(token);
        var parsed = CodePayload.Parse(payload);
        return payload.Length == CodePayload.Length
            && payload == payload.ToUpperInvariant()
            && parsed.Status == PayloadStatus.Ok
            && token.Equals(parsed.Token);
    });

    [Property(MaxTest = 100)]
    public Property Parse_LowerMixedCaseAndWhiteSpace_GivesSameToken() => Prop.ForAll(
        Generators.Tokens, Gen.ArrayOf(Gen.Elements(true, false), CodePayload.Length).ToArbitrary(), (token, upper) =>
        {
            var payload = CodePayload.Format(token);
            var mixed = new string(payload.Select((c, i) => upper[i] ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c)).ToArray());
            AssertAllParseTo(token, payload.ToLowerInvariant(), mixed, $"  {mixed}\t\r\n", $"\n{payload} ");
        });

    [Property(MaxTest = 100)]
    public Property Parse_LinkForm_GivesSameToken() => Prop.ForAll(Generators.Tokens, token =>
    {
        var payload = CodePayload.Format(token);
        AssertAllParseTo(token,
            CodePayload.ToLink("https://call.example.org/c", payload),
            CodePayload.ToLink("https://call.example.org/c#", payload.ToLowerInvariant()),
            "https://call.example.org/#/app#" + payload,
            "  HTTPS://CALL.EXAMPLE.ORG/C# " + payload + " \n",
            "#" + payload);
    });

    [Property(MaxTest = 100)]
    public Property Parse_EverySingleCharacterSubstitution_IsRejected() => Prop.ForAll(Generators.Tokens, token =>
    {
        var payload = CodePayload.Format(token);
        var chars = payload.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            foreach (var substitute in Substitutes)
            {
                if (char.ToUpperInvariant(substitute) == chars[i])
                {
                    continue;
                }
                var changed = (char[])chars.Clone();
                changed[i] = substitute;
                var status = CodePayload.Parse(new string(changed)).Status;
                Assert.NotEqual(PayloadStatus.Ok, status);
                // A base32 character inside the token (not its last, partly unused one) keeps the format: the
                // checksum must catch it.
                if (i >= 6 && i < 6 + CodePayload.TokenChars - 1 && Generators.Base32Alphabet.Contains(substitute))
                {
                    Assert.Equal(PayloadStatus.Checksum, status);
                }
            }
        }
    });

    [Property(MaxTest = 200)]
    public Property Parse_EveryAdjacentTransposition_IsRejected() => Prop.ForAll(Generators.Tokens, token =>
    {
        var payload = CodePayload.Format(token);
        for (var i = 0; i + 1 < payload.Length; i++)
        {
            if (payload[i] == payload[i + 1])
            {
                continue;
            }
            var chars = payload.ToCharArray();
            (chars[i], chars[i + 1]) = (chars[i + 1], chars[i]);
            Assert.NotEqual(PayloadStatus.Ok, CodePayload.Parse(new string(chars)).Status);
        }
    });

    [Property(MaxTest = 500)]
    public Property Parse_AnyText_NeverThrowsNorGivesOk() => Prop.ForAll(Generators.AnyText, text =>
    {
        var parsed = CodePayload.Parse(text);
        return parsed.Status != PayloadStatus.Ok && parsed.Token is null;
    });

    [Property(MaxTest = 500)]
    public Property Parse_PayloadShapedRandomText_NeverGivesOk() => Prop.ForAll(Generators.PayloadShaped, text =>
        CodePayload.Parse(text).Status is PayloadStatus.Malformed or PayloadStatus.Checksum);

    [Property(MaxTest = 300)]
    public Property Parse_RandomBytesAsUtf8OrLatin1_NeverThrowsNorGivesOk() => Prop.ForAll(Generators.Bytes, bytes =>
        CodePayload.Parse(Encoding.UTF8.GetString(bytes)).Status != PayloadStatus.Ok
        && CodePayload.Parse(Encoding.Latin1.GetString(bytes)).Status != PayloadStatus.Ok);

    [Fact]
    public void Parse_NullEmptyAndNearMisses_AreMalformed()
    {
        var payload = CodePayload.Format(CodeToken.New());
        var cases = new[]
        {
            null, "", "   ", "#", "pqc", "PQC:1:", payload[..^1], payload + "A", payload.Replace("PQC:1:", "PQC:2:"),
            payload.Replace("PQC:1:", "QRC:1:"), payload.Replace("PQC:1:", "PQC-1:"), payload[..58] + "-" + payload[59..],
            payload + "#", "https://call.example.org/c#", payload.Insert(20, " "), payload.Replace('A', '=') + "=",
        };
        foreach (var text in cases)
        {
            Assert.Equal(PayloadStatus.Malformed, CodePayload.Parse(text).Status);
        }
    }

    [Property(MaxTest = 100)]
    public Property Parse_NonCanonicalLastCharacter_IsMalformed() => Prop.ForAll(
        Generators.Tokens, Gen.Choose(1, 15).ToArbitrary(), (token, lowBits) =>
        {
            var payload = CodePayload.Format(token).ToCharArray();
            // Last token character: 1 used bit, 4 unused. Last checksum character: 2 used bits, 3 unused.
            var tokenLast = 6 + CodePayload.TokenChars - 1;
            var tokenCopy = (char[])payload.Clone();
            tokenCopy[tokenLast] = Generators.Base32Alphabet[Generators.Base32Alphabet.IndexOf(payload[tokenLast]) | lowBits];
            var checksumCopy = (char[])payload.Clone();
            checksumCopy[^1] = Generators.Base32Alphabet[Generators.Base32Alphabet.IndexOf(payload[^1]) | (lowBits & 7 | 1)];

            Assert.Equal(PayloadStatus.Malformed, CodePayload.Parse(new string(tokenCopy)).Status);
            Assert.Equal(PayloadStatus.Malformed, CodePayload.Parse(new string(checksumCopy)).Status);
        });

    [Fact]
    public void Parse_WrongChecksum_IsChecksum()
    {
        var payload = CodePayload.Format(CodeToken.New());
        var other = CodePayload.Format(CodeToken.New());

        var swapped = payload[..59] + other[59..];

        Assert.Equal(PayloadStatus.Checksum, CodePayload.Parse(swapped).Status);
    }

    [Fact]
    public void New_TenThousandTokens_AreDistinct()
    {
        var seen = new HashSet<string>();
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(seen.Add(Convert.ToHexString(CodeToken.New().Bytes)), "duplicate token");
        }
        Assert.Equal(10_000, seen.Count);
    }

    [Fact]
    public void CodeToken_ToString_NeverShowsTheToken()
    {
        var token = CodeToken.New();
        var text = token.ToString();

        Assert.DoesNotContain(Convert.ToHexString(token.Bytes), text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(CodePayload.Format(token)[6..58], text, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("https://call.example.org/c", "https://call.example.org/c#PQC:1:X")]
    [InlineData("https://call.example.org/c#", "https://call.example.org/c#PQC:1:X")]
    [InlineData("https://call.example.org/c##", "https://call.example.org/c#PQC:1:X")]
    public void ToLink_BaseWithOrWithoutHash_JoinsWithOneHash(string baseUrl, string expected)
    {
        Assert.Equal(expected, CodePayload.ToLink(baseUrl, "PQC:1:X"));
    }

    private static void AssertAllParseTo(CodeToken token, params string[] texts)
    {
        foreach (var text in texts)
        {
            var parsed = CodePayload.Parse(text);
            Assert.Equal(PayloadStatus.Ok, parsed.Status);
            Assert.Equal(token, parsed.Token);
        }
    }
}
