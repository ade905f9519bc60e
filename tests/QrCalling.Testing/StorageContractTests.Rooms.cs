using System.Security.Cryptography;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

// Meet-now rooms (issue 12 §2): the participant cap (with a race for the last seat), seq assignment under parallel
// senders, per-recipient reads, history bounds by count and bytes, acknowledgements, leave and the sweep.
public abstract partial class StorageContractTests
{
    private static readonly RoomLimits WideRoomLimits = new(200, 1024 * 1024, 512 * 1024);

    private static RoomRecord NewRoom(int maxParticipants = 8, DateTimeOffset? expiresAt = null) => new()
    {
        RoomId = NewId("R").ToUpperInvariant(),
        SecretHash = RandomNumberGenerator.GetBytes(32),
        CreatedAt = T0,
        ExpiresAt = expiresAt ?? T0.AddHours(24),
        MaxParticipants = maxParticipants,
        LastActivityAt = T0,
    };

    private static RoomParticipant NewParticipant(RoomRecord room, string? name = null) => new()
    {
        RoomId = room.RoomId,
        ParticipantId = NewId("p"),
        TokenHash = RandomNumberGenerator.GetBytes(32),
        DisplayName = name,
        JoinedAt = T0.AddSeconds(1),
    };

    private async Task<(RoomRecord Room, RoomParticipant[] Participants)> RoomWithAsync(int count, int maxParticipants = 8)
    {
        var room = NewRoom(maxParticipants);
        await Storage.Rooms.CreateAsync(room, default);
        var participants = new RoomParticipant[count];
        for (var i = 0; i < count; i++)
        {
            participants[i] = NewParticipant(room, "n" + i);
            Assert.Equal(RoomJoinStatus.Joined, await Storage.Rooms.JoinAsync(participants[i], T0.AddSeconds(1), default));
        }
        return (room, participants);
    }

    private static RoomMessage To(RoomParticipant from, string kind, params (RoomParticipant To, string Ciphertext)[] parts) =>
        new(from.ParticipantId, kind, T0.AddSeconds(2), parts.ToDictionary(p => p.To.ParticipantId, p => p.Ciphertext));

    [Fact]
    public async Task Rooms_CreateJoinAndFind_RoundTrip()
    {
        var room = NewRoom(maxParticipants: 3);
        await Storage.Rooms.CreateAsync(room, default);
        var stored = await Storage.Rooms.GetAsync(room.RoomId, default);
        Assert.NotNull(stored);
        Assert.Equal((room.RoomId, room.ExpiresAt, 3), (stored!.RoomId, stored.ExpiresAt, stored.MaxParticipants));
        Assert.Equal(room.SecretHash, stored.SecretHash);

        var alice = NewParticipant(room, "Alice");
        Assert.Equal(RoomJoinStatus.Joined, await Storage.Rooms.JoinAsync(alice, T0.AddSeconds(1), default));
        var found = await Storage.Rooms.FindParticipantAsync(alice.TokenHash, default);
        Assert.Equal((alice.ParticipantId, "Alice", room.RoomId), (found!.ParticipantId, found.DisplayName, found.RoomId));
        Assert.Null(await Storage.Rooms.FindParticipantAsync(RandomNumberGenerator.GetBytes(32), default));
        Assert.True(await Storage.Rooms.SetPublicKeyAsync(room.RoomId, alice.ParticipantId, "key-a", default));
        Assert.False(await Storage.Rooms.SetPublicKeyAsync(room.RoomId, "p_nobody", "key-x", default));
        var listed = Assert.Single(await Storage.Rooms.ListParticipantsAsync(room.RoomId, default));
        Assert.Equal("key-a", listed.PublicKey);
        Assert.Null(await Storage.Rooms.GetAsync(NewId("R"), default));
    }

    [Fact]
    public async Task Rooms_Join_RefusesFullExpiredAndUnknownRooms()
    {
        var (room, _) = await RoomWithAsync(2, maxParticipants: 2);
        Assert.Equal(RoomJoinStatus.Full, await Storage.Rooms.JoinAsync(NewParticipant(room), T0.AddSeconds(3), default));
        Assert.Equal(2, (await Storage.Rooms.ListParticipantsAsync(room.RoomId, default)).Count);

        var expiring = NewRoom(expiresAt: T0.AddMinutes(5));
        await Storage.Rooms.CreateAsync(expiring, default);
        Assert.Equal(RoomJoinStatus.Unavailable, await Storage.Rooms.JoinAsync(NewParticipant(expiring), T0.AddMinutes(5), default));
        Assert.Equal(RoomJoinStatus.Unavailable, await Storage.Rooms.JoinAsync(NewParticipant(NewRoom()), T0, default));
    }

    [Fact]
    public async Task Rooms_TwoJoinsRaceForTheLastSeat_ExactlyOneWins()
    {
        for (var round = 0; round < 5; round++)
        {
            var (room, _) = await RoomWithAsync(2, maxParticipants: 3);
            var contenders = Enumerable.Range(0, 2).Select(_ => NewParticipant(room)).ToArray();
            var results = await Task.WhenAll(contenders.Select(c => Task.Run(async () => await Storage.Rooms.JoinAsync(c, T0.AddSeconds(2), default))));
            Assert.Equal(1, results.Count(r => r == RoomJoinStatus.Joined));
            Assert.Equal(1, results.Count(r => r == RoomJoinStatus.Full));
            Assert.Equal(3, (await Storage.Rooms.ListParticipantsAsync(room.RoomId, default)).Count);
            var loser = contenders[Array.IndexOf(results, RoomJoinStatus.Full)];
            Assert.Null(await Storage.Rooms.FindParticipantAsync(loser.TokenHash, default));
        }
    }

    [Fact]
    public async Task Rooms_ParallelSenders_GetUniqueGapFreeSeqs()
    {
        var (room, p) = await RoomWithAsync(3);
        var sends = Enumerable.Range(0, 30).Select(i => Task.Run(async () =>
            await Storage.Rooms.SendAsync(room.RoomId, To(p[i % 2], "text", (p[2], "m" + i)), WideRoomLimits, default)));
        var results = await Task.WhenAll(sends);
        Assert.All(results, r => Assert.Equal(RoomSendStatus.Sent, r.Status));
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), results.Select(r => r.Seq).Order());
        var read = await Storage.Rooms.ReadAsync(room.RoomId, p[2].ParticipantId, 0, 500, 1024 * 1024, default);
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), read.Select(d => d.Seq));
    }

    [Fact]
    public async Task Rooms_Read_GivesEachParticipantOnlyItsOwnCiphertext()
    {
        var (room, p) = await RoomWithAsync(3);
        var sent = await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], "for-one"), (p[2], "for-two")), WideRoomLimits, default);
        await Storage.Rooms.SendAsync(room.RoomId, To(p[1], "text", (p[0], "one-to-zero")), WideRoomLimits, default);

        var one = Assert.Single(await Storage.Rooms.ReadAsync(room.RoomId, p[1].ParticipantId, 0, 500, 1 << 20, default));
        Assert.Equal((sent.Seq, p[0].ParticipantId, "text", "for-one"), (one.Seq, one.From, one.Kind, one.Ciphertext));
        var two = Assert.Single(await Storage.Rooms.ReadAsync(room.RoomId, p[2].ParticipantId, 0, 500, 1 << 20, default));
        Assert.Equal("for-two", two.Ciphertext);
        var zero = Assert.Single(await Storage.Rooms.ReadAsync(room.RoomId, p[0].ParticipantId, 0, 500, 1 << 20, default));
        Assert.Equal(("one-to-zero", 2L), (zero.Ciphertext, zero.Seq));
        Assert.Empty(await Storage.Rooms.ReadAsync(room.RoomId, p[2].ParticipantId, sent.Seq, 500, 1 << 20, default));

        // A late joiner holds no ciphertext of earlier entries, so reads nothing.
        var late = NewParticipant(room);
        await Storage.Rooms.JoinAsync(late, T0.AddSeconds(3), default);
        Assert.Empty(await Storage.Rooms.ReadAsync(room.RoomId, late.ParticipantId, 0, 500, 1 << 20, default));
    }

    [Fact]
    public async Task Rooms_Send_RefusesUnknownRecipientsAndNonParticipants()
    {
        var (room, p) = await RoomWithAsync(2);
        var unknown = new RoomMessage(p[0].ParticipantId, "text", T0.AddSeconds(2), new Dictionary<string, string> { ["p_nobody"] = "x" });
        Assert.Equal(RoomSendStatus.UnknownParticipant, (await Storage.Rooms.SendAsync(room.RoomId, unknown, WideRoomLimits, default)).Status);
        var self = To(p[0], "text", (p[0], "x"));
        Assert.Equal(RoomSendStatus.UnknownParticipant, (await Storage.Rooms.SendAsync(room.RoomId, self, WideRoomLimits, default)).Status);
        var stranger = new RoomMessage("p_stranger", "text", T0.AddSeconds(2), new Dictionary<string, string> { [p[0].ParticipantId] = "x" });
        Assert.Equal(RoomSendStatus.Unavailable, (await Storage.Rooms.SendAsync(room.RoomId, stranger, WideRoomLimits, default)).Status);
        Assert.Equal(RoomSendStatus.Unavailable, (await Storage.Rooms.SendAsync(NewId("R"), To(p[0], "text", (p[1], "x")), WideRoomLimits, default)).Status);
        // Nothing refused used a seq.
        Assert.Equal(1, (await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], "ok")), WideRoomLimits, default)).Seq);
    }

    [Fact]
    public async Task Rooms_History_IsBoundedByCount_DroppingAcknowledgedEntriesFirst()
    {
        var (room, p) = await RoomWithAsync(2);
        var limits = new RoomLimits(3, 1 << 20, 1 << 20);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(RoomSendStatus.Sent, (await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], "m" + i)), limits, default)).Status);
        }
        // Nothing acknowledged: the fourth would push out an entry its recipient has not received, so it is refused.
        Assert.Equal(RoomSendStatus.Full, (await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], "m4")), limits, default)).Status);
        await Storage.Rooms.AcknowledgeAsync(room.RoomId, p[1].ParticipantId, 2, default);
        Assert.Equal(4, (await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], "m4")), limits, default)).Seq);
        var kept = await Storage.Rooms.ReadAsync(room.RoomId, p[1].ParticipantId, 0, 500, 1 << 20, default);
        Assert.Equal(["m2", "m3", "m4"], kept.Select(d => d.Ciphertext));
    }

    [Fact]
    public async Task Rooms_History_IsBoundedByBytes()
    {
        var (room, p) = await RoomWithAsync(2);
        var limits = new RoomLimits(100, 3 * (1000 + RoomLimits.Overhead), 1 << 20);
        var body = new string('x', 999); // plus one digit: 1000 bytes each
        for (var i = 1; i <= 3; i++)
        {
            await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], body + i)), limits, default);
        }
        await Storage.Rooms.AcknowledgeAsync(room.RoomId, p[1].ParticipantId, 3, default);
        Assert.Equal(RoomSendStatus.Sent, (await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], body + 4)), limits, default)).Status);
        var kept = await Storage.Rooms.ReadAsync(room.RoomId, p[1].ParticipantId, 0, 500, 1 << 20, default);
        Assert.Equal([2L, 3L, 4L], kept.Select(d => d.Seq));
    }

    [Fact]
    public async Task Rooms_Window_RefusesPastTheRecipientsBudget_AndAckFreesIt()
    {
        var (room, p) = await RoomWithAsync(3);
        var limits = new RoomLimits(100, 1 << 20, 2 * (100 + RoomLimits.Overhead));
        var body = new string('y', 100);
        Assert.Equal(RoomSendStatus.Sent, (await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], body)), limits, default)).Status);
        Assert.Equal(RoomSendStatus.Sent, (await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], body)), limits, default)).Status);
        Assert.Equal(2 * (100 + RoomLimits.Overhead), await Storage.Rooms.GetPendingBytesAsync(room.RoomId, p[1].ParticipantId, default));
        // p1's window is full: a message for p1 and p2 is refused whole; one for p2 alone goes through.
        Assert.Equal(RoomSendStatus.Full, (await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], body), (p[2], body)), limits, default)).Status);
        Assert.Equal(3, (await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[2], body)), limits, default)).Seq);
        await Storage.Rooms.AcknowledgeAsync(room.RoomId, p[1].ParticipantId, 1, default);
        await Storage.Rooms.AcknowledgeAsync(room.RoomId, p[1].ParticipantId, 0, default); // less than before: nothing
        Assert.Equal(100 + RoomLimits.Overhead, await Storage.Rooms.GetPendingBytesAsync(room.RoomId, p[1].ParticipantId, default));
        Assert.Equal(RoomSendStatus.Sent, (await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], body)), limits, default)).Status);
        // Acknowledged text stays readable (history for a reload); acknowledged file chunks are dropped.
        Assert.Equal(3, (await Storage.Rooms.ReadAsync(room.RoomId, p[1].ParticipantId, 0, 500, 1 << 20, default)).Count);
    }

    [Fact]
    public async Task Rooms_Ack_DropsAcknowledgedFileChunks_AndResumeReadsAfterSeq()
    {
        var (room, p) = await RoomWithAsync(2);
        await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], "hello")), WideRoomLimits, default);
        await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "file-chunk", (p[1], "chunk1")), WideRoomLimits, default);
        await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "file-chunk", (p[1], "chunk2")), WideRoomLimits, default);
        Assert.Equal([2L, 3L], (await Storage.Rooms.ReadAsync(room.RoomId, p[1].ParticipantId, 1, 500, 1 << 20, default)).Select(d => d.Seq));
        Assert.Equal([1L], (await Storage.Rooms.ReadAsync(room.RoomId, p[1].ParticipantId, 0, 1, 1 << 20, default)).Select(d => d.Seq));
        await Storage.Rooms.AcknowledgeAsync(room.RoomId, p[1].ParticipantId, 2, default);
        Assert.Equal(["hello", "chunk2"], (await Storage.Rooms.ReadAsync(room.RoomId, p[1].ParticipantId, 0, 500, 1 << 20, default)).Select(d => d.Ciphertext));
    }

    [Fact]
    public async Task Rooms_Leave_RemovesParticipantTokenAndItsCiphertexts()
    {
        var (room, p) = await RoomWithAsync(3);
        await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], "a"), (p[2], "b")), WideRoomLimits, default);
        Assert.Equal(2, await Storage.Rooms.LeaveAsync(room.RoomId, p[1].ParticipantId, default));
        Assert.Null(await Storage.Rooms.FindParticipantAsync(p[1].TokenHash, default));
        Assert.Empty(await Storage.Rooms.ReadAsync(room.RoomId, p[1].ParticipantId, 0, 500, 1 << 20, default));
        Assert.Single(await Storage.Rooms.ReadAsync(room.RoomId, p[2].ParticipantId, 0, 500, 1 << 20, default));
        Assert.Equal(-1, await Storage.Rooms.LeaveAsync(room.RoomId, p[1].ParticipantId, default));
        Assert.Equal(RoomSendStatus.UnknownParticipant, (await Storage.Rooms.SendAsync(room.RoomId, To(p[0], "text", (p[1], "x")), WideRoomLimits, default)).Status);
        Assert.Equal(1, await Storage.Rooms.LeaveAsync(room.RoomId, p[0].ParticipantId, default));
        Assert.Equal(0, await Storage.Rooms.LeaveAsync(room.RoomId, p[2].ParticipantId, default));
    }

    [Fact]
    public async Task Rooms_Sweep_ListsExpiredAndIdleRooms_AndDeleteRemovesEverything()
    {
        var expired = NewRoom(expiresAt: T0.AddMinutes(10));
        await Storage.Rooms.CreateAsync(expired, default);
        var (idle, idleParticipants) = await RoomWithAsync(2);
        await Storage.Rooms.SendAsync(idle.RoomId, To(idleParticipants[0], "text", (idleParticipants[1], "bye")), WideRoomLimits, default);
        var (busy, busyParticipants) = await RoomWithAsync(2);
        await Storage.Rooms.TouchAsync(busy.RoomId, T0.AddMinutes(25), default);

        var now = T0.AddMinutes(40);
        var ending = await Storage.Rooms.ListEndingAsync(now, now - TimeSpan.FromMinutes(30), 500, default);
        Assert.Contains(new RoomEnding(expired.RoomId, "expired"), ending);
        Assert.Contains(new RoomEnding(idle.RoomId, "idle"), ending);
        Assert.DoesNotContain(ending, e => e.RoomId == busy.RoomId);

        Assert.True(await Storage.Rooms.DeleteAsync(idle.RoomId, default));
        Assert.True(await Storage.Rooms.DeleteAsync(expired.RoomId, default));
        Assert.False(await Storage.Rooms.DeleteAsync(idle.RoomId, default));
        Assert.Null(await Storage.Rooms.GetAsync(idle.RoomId, default));
        Assert.Empty(await Storage.Rooms.ListParticipantsAsync(idle.RoomId, default));
        Assert.Null(await Storage.Rooms.FindParticipantAsync(idleParticipants[0].TokenHash, default));
        Assert.Null(await Storage.Rooms.FindParticipantAsync(idleParticipants[1].TokenHash, default));
        Assert.Empty(await Storage.Rooms.ReadAsync(idle.RoomId, idleParticipants[1].ParticipantId, 0, 500, 1 << 20, default));
        var after = await Storage.Rooms.ListEndingAsync(now, now - TimeSpan.FromMinutes(30), 500, default);
        Assert.DoesNotContain(after, e => e.RoomId == idle.RoomId || e.RoomId == expired.RoomId);
        Assert.NotNull(await Storage.Rooms.FindParticipantAsync(busyParticipants[0].TokenHash, default));
    }
}
