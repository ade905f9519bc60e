using System.Buffers.Text;
using System.Text.Json;
using QrCalling.Client.E2E;

namespace QrCalling.Client.Tests.E2E;

public sealed class E2EVectorTests
{
    [Theory]
    [MemberData(nameof(Vectors.CaseIndexes), MemberType = typeof(Vectors))]
    public void Derivations_VectorCase_MatchEveryStep(int index)
    {
        var v = Vectors.Cases[index];
        var initiator = v.GetProperty("initiator");
        var responder = v.GetProperty("responder");
        var context = Vectors.Text(v, "contextId");
        var sid = Vectors.Bytes(v, "sid");
        var nonce = Vectors.Bytes(initiator, "nonce");
        var pubI = Vectors.Bytes(initiator, "publicKey");
        var pubR = Vectors.Bytes(responder, "publicKey");
        var fpI = Vectors.Text(initiator, "fingerprint");
        var fpR = Vectors.Text(responder, "fingerprint");

        Assert.Equal(Vectors.Bytes(v, "commit"), E2ECrypto.Commit(context, sid, pubI, fpI, nonce));
        using var keyI = Vectors.Key(initiator);
        using var keyR = Vectors.Key(responder);
        Assert.Equal(pubI, E2ECrypto.ExportPublic(keyI));
        var shared = E2ECrypto.SharedSecret(keyI, pubR);
        Assert.Equal(Vectors.Bytes(v, "sharedSecret"), shared);
        Assert.Equal(shared, E2ECrypto.SharedSecret(keyR, pubI));
        var transcript = E2ECrypto.TranscriptHash(context, sid, pubI, pubR, fpI, fpR, nonce);
        Assert.Equal(Vectors.Bytes(v, "transcriptHash"), transcript);
        var (i2r, r2i, code) = E2ECrypto.Derive(shared, transcript);
        Assert.Equal(Vectors.Bytes(v, "initiatorToResponderKey"), i2r);
        Assert.Equal(Vectors.Bytes(v, "responderToInitiatorKey"), r2i);
        Assert.Equal(Vectors.Text(v, "checkCode"), code);
        foreach (var m in v.GetProperty("messages").EnumerateArray())
        {
            var fromInitiator = Vectors.Text(m, "from") == "initiator";
            var sealedText = E2ECrypto.Seal(fromInitiator ? i2r : r2i, fromInitiator ? E2ECrypto.InitiatorToResponder : E2ECrypto.ResponderToInitiator,
                m.GetProperty("counter").GetUInt64(), Vectors.Text(m, "plaintext"));
            Assert.Equal(Vectors.Text(m, "ciphertext"), sealedText);
        }
    }

    [Theory]
    [MemberData(nameof(Vectors.CaseIndexes), MemberType = typeof(Vectors))]
    public void Sessions_VectorKeysThroughTheProtocol_SameCheckCodeAndDecryptTheVectorMessages(int index)
    {
        var v = Vectors.Cases[index];
        var initiatorJson = v.GetProperty("initiator");
        var responderJson = v.GetProperty("responder");
        using var initiator = new E2ESession(E2ERole.Initiator, Vectors.Text(v, "contextId"), Vectors.Text(initiatorJson, "fingerprint"),
            new FixedEntropy([Vectors.Key(initiatorJson)], [Vectors.Bytes(v, "sid"), Vectors.Bytes(initiatorJson, "nonce")]));
        using var responder = new E2ESession(E2ERole.Responder, Vectors.Text(v, "contextId"), Vectors.Text(responderJson, "fingerprint"),
            new FixedEntropy([Vectors.Key(responderJson)], []));

        var commit = initiator.Start();
        Assert.Equal(Vectors.Text(v, "commit"), commit.Commit);
        var key = responder.Receive(E2EMessage.Parse(commit.ToJson())).Reply!;
        Assert.Equal(Vectors.Text(responderJson, "publicKey"), key.PublicKey);
        var reveal = initiator.Receive(E2EMessage.Parse(key.ToJson()));
        Assert.True(reveal.Established);
        Assert.True(responder.Receive(E2EMessage.Parse(reveal.Reply!.ToJson())).Established);

        Assert.Equal(Vectors.Text(v, "checkCode"), initiator.CheckCode);
        Assert.Equal(Vectors.Text(v, "checkCode"), responder.CheckCode);
        Assert.Equal(E2EFingerprint.Normalize(Vectors.Text(responderJson, "fingerprint")), initiator.PeerFingerprint);
        Assert.Equal(E2EFingerprint.Normalize(Vectors.Text(initiatorJson, "fingerprint")), responder.PeerFingerprint);
        ulong lastI = 0, lastR = 0;
        foreach (var m in v.GetProperty("messages").EnumerateArray())
        {
            var fromInitiator = Vectors.Text(m, "from") == "initiator";
            var counter = m.GetProperty("counter").GetUInt64();
            var plain = (fromInitiator ? responder : initiator).Decrypt(Vectors.Text(m, "ciphertext"));
            Assert.Equal(Vectors.Text(m, "plaintext"), plain.Text);
            Assert.Equal(counter, plain.Counter);
            Assert.Equal(counter - (fromInitiator ? lastI : lastR) - 1, plain.Missed);
            if (fromInitiator) lastI = counter; else lastR = counter;
        }
    }

    [Fact]
    public void CheckCode_FingerprintSubstitutedInOneView_Differs()
    {
        // Cases 0 and 2 have the same keys, sid and nonce; only the owner's fingerprint differs.
        Assert.NotEqual(Vectors.Text(Vectors.Cases[0], "checkCode"), Vectors.Text(Vectors.Cases[2], "checkCode"));
        Assert.Equal(Vectors.Text(Vectors.Cases[0], "sharedSecret"), Vectors.Text(Vectors.Cases[2], "sharedSecret"));
    }

    [Fact]
    public void Message_ToJsonAndParse_RoundTripsAndRefusesOtherVersions()
    {
        var message = new E2EMessage { Kind = E2EMessage.RevealKind, Sid = "c2lk", PublicKey = "cGs", Nonce = "bm9uY2U", Fingerprint = "" };
        Assert.Equal(message, E2EMessage.Parse(message.ToJson()));
        Assert.Equal("version", Assert.Throws<E2EProtocolException>(() => E2EMessage.Parse("""{"e2e":2,"kind":"restart"}""")).Reason);
        Assert.Equal("malformed", Assert.Throws<E2EProtocolException>(() => E2EMessage.Parse("""{"publicKey":"BAAA"}""")).Reason);
        Assert.Equal("malformed", Assert.Throws<E2EProtocolException>(() => E2EMessage.Parse("""{"e2e":1,"kind":"key","sid":"x"}""")).Reason);
        Assert.Equal("malformed", Assert.Throws<E2EProtocolException>(() => E2EMessage.Parse("[1]")).Reason);
        using var doc = JsonDocument.Parse(message.ToJson());
        Assert.Equal(1, doc.RootElement.GetProperty("e2e").GetInt32());
        Assert.True(Base64Url.IsValid("bm9uY2U"));
    }

    [Fact]
    public void FromSdp_FingerprintLines_NormalizedOneValueOrNull()
    {
        const string sdp = "v=0\r\na=fingerprint:SHA-256 ab:cd:ef\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 AB:CD:EF\r\n";
        Assert.Equal("sha-256 AB:CD:EF", E2EFingerprint.FromSdp(sdp));
        Assert.Null(E2EFingerprint.FromSdp("v=0\r\nm=audio 9 RTP/AVP 0\r\n"));
        Assert.Null(E2EFingerprint.FromSdp(sdp + "a=fingerprint:sha-256 00:11\r\n"));
        Assert.Equal("", E2EFingerprint.Normalize(null));
    }
}
