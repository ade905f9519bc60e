using System.Buffers.Text;
using System.Text.Json;
using QrCalling.Client.E2E;

namespace QrCalling.Client.Tests.E2E;

/// <summary>The rooms extension of E2E v1 (<see cref="RoomE2E"/>) against tests/vectors/room-e2e-v1.json (written by
/// tests/vectors/make-room-e2e-v1.py; the web app's room-e2e.js is checked against the same file in Chromium).</summary>
public sealed class RoomE2EVectorTests
{
    private static readonly IReadOnlyList<JsonElement> Cases = Load();

    public static IEnumerable<object[]> CaseIndexes => Enumerable.Range(0, Cases.Count).Select(i => new object[] { i });

    private static List<JsonElement> Load()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "room-e2e-v1.json")));
        return document.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToList();
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void PairwiseSessions_VectorCase_RolesContextCodeAndMessagesMatch(int index)
    {
        var v = Cases[index];
        var roomId = Vectors.Text(v, "roomId");
        var initiatorId = Vectors.Text(v, "initiatorId");
        var responderId = Vectors.Text(v, "responderId");
        var a = Vectors.Text(v, "participantA");
        var b = Vectors.Text(v, "participantB");
        Assert.Equal(a == initiatorId ? E2ERole.Initiator : E2ERole.Responder, RoomE2E.PairRole(a, b));
        Assert.Equal(b == initiatorId ? E2ERole.Initiator : E2ERole.Responder, RoomE2E.PairRole(b, a));
        Assert.Equal(Vectors.Text(v, "contextId"), RoomE2E.ContextId(roomId, a, b));
        Assert.Equal(Vectors.Text(v, "contextId"), RoomE2E.ContextId(roomId, b, a));
        var initiatorJson = v.GetProperty("initiator");
        var responderJson = v.GetProperty("responder");
        using var initiator = RoomE2E.CreateSession(roomId, initiatorId, responderId,
            new FixedEntropy([Vectors.Key(initiatorJson)], [Vectors.Bytes(v, "sid"), Vectors.Bytes(initiatorJson, "nonce")]));
        using var responder = RoomE2E.CreateSession(roomId, responderId, initiatorId, new FixedEntropy([Vectors.Key(responderJson)], []));
        Assert.Equal(E2ERole.Initiator, initiator.Role);

        // The responder arrived last: it asks for a commit (restart); the initiator commits.
        var commit = initiator.Receive(E2EMessage.Parse(responder.Start().ToJson())).Reply!;
        Assert.Equal(Vectors.Text(v, "commit"), commit.Commit);
        var key = responder.Receive(E2EMessage.Parse(commit.ToJson())).Reply!;
        var reveal = initiator.Receive(E2EMessage.Parse(key.ToJson())).Reply!;
        Assert.True(responder.Receive(E2EMessage.Parse(reveal.ToJson())).Established);
        Assert.Equal(Vectors.Text(v, "checkCode"), initiator.CheckCode);
        Assert.Equal(Vectors.Text(v, "checkCode"), responder.CheckCode);

        var messages = v.GetProperty("messages").EnumerateArray().ToList();
        var first = messages.First(m => Vectors.Text(m, "from") == "initiator");
        Assert.Equal(Vectors.Text(first, "plaintext"), RoomE2E.Envelope(Vectors.Text(first, "kind"), first.GetProperty("body")));
        Assert.Equal(Vectors.Text(first, "ciphertext"), RoomE2E.Encrypt(initiator, Vectors.Text(first, "kind"), first.GetProperty("body")));
        foreach (var m in messages)
        {
            var receiver = Vectors.Text(m, "from") == "initiator" ? responder : initiator;
            var plain = RoomE2E.Decrypt(receiver, Vectors.Text(m, "kind"), Vectors.Text(m, "ciphertext"));
            Assert.Equal(JsonSerializer.Serialize(m.GetProperty("body")), JsonSerializer.Serialize(plain.Body));
            Assert.Equal(m.GetProperty("counter").GetUInt64(), plain.Counter);
        }
    }

    [Fact]
    public void RelabelledMessages_AreRefused_AndAFreshSessionIsANewCode()
    {
        var v = Cases[0];
        var roomId = Vectors.Text(v, "roomId");
        // Carol sorts before Bob, as Alice does: Bob is the responder of both pairs, so a relabelled message has the right
        // direction and only the pair key tells it apart.
        var (alice, bob, carol) = (Vectors.Text(v, "initiatorId"), Vectors.Text(v, "responderId"), "p_A000000000000000000000");
        using var aliceBob = RoomE2E.CreateSession(roomId, alice, bob);
        using var bobAlice = RoomE2E.CreateSession(roomId, bob, alice);
        Establish(aliceBob, bobAlice);
        using var carolBob = RoomE2E.CreateSession(roomId, carol, bob);
        using var bobCarol = RoomE2E.CreateSession(roomId, bob, carol);
        Establish(carolBob, bobCarol);
        Assert.Equal(E2ERole.Responder, bobCarol.Role);
        Assert.NotEqual(aliceBob.CheckCode, bobCarol.CheckCode);

        var toBob = RoomE2E.EncryptText(aliceBob, "hello Bob");
        Assert.Equal("kind", Assert.Throws<E2EProtocolException>(() => RoomE2E.Decrypt(bobAlice, "file-offer", toBob)).Reason);
        var again = RoomE2E.EncryptText(aliceBob, "from Alice, said to be Carol's");
        Assert.Equal("authentication", Assert.Throws<E2EProtocolException>(() => RoomE2E.Decrypt(bobCarol, "text", again)).Reason);
        Assert.Equal("from Alice, said to be Carol's", RoomE2E.Decrypt(bobAlice, "text", again).Body.GetString());
        Assert.Equal("replay", Assert.Throws<E2EProtocolException>(() => RoomE2E.Decrypt(bobAlice, "text", again)).Reason);

        // Alice reloads: a fresh session commits again, Bob's pair resets (visibly) and gets a new code.
        var before = bobAlice.CheckCode;
        using var aliceAgain = RoomE2E.CreateSession(roomId, alice, bob);
        var reset = bobAlice.Receive(E2EMessage.Parse(aliceAgain.Start().ToJson()));
        Assert.True(reset.Reset);
        Assert.Null(bobAlice.CheckCode);
        var reveal = aliceAgain.Receive(E2EMessage.Parse(reset.Reply!.ToJson())).Reply!;
        Assert.True(bobAlice.Receive(E2EMessage.Parse(reveal.ToJson())).Established);
        Assert.Equal(aliceAgain.CheckCode, bobAlice.CheckCode);
        Assert.NotEqual(before, bobAlice.CheckCode);
        Assert.Equal(2, bobAlice.Generation);
    }

    private static void Establish(E2ESession initiator, E2ESession responder)
    {
        var key = responder.Receive(E2EMessage.Parse(initiator.Start().ToJson())).Reply!;
        var reveal = initiator.Receive(E2EMessage.Parse(key.ToJson())).Reply!;
        Assert.True(responder.Receive(E2EMessage.Parse(reveal.ToJson())).Established);
    }
}
