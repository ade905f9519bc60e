using System.Text.Json;
using System.Text.Json.Nodes;

namespace QrCalling.Client.E2E;

/// <summary>One key-exchange message, carried as the <c>data</c> of a <c>key-exchange</c> signal:
/// <c>{"e2e":1,"kind":"commit"|"key"|"reveal"|"restart","sid":…,…}</c>. Byte fields are base64url without padding.</summary>
public sealed record E2EMessage
{
    /// <summary>The protocol version this library speaks.</summary>
    public const int Version = 1;

    /// <summary>Initiator to responder: <see cref="Sid"/> and <see cref="Commit"/>, a hash of the key it will reveal.</summary>
    public const string CommitKind = "commit";

    /// <summary>Responder to initiator: <see cref="Sid"/>, <see cref="PublicKey"/> and <see cref="Fingerprint"/>.</summary>
    public const string KeyKind = "key";

    /// <summary>Initiator to responder: <see cref="Sid"/>, <see cref="PublicKey"/>, <see cref="Nonce"/> and
    /// <see cref="Fingerprint"/>, which must hash to the commitment.</summary>
    public const string RevealKind = "reveal";

    /// <summary>Responder to initiator: "start a new key exchange" (a responder that lost its keys, e.g. reloaded).</summary>
    public const string RestartKind = "restart";

    /// <summary>commit, key, reveal or restart.</summary>
    public required string Kind { get; init; }

    /// <summary>Session id (16 random bytes chosen by the initiator), base64url; null only for restart.</summary>
    public string? Sid { get; init; }

    /// <summary>The commitment (SHA-256, 32 bytes), base64url: commit only.</summary>
    public string? Commit { get; init; }

    /// <summary>The uncompressed P-256 point (65 bytes), base64url: key and reveal.</summary>
    public string? PublicKey { get; init; }

    /// <summary>The initiator's 32 random bytes, base64url: reveal only.</summary>
    public string? Nonce { get; init; }

    /// <summary>The sender's DTLS fingerprint (<c>sha-256 AB:CD:…</c>), or empty when it has no media: key and reveal.</summary>
    public string? Fingerprint { get; init; }

    /// <summary>The JSON form sent as the signal's data.</summary>
    public string ToJson()
    {
        var node = new JsonObject { ["e2e"] = Version, ["kind"] = Kind };
        if (Sid is not null) node["sid"] = Sid;
        if (Commit is not null) node["commit"] = Commit;
        if (PublicKey is not null) node["publicKey"] = PublicKey;
        if (Nonce is not null) node["nonce"] = Nonce;
        if (Fingerprint is not null) node["fingerprint"] = Fingerprint;
        return node.ToJsonString();
    }

    /// <summary>Reads a signal's data. Throws <see cref="E2EProtocolException"/> (<c>malformed</c>) for anything that is
    /// not an E2E v1 message of a known kind with the fields that kind needs, or <c>version</c> for another version.</summary>
    /// <param name="json">The signal's data as JSON text.</param>
    public static E2EMessage Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonObject? node;
        try
        {
            node = JsonNode.Parse(json) as JsonObject;
        }
        catch (JsonException)
        {
            node = null;
        }
        if (node is null)
        {
            throw new E2EProtocolException("malformed", "The key-exchange data is not a JSON object.");
        }
        if (node["e2e"] is not JsonValue v || !v.TryGetValue(out int version))
        {
            throw new E2EProtocolException("malformed", "The key-exchange data has no e2e version.");
        }
        if (version != Version)
        {
            throw new E2EProtocolException("version", $"E2E version {version} is not supported.");
        }
        var message = new E2EMessage
        {
            Kind = Text(node, "kind") ?? "",
            Sid = Text(node, "sid"),
            Commit = Text(node, "commit"),
            PublicKey = Text(node, "publicKey"),
            Nonce = Text(node, "nonce"),
            Fingerprint = Text(node, "fingerprint"),
        };
        var complete = message.Kind switch
        {
            CommitKind => message.Sid is not null && message.Commit is not null,
            KeyKind => message.Sid is not null && message.PublicKey is not null && message.Fingerprint is not null,
            RevealKind => message.Sid is not null && message.PublicKey is not null && message.Nonce is not null && message.Fingerprint is not null,
            RestartKind => true,
            _ => false,
        };
        return complete ? message : throw new E2EProtocolException("malformed", "The key-exchange message lacks a field its kind needs.");
    }

    private static string? Text(JsonObject node, string name) =>
        node[name] is JsonValue value && value.TryGetValue(out string? text) ? text : null;
}
