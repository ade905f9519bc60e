using Xunit;
using FsCheck;
using FsCheck.Fluent;
using QrCalling.Codes;

namespace QrCalling.Core.Tests.Codes;

/// <summary>Bounded FsCheck generators for the code tests.</summary>
internal static class Generators
{
    public const string Base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    public static Gen<byte> Byte => Gen.Choose(0, 255).Select(i => (byte)i);

    public static Gen<CodeToken> Token => Gen.ArrayOf(Byte, CodeToken.Length).Select(b => CodeToken.FromBytes(b));

    public static Arbitrary<CodeToken> Tokens => Token.ToArbitrary();

    /// <summary>Any string up to 100 characters, over the whole BMP plus a bias towards the payload's own characters.</summary>
    public static Arbitrary<string> AnyText =>
        Gen.Choose(0, 100).SelectMany(length => Gen.ArrayOf(
                Gen.OneOf(
                    Gen.Choose(0, 0xFFFF).Select(i => (char)i),
                    Gen.Elements((Base32Alphabet + "pqcPQC:1#089 \t\n").ToCharArray())),
                length))
            .Select(chars => new string(chars))
            .ToArbitrary();

    /// <summary>Texts shaped like a payload (right prefix, lengths and separator) with random base32 characters.</summary>
    public static Arbitrary<string> PayloadShaped =>
        Gen.Zip(
                Gen.ArrayOf(Gen.Elements(Base32Alphabet.ToCharArray()), CodePayload.TokenChars),
                Gen.ArrayOf(Gen.Elements(Base32Alphabet.ToCharArray()), CodePayload.ChecksumChars))
            .Select(t => $"PQC:1:{new string(t.Item1)}:{new string(t.Item2)}")
            .ToArbitrary();

    /// <summary>Random byte arrays up to 200 bytes.</summary>
    public static Arbitrary<byte[]> Bytes =>
        Gen.Choose(0, 200).SelectMany(length => Gen.ArrayOf(Byte, length)).ToArbitrary();
}
