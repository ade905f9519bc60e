using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using QrCalling.Calls;
using QrCalling.Codes;

namespace QrCalling.Hosting.Http;

/// <summary>Who may call an operation, as the OpenAPI document's security requirements say it.</summary>
internal enum OperationAccess
{
    /// <summary>Anyone (anonymous, rate limited).</summary>
    Anyone,
    /// <summary>An owner: the host's own authentication.</summary>
    Owner,
    /// <summary>A participant of one call: its call token (<c>qct_…</c>) or the owner.</summary>
    Participant,
}

/// <summary>The documentation of one REST operation: summary, description (Markdown), tag, who may call it and an example
/// request body the server accepts (a test posts every example).</summary>
internal sealed record OperationDoc(string Summary, string Description, string Tag, OperationAccess Access, Func<JsonNode>? Example = null);

/// <summary>The texts of QrCalling's OpenAPI document, kept apart from the route table so both stay readable: one
/// <see cref="OperationDoc"/> per route, the tags, and the hub's description (a hub has no place in OpenAPI's paths).</summary>
internal static class OpenApiDocs
{
    public const string CodesTag = "Codes";
    public const string CallsTag = "Calls";
    public const string MailboxTag = "Call mailbox";
    public const string DevicesTag = "Owner devices";
    public const string PushTag = "Web Push";
    public const string MessagesTag = "Messages";
    public const string HubTag = "Hub (SignalR)";

    /// <summary>The anchor of the hub's section in docs/protocol.md (GitHub's heading slug).</summary>
    public const string ProtocolHubSection = "#3-hub-signalr-default-path-hubscalls";

    /// <summary>A payload that parses (all-zero token, right checksum) but names no code: the examples of
    /// <c>/scan</c> and <c>/calls</c> are well-formed and answer <c>404 unavailable</c>.</summary>
    public static string ExamplePayload { get; } = CodePayload.Format(CodeToken.FromBytes(new byte[CodeToken.Length]));

    /// <summary>For a route that carries its own summary and description: its tag, who may call it and an example body.</summary>
    public static RouteHandlerBuilder Documented(this RouteHandlerBuilder builder, string tag, OperationAccess access, Func<JsonNode>? example = null) =>
        builder.WithTags(tag).WithMetadata(new OperationDoc("", "", tag, access, example));

    /// <summary>The example of <c>PUT /message-key</c>: a valid public key (a fresh P-256 point).</summary>
    public static JsonNode ExampleMessageKey() => new JsonObject { ["publicKey"] = ExamplePoint() };

    /// <summary>The example of <c>POST /calls/{callId}/message</c>: well-formed parts (the server cannot check the sealing).</summary>
    public static JsonNode ExampleMessage() => new JsonObject
    {
        ["ephemeralPublicKey"] = ExamplePoint(),
        ["iv"] = Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(new byte[12]),
        ["ciphertext"] = Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(new byte[48]),
    };

    private static string ExamplePoint()
    {
        using var ecdh = System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var point = ecdh.ExportParameters(false).Q;
        return Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode([0x04, .. point.X!, .. point.Y!]);
    }

    /// <summary>Applies an operation's documentation: summary, description, tag, and the metadata the transformers read.</summary>
    public static RouteHandlerBuilder Describe(this RouteHandlerBuilder builder, OperationDoc doc) =>
        builder.WithSummary(doc.Summary).WithDescription(doc.Description).WithTags(doc.Tag).WithMetadata(doc);

    private const string OwnerAuth = "Owner: the host's own authentication (the owner id is its user id claim).";
    private const string ParticipantAuth = "A participant of the call: the caller's call token (`Authorization: Bearer qct_…`; " +
        "REST ignores `?access_token=`), or the owner (the device that accepted passes `?deviceId=` and, for a `qd_` id, the " +
        "`X-QrCalling-Device-Credential` header).";

    public static readonly OperationDoc CreateCode = new("Create a code",
        "Issues a new code for the signed-in owner. The answer holds the `payload` (`PQC:1:<token>:<checksum>`) and its " +
        "`link` form (`<publicBaseUrl>#<payload>`, which a stock phone camera opens): **they are shown here only**, the server " +
        "keeps a keyed hash of the token. Every field is optional: `media` defaults to all three kinds, `expiresInSeconds` to " +
        "the configured default lifetime, `maxScans` (call starts, not previews) to unlimited; the label is at most 80 " +
        "characters. An owner has at most 100 live codes (`403 quota_exceeded`).\n\n" +
        "Additive: `signed: true` issues a meet-now code, an ordinary code that always expires (`expiresInSeconds` defaults to " +
        "`SessionQr:MeetLifetime`, one hour, and may not exceed `SessionQr:MaxLifetime`, one day: `400 invalid_request`), with " +
        "`signedPayload` (`PQS:1:MEET:…`), its `signedLink` and the signing `keyId` in the answer; callers use the signed " +
        "payload or link like a code's (`/scan`, `/calls`), and anyone can check it (`POST /verify-qr`). Without a signing key " +
        "the host answers `503 signing_unavailable`.\n\n" + OwnerAuth,
        CodesTag, OperationAccess.Owner,
        () => new JsonObject { ["label"] = "Blue car, Main St", ["media"] = new JsonArray("audio", "chat"), ["expiresInSeconds"] = 2592000, ["maxScans"] = 100 });

    public static readonly OperationDoc ListCodes = new("List my codes",
        "The owner's codes, newest first, with their counts (`scanCount` counts call starts) and revocation. No payload: " +
        "it is not stored. Paging: `limit` 1 to 200 (default 200) and `before`, an ISO-8601 time compared with " +
        "`createdAt` (the next page is `before` the last item's `createdAt`). Filters: `state` (`active`, `paused`, `revoked`, " +
        "`expired`, `used_up`) and `label` (codes whose label contains the text, ignoring case). Each item also carries its " +
        "`state` and `pausedAt`.\n\n" + OwnerAuth,
        CodesTag, OperationAccess.Owner);

    public static readonly OperationDoc RevokeCode = new("Revoke a code",
        "Withdraws a code at once: scanning it answers `404 unavailable`, like an unknown code, and its open calls (ringing " +
        "or active) end `revoked`. An unknown id, another owner's code or one already revoked is `404 not_found`.\n\n" + OwnerAuth,
        CodesTag, OperationAccess.Owner);

    public static readonly OperationDoc RotateCode = new("Replace a code with a new one",
        "Revokes the code and issues a new one with the same label, media, lifetime and scan limit; answers like " +
        "`POST /codes` (the new payload and link are shown here only). Rotating does not count against the live-code " +
        "quota.\n\n" + OwnerAuth,
        CodesTag, OperationAccess.Owner);

    public static readonly OperationDoc RenderQr = new("Render a QR image",
        "Renders a payload (or its link form) as `image/png` or `image/svg+xml`. `form`: `link` (the default) holds " +
        "`<base>#<PAYLOAD>` so a phone camera opens the caller page; `payload` holds the bare payload, the smaller symbol, " +
        "for apps that scan in-app. `pixelsPerModule` is 1 to 40. Nothing is stored. Additive: a signed session QR this host " +
        "issued and that is still valid (`PQS:1:…`) renders too; any other text is `400 malformed`.\n\n" + OwnerAuth,
        CodesTag, OperationAccess.Owner,
        () => new JsonObject { ["payload"] = ExamplePayload, ["format"] = "png", ["pixelsPerModule"] = 8, ["form"] = "link" });

    public static readonly OperationDoc Scan = new("Preview a code",
        "What a scanner may know before calling: the code's `label` and allowed `media`, and (additive) what the owner " +
        "takes now: `callsAllowed` (voice or video may start), `chatOnly` (only chat now: the owner's chat-only mode or quiet " +
        "hours) and `quietUntil` (when quiet hours end; left out outside them). It does not count against `maxScans`. Takes " +
        "the payload or its link form, and optionally `callerKey` (base64url of 32 random bytes the caller's browser keeps; " +
        "anything else is `400 invalid_request`): a caller the owner blocked on this code gets `404 unavailable`. `400 " +
        "malformed` / `400 checksum` for a misread code; unknown, revoked, expired and used-up codes are all the same `404 " +
        "unavailable`.\n\nAnyone (anonymous, rate limited per client).",
        CallsTag, OperationAccess.Anyone,
        () => new JsonObject { ["payload"] = ExamplePayload });

    public static readonly OperationDoc StartCall = new("Start a call",
        "Rings the code's owner. Answers the call's fresh anonymous ids, its **call token** (`qct_…`: the caller's bearer " +
        "for this call's endpoints and, through a hub ticket, the hub) and ICE servers with short-lived TURN credentials. " +
        "Counts one scan atomically. A media kind the code does not allow is `400 invalid_request`. With `callerKey` " +
        "(additive, as in `POST /scan`) a caller the owner blocked on this code gets `404 unavailable`, and the owner can " +
        "block this caller later. Voice or video while the owner's quiet hours or chat-only mode hold them back is " +
        "`403 quiet_hours` or `403 chat_only` (no scan spent; chat still works). Over a code's per-code " +
        "budget the answer is `429 proof_required` with `challenge` and `difficulty`: find a `solution` such that SHA-256 of " +
        "`challenge:solution` starts with `difficulty` zero bits and start again with `proof`.\n\nAnyone (anonymous, rate " +
        "limited per client and per code).",
        CallsTag, OperationAccess.Anyone,
        () => new JsonObject { ["payload"] = ExamplePayload, ["media"] = "audio" });

    public static readonly OperationDoc History = new("Call history",
        "The owner's calls, newest first: state, end reason, media and times; `callerId` is the per-call anonymous id. " +
        "Paging: `limit` 1 to 200 (default 50) and `before` (ISO-8601, compared with `createdAt`). Ended calls are kept 30 " +
        "days. `state` (`ringing`, `active`, `ended`) lists only the calls in that state now (not with `before`).\n\n" + OwnerAuth,
        CallsTag, OperationAccess.Owner);

    public static readonly OperationDoc GetCode = new("One of my codes",
        "One code in the `GET /codes` item shape. `404 not_found` for an unknown code or another owner's.\n\n" + OwnerAuth,
        CodesTag, OperationAccess.Owner);

    public static readonly OperationDoc PauseCode = new("Pause a code",
        "Pauses one of the owner's codes: until it is resumed, scanning it or starting a call answers exactly as for an " +
        "unavailable code (`404 unavailable`). Calls already ringing or active go on. The payload, scans and lifetime are " +
        "kept. Pausing a paused code changes nothing. Returns the code as `GET /codes` lists it.\n\n" + OwnerAuth,
        CodesTag, OperationAccess.Owner);

    public static readonly OperationDoc ResumeCode = new("Resume a paused code",
        "Resumes a paused code: scans and calls work again (if it is not revoked, expired or used up meanwhile). Resuming a " +
        "code that is not paused changes nothing. Returns the code as `GET /codes` lists it.\n\n" + OwnerAuth,
        CodesTag, OperationAccess.Owner);

    public static readonly OperationDoc AcceptCall = new("Accept a ringing call (without a socket)",
        "What the hub's `Accept` does: Ringing to Active; exactly one device wins (hub or REST), the others get " +
        "`CallAnsweredElsewhere`, and the caller gets `CallAccepted`. The owner names its device with `?deviceId=` (default " +
        "`rest`); that device then reads the mailbox. Returns the call's status. A call that is not ringing is " +
        "`409 invalid_state`; an unknown call `403 not_participant`.\n\nOwner only.",
        CallsTag, OperationAccess.Participant);

    public static readonly OperationDoc RejectCall = new("Reject a ringing call (without a socket)",
        "What the hub's `Reject` does: Ringing to Ended(`rejected`). Returns the call's status.\n\nOwner only.",
        CallsTag, OperationAccess.Participant);

    public static readonly OperationDoc HangupCall = new("Hang up (without a socket)",
        "What the hub's `Hangup` does: Ended(`canceled`) while ringing, Ended(`hangup`) while active; the other side gets " +
        "`CallEnded`. Returns the call's status.\n\n" + ParticipantAuth,
        CallsTag, OperationAccess.Participant);

    public static readonly OperationDoc GetCall = new("Call status",
        "The state of one call (`ringing`, `active`, `ended`) and, once ended, why. A rejoining client reads it first. " +
        "An unknown call id is `403 not_participant`, so nobody can probe which ids exist.\n\n" + ParticipantAuth,
        CallsTag, OperationAccess.Participant);

    public static readonly OperationDoc IceServers = new("ICE servers for a call",
        "The browser's `RTCIceServer` list: STUN as configured, TURN with credentials of the TURN REST API scheme that live " +
        "at most `Turn:CredentialLifetime` (10 minutes) and never past the call (`ttlSeconds`). Take fresh ones before an " +
        "ICE restart. An owner passes `?callId=`; an ended call is `409 invalid_state`.\n\n" + ParticipantAuth,
        CallsTag, OperationAccess.Participant);

    public static readonly OperationDoc ReadEvents = new("Read the call's mailbox (long poll)",
        "The entries for the asking side after `after` (a seq; it also acknowledges everything up to it), waiting up to " +
        "`waitSeconds` (0 to 30) when there are none: the other side's signals and chats and the lifecycle entries " +
        "`call-accepted` and `call-ended` from `server`. For clients without a hub connection. At most 500 entries at once; " +
        "an owner reads only after its device accepted and passes `?deviceId=`.\n\n" + ParticipantAuth,
        MailboxTag, OperationAccess.Participant);

    public static readonly OperationDoc PostEvent = new("Send a signal or chat",
        "The REST twin of the hub's `Signal` and `Chat`: `type` is `offer`, `answer`, `ice-candidate`, `key-exchange`, " +
        "`renegotiate`, `file` (`data`: any JSON, relayed unchanged) or `chat` (`data`: the ciphertext string). Answers the entry's " +
        "`seq`. Caps on `data`: offer/answer/renegotiate/file 64 KiB, ice-candidate 4 KiB, key-exchange 8 KiB, chat 16 KiB " +
        "(`413 too_large`). A full window of unacknowledged entries is `429 mailbox_full` with `Retry-After: 1`: nothing " +
        "was stored, send it again later.\n\n" + ParticipantAuth,
        MailboxTag, OperationAccess.Participant,
        // An E2E v1 commitment (docs/e2e.md): the first key-exchange message of a call's chat encryption.
        () => new JsonObject
        {
            ["type"] = "key-exchange",
            ["data"] = new JsonObject { ["e2e"] = 1, ["kind"] = "commit", ["sid"] = "q3k1Zb8cR0y2n5W7xT4uVg", ["commit"] = "7mJ2pQ9sX1vL4cN8bR6tY0wZ3kF5hD2gA9eU1iO7oPs" },
        });

    public static readonly OperationDoc AckEvents = new("Acknowledge received entries",
        "Everything addressed to the asking side up to `seq` was received: the server trims it from that side's mailbox " +
        "window so the other side may keep sending. Lifecycle entries stay. `204`.\n\n" + ParticipantAuth,
        MailboxTag, OperationAccess.Participant,
        () => new JsonObject { ["seq"] = 16 });

    public static readonly OperationDoc HubTickets = new("Get a hub ticket",
        "A single-use ticket (`qht_…`, valid 30 seconds) to connect to the hub as `?access_token=<ticket>`, so no JWT or call " +
        "token appears in a WebSocket URL or a proxy's log. The connection closes when the credential the ticket came from " +
        "expires.\n\nThe owner's authentication, or a caller's call token as the bearer.",
        DevicesTag, OperationAccess.Participant);

    public static readonly OperationDoc RegisterDevice = new("Register an owner device",
        "A server-issued device id (`qd_…`) bound to the owner, and its credential. The device presents both " +
        "(`?deviceId=&deviceCredential=` on the hub, `?deviceId=` and the `X-QrCalling-Device-Credential` header on REST), " +
        "so another session of the same account cannot act as the device that accepted a call.\n\n" + OwnerAuth,
        DevicesTag, OperationAccess.Owner);

    public static readonly OperationDoc UpdateCode = new("Edit a code's label and media",
        "Changes the label and/or the allowed media of one of the owner's codes (members left out keep their value), " +
        "validated as on create: a label of at most the configured length (80 by default) with no control characters, media " +
        "a non-empty list of `audio`, `video`, `chat`. Returns the code as `GET /codes` lists it. Calls already started keep " +
        "the media their code allowed then. `404 not_found` for an unknown code or another owner's.\n\n" + OwnerAuth,
        CodesTag, OperationAccess.Owner,
        () => new JsonObject { ["label"] = "Blue car, Main St", ["media"] = new JsonArray("audio", "chat") });

    public static readonly OperationDoc DeleteCode = new("Delete a code for good",
        "Deletes one of the owner's codes, live or revoked: the record and its key hash are gone, and a ringing or active " +
        "call started from it ends `revoked`, as on revoke. Scanning it afterwards answers exactly as for a code that never " +
        "existed (`404 unavailable`). Its calls stay in the owner's history. `404 not_found` for an unknown code or another " +
        "owner's.\n\n" + OwnerAuth,
        CodesTag, OperationAccess.Owner);

    public static readonly OperationDoc PushPublicKey = new("The server's VAPID public key",
        "The application server key a browser needs for `PushManager.subscribe` (`applicationServerKey`), base64url. " +
        "Configured, or generated once and kept in the store.\n\nAnyone.",
        PushTag, OperationAccess.Anyone);

    public static readonly OperationDoc PushSubscribe = new("Subscribe a browser to incoming-call pushes",
        "Stores the browser's push subscription (`PushSubscription.toJSON()`: `{endpoint, keys: {p256dh, auth}}`) for the " +
        "owner. A new incoming call then sends an `aes128gcm` push (RFC 8291) with a VAPID `Authorization` header to every " +
        "subscription of the owner; it holds only \"incoming call\" and the code's label, encrypted to the device. The " +
        "endpoint must be under `QrCalling:Push:AllowedEndpoints` (default: the major browsers' push services over https), " +
        "else `400 endpoint_not_allowed`; past the per-owner cap `403 quota_exceeded`.\n\n" + OwnerAuth,
        PushTag, OperationAccess.Owner,
        () => new JsonObject { ["endpoint"] = ExamplePushEndpoint, ["keys"] = ExamplePushKeys() });

    public static readonly OperationDoc PushUnsubscribe = new("Unsubscribe a browser",
        "Removes the owner's subscription with this `endpoint`: `204`, or `404 not_found` when the owner has none with it." +
        "\n\n" + OwnerAuth,
        PushTag, OperationAccess.Owner,
        () => new JsonObject { ["endpoint"] = ExamplePushEndpoint });

    private const string ExamplePushEndpoint = "https://fcm.googleapis.com/fcm/send/example-subscription-id";

    /// <summary>Valid subscription keys for the example (a fresh P-256 point and 16 random bytes): the server checks both.</summary>
    private static JsonObject ExamplePushKeys()
    {
        using var ecdh = System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var point = ecdh.ExportParameters(false).Q;
        return new JsonObject
        {
            ["p256dh"] = Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode([0x04, .. point.X!, .. point.Y!]),
            ["auth"] = Microsoft.AspNetCore.WebUtilities.WebEncoders.Base64UrlEncode(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)),
        };
    }

    /// <summary>The tags, in the order a reader meets them.</summary>
    public static readonly (string Name, string Description)[] Tags =
    [
        (CodesTag, "An owner's codes: create, list, revoke, rotate, and render as a QR image. A code's payload is shown once, at creation."),
        (CallsTag, "A stranger scans a code and starts a call; both sides read its state and ICE servers. Ids are fresh and anonymous for every call."),
        (MailboxTag, "Signaling and chat over REST for clients without a persistent connection (the hub does the same live)."),
        (DevicesTag, "Credentials for connecting: owner devices and single-use hub tickets."),
        (PushTag, "Ringing an owner whose page is closed: Web Push subscriptions (with AddWebPush)."),
        (MessagesTag, "Leave-a-message: after an unanswered call the caller may leave one message sealed to the owner's key; the server keeps ciphertext only."),
        (RoomEndpoints.RoomsTag, "Meet-now rooms without accounts: create a room, join it by its link (the secret stays in the fragment), read it, leave, render its QR; messages go over the hub `/hubs/rooms`."),
        (HubTag, HubMarkdown),
    ];

    /// <summary>The hub, for the document's description and its tag (OpenAPI has no place for a SignalR hub).</summary>
    public const string HubMarkdown = """
        Live signaling runs over a SignalR hub (JSON, or MessagePack when enabled) at the hub path (default `/hubs/calls`).
        Connect with `?access_token=<hub ticket>` from `POST /hub-tickets` (a v1 client may pass its JWT or call token);
        an owner device adds `&deviceId=<qd_…>&deviceCredential=<…>`. Errors are `HubException`s whose message starts
        with a stable code (`not_participant:`, `invalid_state:`, `too_large:`, `rate_limited:`, `mailbox_full:`, `unauthorized:`).

        | client to server | who | effect |
        |---|---|---|
        | `Accept(callId)` | owner device | ringing → active; exactly one device wins, the others get `CallAnsweredElsewhere` |
        | `Reject(callId)` | owner device | ringing → ended (`rejected`) |
        | `Hangup(callId)` | either side | ended (`canceled` while ringing, `hangup` while active) |
        | `Signal(callId, type, data)` | either side | `offer`, `answer`, `ice-candidate`, `key-exchange`, `renegotiate`, `file` (additive); relayed with a per-call `seq` (returned) |
        | `Typing(callId, isTyping)` | either side | relayed, not stored |
        | `Chat(callId, ciphertext)` | either side | relayed and kept (ciphertext only) in the mailbox; returns its `seq` |
        | `Resume(callId, afterSeq)` | either side | the mailbox entries after `afterSeq`, for a client that reconnected or reloaded |
        | `Ack(callId, seq)` | either side | acknowledges received entries (fire and forget) |

        Server to client (one argument each): `IncomingCall {callId, calleeId, callerId, label, media, expiresAt}`,
        `CallAccepted {callId}`, `CallAnsweredElsewhere {callId}`, `CallEnded {callId, reason}`,
        `Signal {callId, seq, from, type, data}`, `Typing {callId, from, isTyping}`, `Chat {callId, seq, from, ciphertext, at}`,
        `PeerLeft {callId, who}`, `PeerJoined {callId, who}`. End reasons: `rejected`, `canceled`, `missed`, `hangup`,
        `timeout`, `dropped`, `revoked`.

        The full contract is docs/protocol.md, section 3 "Hub" and "Hub details".
        """;

    /// <summary>The first lines of the document's description.</summary>
    public const string IntroMarkdown = """
        QrCalling: scan a QR code, call its owner; neither side learns the other's number, name, account or IP.
        Owners use the host's own authentication (bearer scheme `owner`); a caller's requests carry the call token from
        `POST /calls` (bearer scheme `callToken`, `qct_…`). Errors are RFC 9457 problem details with a stable `code`.
        """;

    /// <summary>The wire names the schemas list as enums.</summary>
    public static class Enums
    {
        public static readonly string[] Media = [.. MediaKinds.ToWireNames(MediaKinds.All)];
        public static readonly string[] CallStates = [.. Enum.GetValues<CallState>().Select(CallWireNames.ToWireName)];
        public static readonly string[] CodeStates = [.. Enum.GetValues<QrCalling.Codes.CodeState>().Select(QrCalling.Codes.CodeStates.ToWireName)];
        public static readonly string[] EndReasons = [.. Enum.GetValues<CallEndReason>().Select(CallWireNames.ToWireName)];
        public static readonly string[] SignalTypes = ["offer", "answer", "ice-candidate", "key-exchange", "renegotiate", "file"];
        public static readonly string[] PostEventTypes = [.. SignalTypes, "chat"];
        public static readonly string[] MailboxTypes = [.. SignalTypes, "chat", "call-accepted", "call-ended"];
        public static readonly string[] QrFormats = ["png", "svg"];
        public static readonly string[] QrForms = ["link", "payload"];
    }
}
