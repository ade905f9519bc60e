using System.Security.Cryptography;
using QrCalling.Codes;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

// Who may call, and when (issue 14): a code's policy, its blocked callers and the caller records of its calls; all of
// it dies with the code. Races included: concurrent blocks of one caller give one block.
public abstract partial class StorageContractTests
{
    private static readonly CallPolicy NightPolicy = new()
    {
        ChatOnly = true,
        QuietHours = new QuietHours
        {
            Start = new TimeOnly(22, 30),
            End = new TimeOnly(6, 45),
            Days = QuietDays.Friday | QuietDays.Saturday,
            TimeZone = "Europe/Berlin",
        },
    };

    private static CallerBlock NewBlock(string codeId, byte[]? pseudonym = null, DateTimeOffset? at = null) => new()
    {
        BlockId = NewId("b"),
        CodeId = codeId,
        Pseudonym = pseudonym ?? RandomNumberGenerator.GetBytes(32),
        CreatedAt = at ?? T0,
    };

    /// <summary>True for a store whose <see cref="IStorage.FindCodeWithControlsAsync"/> reports
    /// <see cref="CodeWithControls.AnyBlocks"/> false for a code without blocks (rather than "cannot tell").</summary>
    protected virtual bool CanTellCodesWithoutBlocks => false;

    private async Task<CodeRecord> StoredCodeAsync(DateTimeOffset? expiresAt = null)
    {
        var code = NewCodeRecord(NewId("owner"), expiresAt: expiresAt);
        await Storage.Codes.CreateAsync(code, default);
        return code;
    }

    [Fact]
    public async Task CallerControlsPolicy_SetThenGet_RoundTripsEveryField()
    {
        var code = await StoredCodeAsync();
        var other = await StoredCodeAsync();

        Assert.True(await Storage.CallerControls.SetPolicyAsync(code.Id, NightPolicy, default));

        Assert.Equal(NightPolicy, await Storage.CallerControls.GetPolicyAsync(code.Id, default));
        Assert.Equal(CallPolicy.None, await Storage.CallerControls.GetPolicyAsync(other.Id, default));
        var admission = await Storage.CallerControls.GetAdmissionAsync(code.Id, [], default);
        Assert.Equal(NightPolicy, admission.Policy);
        Assert.False(admission.Blocked);
    }

    [Fact]
    public async Task FindCodeWithControls_GivesTheCodeItsPolicyAndWhetherItHasBlocks_NullForAnUnknownKey()
    {
        var code = await StoredCodeAsync();
        var plain = await StoredCodeAsync();
        await Storage.CallerControls.SetPolicyAsync(code.Id, NightPolicy, default);

        var found = await Storage.FindCodeWithControlsAsync(code.KeyHash, default);
        Assert.NotNull(found);
        Assert.Equal(code.Id, found.Code.Id);
        Assert.Equal(code.KeyHash, found.Code.KeyHash);
        Assert.Equal(NightPolicy, found.Policy);
        var plainFound = await Storage.FindCodeWithControlsAsync(plain.KeyHash, default);
        Assert.Equal(plain.Id, plainFound!.Code.Id);
        Assert.Equal(CallPolicy.None, plainFound.Policy);
        Assert.Null(await Storage.FindCodeWithControlsAsync(RandomNumberGenerator.GetBytes(32), default));

        // AnyBlocks may be true without blocks (a store that cannot tell), never false with one.
        if (CanTellCodesWithoutBlocks)
        {
            Assert.False(plainFound.AnyBlocks);
        }
        var block = await Storage.CallerControls.BlockAsync(NewBlock(plain.Id), default);
        Assert.True((await Storage.FindCodeWithControlsAsync(plain.KeyHash, default))!.AnyBlocks);
        Assert.True(await Storage.CallerControls.UnblockAsync(plain.Id, block!.BlockId, default));
        var unblocked = await Storage.FindCodeWithControlsAsync(plain.KeyHash, default);
        Assert.Equal(plain.Id, unblocked!.Code.Id);
        if (CanTellCodesWithoutBlocks)
        {
            Assert.False(unblocked.AnyBlocks);
        }

        // A revoked code is still found (its state is the caller's to judge), with its policy.
        Assert.True(await Storage.Codes.RevokeAsync(code.OwnerId, code.Id, T0.AddMinutes(1), default));
        var revoked = await Storage.FindCodeWithControlsAsync(code.KeyHash, default);
        Assert.NotNull(revoked!.Code.RevokedAt);
        Assert.Equal(NightPolicy, revoked.Policy);
    }

    [Fact]
    public async Task CallerControlsPolicy_ReplaceAndClear_KeepsOnlyTheLast()
    {
        var code = await StoredCodeAsync();
        await Storage.CallerControls.SetPolicyAsync(code.Id, NightPolicy, default);

        var chatOnly = new CallPolicy { ChatOnly = true };
        Assert.True(await Storage.CallerControls.SetPolicyAsync(code.Id, chatOnly, default));
        Assert.Equal(chatOnly, await Storage.CallerControls.GetPolicyAsync(code.Id, default));

        Assert.True(await Storage.CallerControls.SetPolicyAsync(code.Id, CallPolicy.None, default));
        Assert.Equal(CallPolicy.None, await Storage.CallerControls.GetPolicyAsync(code.Id, default));
    }

    [Fact]
    public async Task CallerControlsWrites_UnknownCode_StoreNothing()
    {
        var missing = NewId("c");

        Assert.False(await Storage.CallerControls.SetPolicyAsync(missing, NightPolicy, default));
        Assert.Null(await Storage.CallerControls.BlockAsync(NewBlock(missing), default));
        await Storage.CallerControls.RecordCallerAsync(new CallCaller
        {
            CallId = NewId("call"), CodeId = missing, Pseudonym = RandomNumberGenerator.GetBytes(32), ExpiresAt = T0.AddDays(1),
        }, default);

        Assert.Equal(CallPolicy.None, await Storage.CallerControls.GetPolicyAsync(missing, default));
        Assert.Empty(await Storage.CallerControls.ListBlocksAsync(missing, default));
    }

    [Fact]
    public async Task CallerControlsBlock_BlocksThatPseudonymOnThatCodeOnly()
    {
        var code = await StoredCodeAsync();
        var other = await StoredCodeAsync();
        var caller = RandomNumberGenerator.GetBytes(32);
        var someoneElse = RandomNumberGenerator.GetBytes(32);

        var block = await Storage.CallerControls.BlockAsync(NewBlock(code.Id, caller), default);

        Assert.NotNull(block);
        Assert.True((await Storage.CallerControls.GetAdmissionAsync(code.Id, [(byte[])caller.Clone()], default)).Blocked);
        Assert.True((await Storage.CallerControls.GetAdmissionAsync(code.Id, [someoneElse, caller], default)).Blocked);
        Assert.False((await Storage.CallerControls.GetAdmissionAsync(code.Id, [someoneElse], default)).Blocked);
        Assert.False((await Storage.CallerControls.GetAdmissionAsync(code.Id, [], default)).Blocked);
        Assert.False((await Storage.CallerControls.GetAdmissionAsync(other.Id, [caller], default)).Blocked);
    }

    [Fact]
    public async Task CallerControlsBlock_Twice_ReturnsTheFirstBlock()
    {
        var code = await StoredCodeAsync();
        var caller = RandomNumberGenerator.GetBytes(32);
        var first = await Storage.CallerControls.BlockAsync(NewBlock(code.Id, caller, T0), default);

        var second = await Storage.CallerControls.BlockAsync(NewBlock(code.Id, caller, T0.AddHours(1)), default);

        Assert.Equal(first!.BlockId, second!.BlockId);
        Assert.Equal(T0, second.CreatedAt);
        Assert.Single(await Storage.CallerControls.ListBlocksAsync(code.Id, default));
    }

    [Fact]
    public async Task CallerControlsBlock_TwentyConcurrentBlocksOfOneCaller_GiveOneBlock()
    {
        var code = await StoredCodeAsync();
        var caller = RandomNumberGenerator.GetBytes(32);
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await Storage.CallerControls.BlockAsync(NewBlock(code.Id, caller, T0.AddSeconds(i)), default);
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(tasks);

        var blocks = await Storage.CallerControls.ListBlocksAsync(code.Id, default);
        var only = Assert.Single(blocks);
        Assert.All(results, r => Assert.Equal(only.BlockId, r!.BlockId));
        Assert.Equal(caller, only.Pseudonym);
    }

    [Fact]
    public async Task CallerControlsList_NewestFirst_AndUnblockRemovesOne()
    {
        var code = await StoredCodeAsync();
        var older = await Storage.CallerControls.BlockAsync(NewBlock(code.Id, at: T0), default);
        var newer = await Storage.CallerControls.BlockAsync(NewBlock(code.Id, at: T0.AddMinutes(5)), default);

        var listed = await Storage.CallerControls.ListBlocksAsync(code.Id, default);
        Assert.Equal([newer!.BlockId, older!.BlockId], listed.Select(b => b.BlockId));
        Assert.Equal([T0.AddMinutes(5), T0], listed.Select(b => b.CreatedAt));

        Assert.False(await Storage.CallerControls.UnblockAsync(code.Id, NewId("b"), default));
        Assert.True(await Storage.CallerControls.UnblockAsync(code.Id, older.BlockId, default));
        Assert.False(await Storage.CallerControls.UnblockAsync(code.Id, older.BlockId, default));
        Assert.False((await Storage.CallerControls.GetAdmissionAsync(code.Id, [older.Pseudonym], default)).Blocked);
        Assert.True((await Storage.CallerControls.GetAdmissionAsync(code.Id, [newer.Pseudonym], default)).Blocked);
    }

    [Fact]
    public async Task CallerControlsUnblock_OtherCodesBlockId_RemovesNothing()
    {
        var code = await StoredCodeAsync();
        var other = await StoredCodeAsync();
        var block = await Storage.CallerControls.BlockAsync(NewBlock(code.Id), default);

        Assert.False(await Storage.CallerControls.UnblockAsync(other.Id, block!.BlockId, default));
        Assert.Single(await Storage.CallerControls.ListBlocksAsync(code.Id, default));
    }

    [Fact]
    public async Task CallerControlsCallers_RecordFindAndSweep()
    {
        var code = await StoredCodeAsync();
        var early = new CallCaller { CallId = NewId("call"), CodeId = code.Id, Pseudonym = RandomNumberGenerator.GetBytes(32), ExpiresAt = T0.AddHours(1) };
        var late = new CallCaller { CallId = NewId("call"), CodeId = code.Id, Pseudonym = RandomNumberGenerator.GetBytes(32), ExpiresAt = T0.AddDays(30) };
        await Storage.CallerControls.RecordCallerAsync(early, default);
        await Storage.CallerControls.RecordCallerAsync(late, default);

        var found = await Storage.CallerControls.FindCallerAsync(early.CallId, default);
        Assert.Equal((early.CallId, early.CodeId, early.ExpiresAt), (found!.CallId, found.CodeId, found.ExpiresAt));
        Assert.Equal(early.Pseudonym, found.Pseudonym);
        Assert.Null(await Storage.CallerControls.FindCallerAsync(NewId("call"), default));

        Assert.Equal(1, await Storage.CallerControls.DeleteExpiredCallersAsync(T0.AddDays(1), 100, default));

        Assert.Null(await Storage.CallerControls.FindCallerAsync(early.CallId, default));
        Assert.NotNull(await Storage.CallerControls.FindCallerAsync(late.CallId, default));
    }

    [Fact]
    public async Task CallerControls_CodeDeletedByOwner_PolicyBlocksAndCallersGoWithIt()
    {
        var code = await StoredCodeAsync();
        var kept = await StoredCodeAsync();
        var caller = RandomNumberGenerator.GetBytes(32);
        var call = new CallCaller { CallId = NewId("call"), CodeId = code.Id, Pseudonym = caller, ExpiresAt = T0.AddDays(30) };
        foreach (var c in new[] { code, kept })
        {
            await Storage.CallerControls.SetPolicyAsync(c.Id, NightPolicy, default);
            await Storage.CallerControls.BlockAsync(NewBlock(c.Id, caller), default);
        }
        await Storage.CallerControls.RecordCallerAsync(call, default);

        Assert.True(await Storage.Codes.DeleteAsync(code.OwnerId, code.Id, default));

        Assert.Equal(CallPolicy.None, await Storage.CallerControls.GetPolicyAsync(code.Id, default));
        Assert.Empty(await Storage.CallerControls.ListBlocksAsync(code.Id, default));
        Assert.False((await Storage.CallerControls.GetAdmissionAsync(code.Id, [caller], default)).Blocked);
        Assert.Null(await Storage.CallerControls.FindCallerAsync(call.CallId, default));
        // Another code's controls are untouched.
        Assert.Equal(NightPolicy, await Storage.CallerControls.GetPolicyAsync(kept.Id, default));
        Assert.True((await Storage.CallerControls.GetAdmissionAsync(kept.Id, [caller], default)).Blocked);
    }

    [Fact]
    public async Task CallerControls_CodeDeletedBySweep_PolicyBlocksAndCallersGoWithIt()
    {
        var stale = await StoredCodeAsync(expiresAt: T0);
        var live = await StoredCodeAsync(expiresAt: T0.AddDays(365));
        var call = new CallCaller { CallId = NewId("call"), CodeId = stale.Id, Pseudonym = RandomNumberGenerator.GetBytes(32), ExpiresAt = T0.AddDays(30) };
        foreach (var c in new[] { stale, live })
        {
            await Storage.CallerControls.SetPolicyAsync(c.Id, NightPolicy, default);
            await Storage.CallerControls.BlockAsync(NewBlock(c.Id), default);
        }
        await Storage.CallerControls.RecordCallerAsync(call, default);

        Assert.Equal(1, await Storage.Codes.DeleteStaleAsync(T0.AddHours(1), 100, default));

        Assert.Equal(CallPolicy.None, await Storage.CallerControls.GetPolicyAsync(stale.Id, default));
        Assert.Empty(await Storage.CallerControls.ListBlocksAsync(stale.Id, default));
        Assert.Null(await Storage.CallerControls.FindCallerAsync(call.CallId, default));
        Assert.Equal(NightPolicy, await Storage.CallerControls.GetPolicyAsync(live.Id, default));
        Assert.Single(await Storage.CallerControls.ListBlocksAsync(live.Id, default));
    }

    [Fact]
    public async Task CallerControls_BlocksRacingCodeDelete_LeaveNothingBehind()
    {
        for (var round = 0; round < 5; round++)
        {
            var code = await StoredCodeAsync();
            using var start = new ManualResetEventSlim();
            var blocks = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                start.Wait();
                await Storage.CallerControls.BlockAsync(NewBlock(code.Id), default);
                await Storage.CallerControls.SetPolicyAsync(code.Id, NightPolicy, default);
            })).ToArray();
            var delete = Task.Run(async () =>
            {
                start.Wait();
                return await Storage.Codes.DeleteAsync(code.OwnerId, code.Id, default);
            });
            start.Set();
            await Task.WhenAll(blocks);
            Assert.True(await delete);

            Assert.Empty(await Storage.CallerControls.ListBlocksAsync(code.Id, default));
            Assert.Equal(CallPolicy.None, await Storage.CallerControls.GetPolicyAsync(code.Id, default));
        }
    }
}
