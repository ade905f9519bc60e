using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using QrCalling.Client.E2E;

namespace QrCalling.Client.Tests.E2E;

/// <summary>tests/vectors/e2e-v1.json (written by tests/vectors/make-e2e-v1.py with Python's cryptography; the web
/// app's e2e.js is checked against the same file in the browser tests).</summary>
internal static class Vectors
{
    public static IReadOnlyList<JsonElement> Cases { get; } = Load();

    public static IEnumerable<object[]> CaseIndexes => Enumerable.Range(0, Cases.Count).Select(i => new object[] { i });

    private static List<JsonElement> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "vectors", "e2e-v1.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToList();
    }

    public static byte[] Bytes(JsonElement element, string name) => Base64Url.DecodeFromChars(element.GetProperty(name).GetString()!);

    public static string Text(JsonElement element, string name) => element.GetProperty(name).GetString()!;

    /// <summary>The P-256 key of a vector party (its private scalar and public point).</summary>
    public static ECDiffieHellman Key(JsonElement party)
    {
        var point = Bytes(party, "publicKey");
        return ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            D = Bytes(party, "privateKey"),
            Q = new ECPoint { X = point[1..33], Y = point[33..] },
        });
    }
}

/// <summary>Entropy that hands out fixed key pairs and byte strings in order (a vector's keys, sid and nonce).</summary>
internal sealed class FixedEntropy(IEnumerable<ECDiffieHellman> keys, IEnumerable<byte[]> bytes) : E2EEntropy
{
    private readonly Queue<ECDiffieHellman> _keys = new(keys);
    private readonly Queue<byte[]> _bytes = new(bytes);

    public override ECDiffieHellman NewKeyPair() => _keys.Dequeue();

    public override byte[] RandomBytes(int count)
    {
        var next = _bytes.Dequeue();
        Assert.Equal(count, next.Length);
        return next;
    }
}
