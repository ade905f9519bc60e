using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using QrCalling.Client.E2E;

namespace QrCalling.Client.Tests.E2E;

/// <summary>A server that tampers with what it relays between two sessions: every case ends in check codes that differ
/// or in a refused message, never in a silent success.</summary>
public sealed class E2ETamperingTests
{
    private const string CallerFp = "sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00";
    private const string OwnerFp = "sha-256 A1:A2:A3:A4:A5:A6:A7:A8:A9:AA:AB:AC:AD:AE:AF:B0:B1:B2:B3:B4:B5:B6:B7:B8:B9:BA:BB:BC:BD:BE:BF:C0";
    private const string ServerFp = "sha-256 EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE:EE";

    [Fact]
    public void Relay_Honest_SameSixDigitCodeAndChatBothWays()
    {
        using var t = new TamperingTransport(callerFingerprint: CallerFp, ownerFingerprint: OwnerFp);
        t.RunKeyExchange();

        Assert.Equal(E2ESessionState.Established, t.Caller.State);
        Assert.Equal(E2ESessionState.Established, t.Owner.State);
        Assert.Matches("^[0-9]{3} [0-9]{3}$", t.Caller.CheckCode!);
        Assert.Equal(t.Caller.CheckCode, t.Owner.CheckCode);
        Assert.Equal(OwnerFp, t.Caller.PeerFingerprint);
        Assert.Equal(CallerFp, t.Owner.PeerFingerprint);
        Assert.Equal("hello", t.Owner.Decrypt(t.Caller.Encrypt("hello")).Text);
        Assert.Equal("hi", t.Caller.Decrypt(t.Owner.Encrypt("hi")).Text);
        Assert.Empty(t.Refusals);
    }

    [Fact]
    public void Relay_ServerRunsItsOwnKeyExchangeWithEachSide_CodesDifferAndChatDoesNotCross()
    {
        using var caller = new E2ESession(E2ERole.Initiator, "call_mitm");
        using var owner = new E2ESession(E2ERole.Responder, "call_mitm");
        using var serverAsOwner = new E2ESession(E2ERole.Responder, "call_mitm");
        using var serverAsCaller = new E2ESession(E2ERole.Initiator, "call_mitm");

        var keyForCaller = serverAsOwner.Receive(caller.Start()).Reply!;
        serverAsOwner.Receive(caller.Receive(keyForCaller).Reply!);
        var keyFromOwner = owner.Receive(serverAsCaller.Start()).Reply!;
        owner.Receive(serverAsCaller.Receive(keyFromOwner).Reply!);

        // The server holds both sessions' keys, but it had to send its key to the caller before the caller's key was
        // revealed, and commit to the owner before it saw the owner's key: the codes match only by a 1-in-10^6 chance.
        Assert.Equal(E2ESessionState.Established, caller.State);
        Assert.Equal(E2ESessionState.Established, owner.State);
        Assert.NotEqual(caller.CheckCode, owner.CheckCode);
        Assert.Equal(caller.CheckCode, serverAsOwner.CheckCode);
        Assert.Equal(owner.CheckCode, serverAsCaller.CheckCode);
        Assert.Equal("authentication", Assert.Throws<E2EProtocolException>(() => owner.Decrypt(caller.Encrypt("hello"))).Reason);
    }

    [Fact]
    public void Relay_ServerRetriesForAMatchingCode_EveryRetryIsAVisibleReset()
    {
        using var caller = new E2ESession(E2ERole.Initiator, "call_grind");
        var resets = 0;
        var codes = new HashSet<string>();
        var commit = caller.Start();
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var serverAsOwner = new E2ESession(E2ERole.Responder, "call_grind");
            var key = serverAsOwner.Receive(commit).Reply!;
            caller.Receive(key);
            codes.Add(caller.CheckCode!);
            // A second key for the same session, chosen after the reveal, is refused: the only way to try again is a
            // restart, which the caller's side shows as a new key exchange.
            using var other = new E2ESession(E2ERole.Responder, "call_grind");
            var late = other.Receive(commit).Reply!;
            Assert.Equal("unexpected", Assert.Throws<E2EProtocolException>(() => caller.Receive(late)).Reason);
            var restart = caller.Receive(new E2EMessage { Kind = E2EMessage.RestartKind });
            if (restart.Reset)
            {
                resets++;
            }
            commit = restart.Reply!;
        }
        Assert.Equal(50, resets);
        Assert.Equal(50, caller.Generation);
        Assert.True(codes.Count > 40, "each retry gives a fresh, unpredictable code");
    }

    [Fact]
    public void Relay_OwnersKeySwappedForTheServers_CodesDifferAndTheCallersMessagesAreRefused()
    {
        using var t = new TamperingTransport();
        using var server = new E2ESession(E2ERole.Responder, "call_tamper");
        t.KeyExchangeFilter = (to, m) => m.Kind == E2EMessage.KeyKind
            ? [m with { PublicKey = server.Receive(new E2EMessage { Kind = E2EMessage.CommitKind, Sid = m.Sid, Commit = new string('A', 43) }).Reply!.PublicKey }]
            : [m];
        t.RunKeyExchange();

        Assert.Equal(E2ESessionState.Established, t.Caller.State);
        Assert.Equal(E2ESessionState.Established, t.Owner.State);
        Assert.NotEqual(t.Caller.CheckCode, t.Owner.CheckCode);
        Assert.Equal("authentication", t.DeliverChat(t.Owner, t.Caller.Encrypt("hello")).Refused);
    }

    [Fact]
    public void Relay_RevealReplacedByAnotherKey_OwnerRefusesTheCommitMismatch()
    {
        using var t = new TamperingTransport();
        using var serverKey = System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var serverPoint = System.Buffers.Text.Base64Url.EncodeToString(E2ECrypto.ExportPublic(serverKey));
        t.KeyExchangeFilter = (to, m) => m.Kind == E2EMessage.RevealKind ? [m with { PublicKey = serverPoint }] : [m];
        t.RunKeyExchange();

        Assert.Contains("commit-mismatch", t.Refusals);
        Assert.Equal(E2ESessionState.Failed, t.Owner.State);
        Assert.Null(t.Owner.CheckCode);
    }

    [Fact]
    public void Relay_OwnerFingerprintSubstitutedInTheKeyExchange_CodesDiffer()
    {
        using var t = new TamperingTransport(callerFingerprint: CallerFp, ownerFingerprint: OwnerFp);
        t.KeyExchangeFilter = (to, m) => m.Kind == E2EMessage.KeyKind ? [m with { Fingerprint = ServerFp }] : [m];
        t.RunKeyExchange();

        Assert.Equal(ServerFp, t.Caller.PeerFingerprint);
        Assert.NotEqual(t.Caller.CheckCode, t.Owner.CheckCode);
    }

    [Fact]
    public void Relay_CallerFingerprintSubstitutedInTheReveal_OwnerRefusesTheCommitMismatch()
    {
        using var t = new TamperingTransport(callerFingerprint: CallerFp, ownerFingerprint: OwnerFp);
        t.KeyExchangeFilter = (to, m) => m.Kind == E2EMessage.RevealKind ? [m with { Fingerprint = ServerFp }] : [m];
        t.RunKeyExchange();

        Assert.Equal(["commit-mismatch"], t.Refusals);
        Assert.Equal(E2ESessionState.Failed, t.Owner.State);
    }

    [Fact]
    public void Sdp_FingerprintSubstitutedOnlyInTheSdp_DiffersFromTheOneTheKeyExchangeAgreed()
    {
        using var t = new TamperingTransport(callerFingerprint: CallerFp, ownerFingerprint: OwnerFp);
        t.RunKeyExchange();
        var honestAnswer = $"v=0\r\na=fingerprint:{OwnerFp}\r\n";
        var substituted = $"v=0\r\na=fingerprint:{ServerFp}\r\n";

        // A client accepts a remote description only when its fingerprint is the one the key exchange carried.
        Assert.Equal(t.Caller.PeerFingerprint, E2EFingerprint.FromSdp(honestAnswer));
        Assert.NotEqual(t.Caller.PeerFingerprint, E2EFingerprint.FromSdp(substituted));
    }

    [Fact]
    public void Relay_MessagesReflectedToTheirSender_Refused()
    {
        using var t = new TamperingTransport();
        var commit = t.Caller.Start();
        Assert.Null(t.Deliver(t.Caller, commit));
        var key = t.Deliver(t.Owner, commit)!;
        Assert.Null(t.Deliver(t.Owner, key));
        var reveal = t.Deliver(t.Caller, key)!;
        Assert.Null(t.Deliver(t.Caller, reveal));
        t.Deliver(t.Owner, reveal);
        Assert.Equal(["unexpected", "unexpected", "unexpected"], t.Refusals);
        Assert.Equal(t.Caller.CheckCode, t.Owner.CheckCode);

        var mine = t.Caller.Encrypt("to the owner");
        Assert.Equal("direction", t.DeliverChat(t.Caller, mine).Refused);
        Assert.Equal("to the owner", t.DeliverChat(t.Owner, mine).Plain!.Text);
    }

    [Fact]
    public void Relay_ChatReplayedReorderedDropped_RefusedOrReportedMissing()
    {
        using var t = new TamperingTransport();
        t.RunKeyExchange();
        var one = t.Caller.Encrypt("one");
        var two = t.Caller.Encrypt("two");
        var three = t.Caller.Encrypt("three");
        var four = t.Caller.Encrypt("four");

        Assert.Equal("one", t.DeliverChat(t.Owner, one).Plain!.Text);
        Assert.Equal("replay", t.DeliverChat(t.Owner, one).Refused);
        var third = t.DeliverChat(t.Owner, three).Plain!;          // two held back: reordered
        Assert.Equal(("three", 1UL), (third.Text, third.Missed));
        Assert.Equal("replay", t.DeliverChat(t.Owner, two).Refused); // too late: refused, and its absence was reported
        var fourth = t.DeliverChat(t.Owner, four).Plain!;
        Assert.Equal(("four", 0UL), (fourth.Text, fourth.Missed));
    }

    [Fact]
    public void Relay_KeyExchangeMessageDropped_NoKeysAndNoCode()
    {
        using var t = new TamperingTransport();
        t.KeyExchangeFilter = (to, m) => m.Kind == E2EMessage.RevealKind ? [] : [m];
        t.RunKeyExchange();

        Assert.Equal(E2ESessionState.AwaitingReveal, t.Owner.State);
        Assert.Null(t.Owner.CheckCode);
        Assert.Equal("no-session", Assert.Throws<E2EProtocolException>(() => t.Owner.Encrypt("x")).Reason);
    }

    [Fact]
    public void Relay_OldCommitReplayedAfterTheExchange_OwnerShowsAResetNotTheOldCode()
    {
        using var t = new TamperingTransport();
        E2EMessage? firstCommit = null;
        t.KeyExchangeFilter = (to, m) => { if (m.Kind == E2EMessage.CommitKind) firstCommit ??= m; return [m]; };
        t.RunKeyExchange();
        Assert.Equal(t.Caller.CheckCode, t.Owner.CheckCode);

        t.Results.Clear();
        t.Send(t.Owner, firstCommit!);

        Assert.True(t.Results[0].Reset);
        Assert.Null(t.Owner.CheckCode);
        Assert.Contains("unexpected", t.Refusals); // the caller refuses a key for a session it finished
    }

    [Fact]
    public void Relay_ReKeyFromEitherSide_NewCodeAndResetReported()
    {
        using var t = new TamperingTransport();
        t.RunKeyExchange();
        var first = t.Caller.CheckCode;
        var old = t.Caller.Encrypt("before");

        t.Results.Clear();
        t.Send(t.Caller, t.Owner.Start()); // the owner asks for a new exchange (e.g. after a reload)

        Assert.Contains(t.Results, r => r.Reset);
        Assert.Equal(2, t.Caller.Generation);
        Assert.Equal(t.Caller.CheckCode, t.Owner.CheckCode);
        Assert.NotEqual(first, t.Caller.CheckCode);
        Assert.Equal("authentication", t.DeliverChat(t.Owner, old).Refused); // nothing of the old session is accepted
    }

    [Property(MaxTest = 300)]
    public Property Relay_KeyExchangeBitFlipped_NeverTheSameCodeWithoutARefusal() =>
        Prop.ForAll(Gen.Choose(0, 2).Zip(Gen.Choose(0, 10_000)).ToArbitrary(), pick =>
        {
            var (which, bit) = pick;
            string[] kinds = [E2EMessage.CommitKind, E2EMessage.KeyKind, E2EMessage.RevealKind];
            using var t = new TamperingTransport(callerFingerprint: CallerFp, ownerFingerprint: OwnerFp);
            t.KeyExchangeFilter = (to, m) => m.Kind == kinds[which] ? [Flip(m, bit)] : [m];
            t.RunKeyExchange();
            var silent = t.Refusals.Count == 0 && t.Caller.State == E2ESessionState.Established
                && t.Owner.State == E2ESessionState.Established && t.Caller.CheckCode == t.Owner.CheckCode;
            return !silent;
        });

    [Property(MaxTest = 300)]
    public Property Relay_AnyChatDeliveryPlan_AcceptsOnlyWhatWasSentInOrderAndCountsTheGaps() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ArrayOf().ToArbitrary(), plan =>
        {
            using var t = new TamperingTransport();
            t.RunKeyExchange();
            var sent = new List<(E2ESession From, ulong Counter, string Text, string Wire)>();
            ulong callerCounter = 0, ownerCounter = 0;
            for (var i = 0; i < 8; i++)
            {
                var from = i % 3 == 2 ? t.Owner : t.Caller;
                var counter = ReferenceEquals(from, t.Caller) ? ++callerCounter : ++ownerCounter;
                var text = $"message {i}";
                sent.Add((from, counter, text, from.Encrypt(text)));
            }
            var lastAccepted = new Dictionary<E2ESession, ulong> { [t.Caller] = 0, [t.Owner] = 0 };
            foreach (var op in plan)
            {
                var m = sent[(op >> 4) % sent.Count];
                var to = t.Other(m.From);
                switch (op & 3)
                {
                    case 0: // deliver (perhaps again, perhaps out of order)
                        var (plain, _) = t.DeliverChat(to, m.Wire);
                        if (plain is not null)
                        {
                            if (plain.Text != m.Text || plain.Counter != m.Counter || plain.Counter <= lastAccepted[to]
                                || plain.Missed != plain.Counter - lastAccepted[to] - 1)
                            {
                                return false;
                            }
                            lastAccepted[to] = plain.Counter;
                        }
                        break;
                    case 1: // a bit flipped anywhere
                        var bytes = Convert.FromBase64String(m.Wire);
                        bytes[(op >> 8) % bytes.Length] ^= (byte)(1 << ((op >> 2) & 7));
                        if (t.DeliverChat(to, Convert.ToBase64String(bytes)).Plain is not null)
                        {
                            return false;
                        }
                        break;
                    case 2: // reflected to its sender
                        if (t.DeliverChat(m.From, m.Wire).Plain is not null)
                        {
                            return false;
                        }
                        break;
                    default: // dropped
                        break;
                }
            }
            return true;
        });

    /// <summary>Another hex digit in the value part (a change of case alone would be the same fingerprint).</summary>
    private static string FlipHexDigit(string fingerprint, int bit)
    {
        var chars = fingerprint.ToCharArray();
        var digits = Enumerable.Range(8, chars.Length - 8).Where(i => Uri.IsHexDigit(chars[i])).ToList();
        var i = digits[bit % digits.Count];
        chars[i] = chars[i] == '0' ? '1' : '0';
        return new string(chars);
    }

    private static E2EMessage Flip(E2EMessage m, int bit)
    {
        string FlipText(string s)
        {
            var chars = s.ToCharArray();
            var i = bit % chars.Length;
            chars[i] = chars[i] == 'A' ? 'B' : 'A';
            return new string(chars);
        }
        return (bit / 7 % 3) switch
        {
            0 when m.PublicKey is not null => m with { PublicKey = FlipText(m.PublicKey) },
            1 when m.Fingerprint is { Length: > 0 } => m with { Fingerprint = FlipHexDigit(m.Fingerprint, bit) },
            2 when m.Nonce is not null => m with { Nonce = FlipText(m.Nonce) },
            _ => m with { Sid = m.Kind == E2EMessage.CommitKind ? m.Sid : FlipText(m.Sid!), Commit = m.Commit is null ? null : FlipText(m.Commit) },
        };
    }
}
