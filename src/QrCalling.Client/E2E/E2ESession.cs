using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace QrCalling.Client.E2E;

/// <summary>One side of an end-to-end encrypted conversation (docs/e2e.md): the commit-then-reveal key exchange, a new
/// one whenever either side starts over (never silently: <see cref="E2EReceiveResult.Reset"/> and a new
/// <see cref="CheckCode"/>), and chat encryption with a key and a strictly increasing counter per direction.
/// Not thread-safe: feed it messages in the order they arrived.</summary>
public sealed class E2ESession : IDisposable
{
    private const int SidLength = 16;
    private const int NonceLength = 32;
    private const int CommitLength = 32;

    private readonly E2EEntropy _entropy;
    private ECDiffieHellman? _key;
    private byte[]? _sid;
    private byte[]? _nonce;
    private byte[]? _myPublic;
    private byte[]? _commit;
    private byte[]? _sendKey;
    private byte[]? _receiveKey;
    private ulong _sent;
    private ulong _received;
    private bool _disposed;

    /// <summary>Creates one side.</summary>
    /// <param name="role">Initiator (the caller) or responder (the owner).</param>
    /// <param name="contextId">What both sides talk in: the call id (or a room id), bound into every key.</param>
    /// <param name="localFingerprint">This side's DTLS fingerprint (<c>sha-256 AB:…</c>) when the call has media; null
    /// or empty for chat only.</param>
    public E2ESession(E2ERole role, string contextId, string? localFingerprint = null)
        : this(role, contextId, localFingerprint, E2EEntropy.System)
    {
    }

    internal E2ESession(E2ERole role, string contextId, string? localFingerprint, E2EEntropy entropy)
    {
        ArgumentException.ThrowIfNullOrEmpty(contextId);
        Role = role;
        ContextId = contextId;
        LocalFingerprint = E2EFingerprint.Normalize(localFingerprint);
        _entropy = entropy;
    }

    /// <summary>Initiator or responder.</summary>
    public E2ERole Role { get; }

    /// <summary>The call (or room) id bound into the keys.</summary>
    public string ContextId { get; }

    /// <summary>This side's DTLS fingerprint, normalized; empty for none.</summary>
    public string LocalFingerprint { get; }

    /// <summary>Where the key exchange stands.</summary>
    public E2ESessionState State { get; private set; } = E2ESessionState.Idle;

    /// <summary>The check code both people compare, six digits as <c>"123 456"</c>; null until keys are agreed.</summary>
    public string? CheckCode { get; private set; }

    /// <summary>The other side's DTLS fingerprint as it came in the key exchange (empty for none); null until keys are
    /// agreed. A client refuses a remote SDP whose <c>a=fingerprint</c> differs from it.</summary>
    public string? PeerFingerprint { get; private set; }

    /// <summary>How many key exchanges this side completed: above 1 means the keys (and check code) changed.</summary>
    public int Generation { get; private set; }

    /// <summary>Starts a key exchange: an initiator's commitment (a new session, keys agreed before are dropped), or a
    /// responder's request that the initiator start one.</summary>
    /// <returns>The message to send as a <c>key-exchange</c> signal.</returns>
    public E2EMessage Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Role == E2ERole.Responder)
        {
            return new E2EMessage { Kind = E2EMessage.RestartKind };
        }
        Reset(E2ESessionState.AwaitingKey);
        _key = _entropy.NewKeyPair();
        _myPublic = E2ECrypto.ExportPublic(_key);
        _sid = _entropy.RandomBytes(SidLength);
        _nonce = _entropy.RandomBytes(NonceLength);
        var commit = E2ECrypto.Commit(ContextId, _sid, _myPublic, LocalFingerprint, _nonce);
        return new E2EMessage { Kind = E2EMessage.CommitKind, Sid = Base64Url.EncodeToString(_sid), Commit = Base64Url.EncodeToString(commit) };
    }

    /// <summary>Handles a received key-exchange message. Throws <see cref="E2EProtocolException"/> for one this side
    /// refuses (wrong kind for its role or state, another session, a bad key; a reveal that does not match its commitment
    /// also moves the state to <see cref="E2ESessionState.Failed"/>).</summary>
    /// <param name="message">The message (see <see cref="E2EMessage.Parse"/>).</param>
    public E2EReceiveResult Receive(E2EMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var wasEstablished = State == E2ESessionState.Established;
        switch (Role, message.Kind)
        {
            case (E2ERole.Initiator, E2EMessage.RestartKind):
                return new E2EReceiveResult(Start(), false, wasEstablished);
            case (E2ERole.Initiator, E2EMessage.KeyKind):
                return ReceiveKey(message);
            case (E2ERole.Responder, E2EMessage.CommitKind):
                var sid = E2ECrypto.FromBase64Url(message.Sid, SidLength, "session id");
                var commit = E2ECrypto.FromBase64Url(message.Commit, CommitLength, "commitment");
                Reset(E2ESessionState.AwaitingReveal);
                _sid = sid;
                _commit = commit;
                _key = _entropy.NewKeyPair();
                _myPublic = E2ECrypto.ExportPublic(_key);
                var reply = new E2EMessage
                {
                    Kind = E2EMessage.KeyKind,
                    Sid = message.Sid,
                    PublicKey = Base64Url.EncodeToString(_myPublic),
                    Fingerprint = LocalFingerprint,
                };
                return new E2EReceiveResult(reply, false, wasEstablished);
            case (E2ERole.Responder, E2EMessage.RevealKind):
                return ReceiveReveal(message);
            default:
                throw new E2EProtocolException("unexpected", $"A {message.Kind} message is not for the {Role.ToString().ToLowerInvariant()}.");
        }
    }

    private E2EReceiveResult ReceiveKey(E2EMessage message)
    {
        RequireCurrent(E2ESessionState.AwaitingKey, message);
        var theirs = E2ECrypto.FromBase64Url(message.PublicKey, E2ECrypto.PublicKeyLength, "public key");
        var peerFingerprint = E2EFingerprint.Normalize(message.Fingerprint);
        Establish(theirs, peerFingerprint, _myPublic!, theirs, LocalFingerprint, peerFingerprint, _nonce!);
        var reveal = new E2EMessage
        {
            Kind = E2EMessage.RevealKind,
            Sid = message.Sid,
            PublicKey = Base64Url.EncodeToString(_myPublic!),
            Nonce = Base64Url.EncodeToString(_nonce!),
            Fingerprint = LocalFingerprint,
        };
        return new E2EReceiveResult(reveal, true, false);
    }

    private E2EReceiveResult ReceiveReveal(E2EMessage message)
    {
        RequireCurrent(E2ESessionState.AwaitingReveal, message);
        var theirs = E2ECrypto.FromBase64Url(message.PublicKey, E2ECrypto.PublicKeyLength, "public key");
        var nonce = E2ECrypto.FromBase64Url(message.Nonce, NonceLength, "nonce");
        var peerFingerprint = E2EFingerprint.Normalize(message.Fingerprint);
        var expected = E2ECrypto.Commit(ContextId, _sid!, theirs, peerFingerprint, nonce);
        if (!CryptographicOperations.FixedTimeEquals(expected, _commit))
        {
            Reset(E2ESessionState.Failed);
            throw new E2EProtocolException("commit-mismatch", "The revealed key does not match the commitment.");
        }
        Establish(theirs, peerFingerprint, theirs, _myPublic!, peerFingerprint, LocalFingerprint, nonce);
        return new E2EReceiveResult(null, true, false);
    }

    private void RequireCurrent(E2ESessionState state, E2EMessage message)
    {
        if (State != state || _sid is null || message.Sid != Base64Url.EncodeToString(_sid))
        {
            throw new E2EProtocolException("unexpected", $"A {message.Kind} message that is not for the key exchange under way.");
        }
    }

    private void Establish(byte[] theirPublic, string peerFingerprint, byte[] initiatorPublic, byte[] responderPublic,
        string initiatorFingerprint, string responderFingerprint, byte[] nonce)
    {
        var shared = E2ECrypto.SharedSecret(_key!, theirPublic);
        var transcript = E2ECrypto.TranscriptHash(ContextId, _sid!, initiatorPublic, responderPublic, initiatorFingerprint, responderFingerprint, nonce);
        var (i2r, r2i, code) = E2ECrypto.Derive(shared, transcript);
        CryptographicOperations.ZeroMemory(shared);
        (_sendKey, _receiveKey) = Role == E2ERole.Initiator ? (i2r, r2i) : (r2i, i2r);
        _sent = 0;
        _received = 0;
        CheckCode = code;
        PeerFingerprint = peerFingerprint;
        State = E2ESessionState.Established;
        Generation++;
        _key!.Dispose();
        _key = null;
    }

    private void Reset(E2ESessionState state)
    {
        _key?.Dispose();
        _key = null;
        if (_sendKey is not null) CryptographicOperations.ZeroMemory(_sendKey);
        if (_receiveKey is not null) CryptographicOperations.ZeroMemory(_receiveKey);
        _sendKey = _receiveKey = null;
        _sid = _nonce = _myPublic = _commit = null;
        CheckCode = null;
        PeerFingerprint = null;
        State = state;
    }

    private byte SendDirection => Role == E2ERole.Initiator ? E2ECrypto.InitiatorToResponder : E2ECrypto.ResponderToInitiator;

    private byte ReceiveDirection => Role == E2ERole.Initiator ? E2ECrypto.ResponderToInitiator : E2ECrypto.InitiatorToResponder;

    /// <summary>Encrypts a chat message under this direction's key with the next counter.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The Chat ciphertext: base64 of header (version, direction, counter) ‖ AES-GCM ciphertext ‖ tag.</returns>
    public string Encrypt(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (State != E2ESessionState.Established)
        {
            throw new E2EProtocolException("no-session", "No keys are agreed yet.");
        }
        return E2ECrypto.Seal(_sendKey!, SendDirection, ++_sent, text);
    }

    /// <summary>Decrypts a chat message of the other direction whose counter is above every one accepted before.
    /// Throws <see cref="E2EProtocolException"/> (<c>no-session</c>, <c>malformed</c>, <c>version</c>, <c>direction</c>,
    /// <c>replay</c>, <c>authentication</c>) otherwise; a refused message changes nothing.</summary>
    /// <param name="ciphertext">The Chat ciphertext.</param>
    public E2EPlaintext Decrypt(string ciphertext)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (State != E2ESessionState.Established)
        {
            throw new E2EProtocolException("no-session", "No keys are agreed yet.");
        }
        byte[] wire;
        try
        {
            wire = Convert.FromBase64String(ciphertext);
        }
        catch (FormatException)
        {
            throw new E2EProtocolException("malformed", "The ciphertext is not base64.");
        }
        if (wire.Length < E2ECrypto.HeaderLength + E2ECrypto.TagLength)
        {
            throw new E2EProtocolException("malformed", "The ciphertext is too short.");
        }
        if (wire[0] != E2EMessage.Version)
        {
            throw new E2EProtocolException("version", "The message is of another version.");
        }
        if (wire[1] != ReceiveDirection)
        {
            throw new E2EProtocolException("direction", "The message is of this side's own direction (reflected).");
        }
        var counter = BinaryPrimitives.ReadUInt64BigEndian(wire.AsSpan(2));
        if (counter <= _received)
        {
            throw new E2EProtocolException("replay", "The message's counter is not above the last one accepted (replayed or reordered).");
        }
        var header = wire.AsSpan(0, E2ECrypto.HeaderLength);
        var sealedLength = wire.Length - E2ECrypto.HeaderLength - E2ECrypto.TagLength;
        var plain = new byte[sealedLength];
        try
        {
            using var gcm = new AesGcm(_receiveKey!, E2ECrypto.TagLength);
            gcm.Decrypt(E2ECrypto.Nonce(ReceiveDirection, counter), wire.AsSpan(E2ECrypto.HeaderLength, sealedLength),
                wire.AsSpan(wire.Length - E2ECrypto.TagLength), plain, header);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new E2EProtocolException("authentication", "The message was altered or is not under this session's key.");
        }
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(plain);
        }
        catch (DecoderFallbackException)
        {
            throw new E2EProtocolException("malformed", "The message is not UTF-8 text.");
        }
        var missed = counter - _received - 1;
        _received = counter;
        return new E2EPlaintext(text, counter, missed);
    }

    /// <summary>Forgets every key.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        Reset(State);
        _disposed = true;
    }
}
