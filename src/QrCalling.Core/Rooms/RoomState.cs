using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using QrCalling.Storage;

namespace QrCalling.Rooms;

/// <summary>The whole state of one room as the stores keep it (in memory as an object; PostgreSQL and Redis as one
/// JSON document changed under a row lock or a compare-and-set), with the rules every store applies: the participant
/// cap, seq assignment, per-recipient windows and history bounds. Its size is bounded by the history bounds.</summary>
internal sealed class RoomState
{
    public const string FileChunkKind = "file-chunk";

    public string RoomId { get; set; } = "";
    public byte[] SecretHash { get; set; } = [];
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public int MaxParticipants { get; set; }
    public DateTimeOffset LastActivityAt { get; set; }
    public long LastSeq { get; set; }
    public List<ParticipantState> Participants { get; set; } = [];
    public List<EntryState> Entries { get; set; } = [];

    internal sealed class ParticipantState
    {
        public string Id { get; set; } = "";
        public byte[] TokenHash { get; set; } = [];
        public string? DisplayName { get; set; }
        public DateTimeOffset JoinedAt { get; set; }
        public string? PublicKey { get; set; }
        public long AckedSeq { get; set; }
    }

    internal sealed class EntryState
    {
        public long Seq { get; set; }
        public string From { get; set; } = "";
        public string Kind { get; set; } = "";
        public DateTimeOffset At { get; set; }
        public Dictionary<string, string> To { get; set; } = new(StringComparer.Ordinal);
    }

    public static RoomState From(RoomRecord room) => new()
    {
        RoomId = room.RoomId,
        SecretHash = room.SecretHash,
        CreatedAt = room.CreatedAt,
        ExpiresAt = room.ExpiresAt,
        MaxParticipants = room.MaxParticipants,
        LastActivityAt = room.LastActivityAt,
    };

    public RoomRecord ToRecord() => new()
    {
        RoomId = RoomId,
        SecretHash = SecretHash,
        CreatedAt = CreatedAt,
        ExpiresAt = ExpiresAt,
        MaxParticipants = MaxParticipants,
        LastActivityAt = LastActivityAt,
    };

    public RoomParticipant ToRecord(ParticipantState p) => new()
    {
        RoomId = RoomId,
        ParticipantId = p.Id,
        TokenHash = p.TokenHash,
        DisplayName = p.DisplayName,
        JoinedAt = p.JoinedAt,
        PublicKey = p.PublicKey,
    };

    public IReadOnlyList<RoomParticipant> ParticipantRecords() => [.. Participants.Select(ToRecord)];

    public ParticipantState? Find(string participantId) => Participants.Find(p => p.Id == participantId);

    public RoomJoinStatus Join(RoomParticipant participant, DateTimeOffset now)
    {
        if (ExpiresAt <= now)
        {
            return RoomJoinStatus.Unavailable;
        }
        if (Participants.Count >= MaxParticipants)
        {
            return RoomJoinStatus.Full;
        }
        Participants.Add(new ParticipantState
        {
            Id = participant.ParticipantId,
            TokenHash = participant.TokenHash,
            DisplayName = participant.DisplayName,
            JoinedAt = participant.JoinedAt,
            PublicKey = participant.PublicKey,
            AckedSeq = LastSeq, // nothing before it joined is addressed to it
        });
        LastActivityAt = Max(LastActivityAt, now);
        return RoomJoinStatus.Joined;
    }

    /// <summary>Removes a participant with its ciphertexts; the remaining count, or -1.</summary>
    public int Leave(string participantId)
    {
        var index = Participants.FindIndex(p => p.Id == participantId);
        if (index < 0)
        {
            return -1;
        }
        Participants.RemoveAt(index);
        foreach (var entry in Entries)
        {
            entry.To.Remove(participantId);
        }
        Entries.RemoveAll(e => e.To.Count == 0);
        return Participants.Count;
    }

    public static long Cost(string ciphertext) => Encoding.UTF8.GetByteCount(ciphertext) + RoomLimits.Overhead;

    private static long Cost(EntryState entry) => entry.To.Values.Sum(Cost);

    public long PendingBytes(ParticipantState participant) =>
        Entries.Where(e => e.Seq > participant.AckedSeq && e.To.ContainsKey(participant.Id)).Sum(e => Cost(e.To[participant.Id]));

    public RoomSendResult Send(RoomMessage message, RoomLimits limits)
    {
        if (ExpiresAt <= message.At || Find(message.From) is null)
        {
            return new RoomSendResult(RoomSendStatus.Unavailable, 0);
        }
        var recipients = new List<ParticipantState>(message.Ciphertexts.Count);
        foreach (var id in message.Ciphertexts.Keys)
        {
            if (id == message.From || Find(id) is not { } recipient)
            {
                return new RoomSendResult(RoomSendStatus.UnknownParticipant, 0);
            }
            recipients.Add(recipient);
        }
        foreach (var recipient in recipients)
        {
            if (PendingBytes(recipient) + Cost(message.Ciphertexts[recipient.Id]) > limits.WindowBytes)
            {
                return new RoomSendResult(RoomSendStatus.Full, 0);
            }
        }
        var entry = new EntryState
        {
            Seq = LastSeq + 1,
            From = message.From,
            Kind = message.Kind,
            At = message.At,
            To = new Dictionary<string, string>(message.Ciphertexts, StringComparer.Ordinal),
        };
        // Drop the oldest entries every recipient acknowledged until the new one fits; never an unacknowledged one.
        var count = Entries.Count + 1;
        var bytes = Entries.Sum(Cost) + Cost(entry);
        var drop = 0;
        while ((count > limits.HistoryCount || bytes > limits.HistoryBytes) && drop < Entries.Count && Acknowledged(Entries[drop]))
        {
            count--;
            bytes -= Cost(Entries[drop]);
            drop++;
        }
        if (count > limits.HistoryCount || bytes > limits.HistoryBytes)
        {
            return new RoomSendResult(RoomSendStatus.Full, 0);
        }
        Entries.RemoveRange(0, drop);
        Entries.Add(entry);
        LastSeq = entry.Seq;
        LastActivityAt = Max(LastActivityAt, message.At);
        return new RoomSendResult(RoomSendStatus.Sent, entry.Seq);
    }

    private bool Acknowledged(EntryState entry) =>
        entry.To.Keys.All(id => Find(id) is not { } p || p.AckedSeq >= entry.Seq);

    public IReadOnlyList<RoomDelivery> Read(string participantId, long afterSeq, int maxCount, int maxBytes)
    {
        var result = new List<RoomDelivery>();
        long bytes = 0;
        foreach (var entry in Entries)
        {
            if (entry.Seq <= afterSeq || !entry.To.TryGetValue(participantId, out var ciphertext))
            {
                continue;
            }
            if (result.Count >= maxCount || (result.Count > 0 && bytes + Cost(ciphertext) > maxBytes))
            {
                break;
            }
            bytes += Cost(ciphertext);
            result.Add(new RoomDelivery(entry.Seq, entry.From, entry.Kind, ciphertext, entry.At));
        }
        return result;
    }

    /// <summary>True when something changed.</summary>
    public bool Acknowledge(string participantId, long upToSeq)
    {
        if (Find(participantId) is not { } participant || upToSeq <= participant.AckedSeq)
        {
            return false;
        }
        participant.AckedSeq = Math.Min(upToSeq, LastSeq);
        foreach (var entry in Entries)
        {
            if (entry.Seq <= participant.AckedSeq && entry.Kind == FileChunkKind)
            {
                entry.To.Remove(participantId);
            }
        }
        Entries.RemoveAll(e => e.To.Count == 0);
        return true;
    }

    public string? EndingReason(DateTimeOffset now, DateTimeOffset idleCutoff) =>
        ExpiresAt <= now ? "expired" : LastActivityAt <= idleCutoff ? "idle" : null;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a >= b ? a : b;

    public string Serialize() => JsonSerializer.Serialize(this, RoomStateJson.Default.RoomState);

    public static RoomState Deserialize(string json) =>
        JsonSerializer.Deserialize(json, RoomStateJson.Default.RoomState) ?? throw new InvalidDataException("Not a room document.");
}

[JsonSerializable(typeof(RoomState))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class RoomStateJson : JsonSerializerContext;
