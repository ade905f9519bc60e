using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace QrCalling.Codes;

/// <summary>A public key that verifies signed session QR: an ECDSA P-256 key as its SubjectPublicKeyInfo (SPKI), with its
/// stable <see cref="KeyId"/>. This is all a client needs to verify offline.</summary>
public sealed class SessionQrPublicKey
{
    private readonly byte[] _spki;

    private SessionQrPublicKey(byte[] spki, string keyId)
    {
        _spki = spki;
        KeyId = keyId;
    }

    /// <summary>The key id: base32 of the first 5 bytes of SHA-256 over the SPKI (8 characters), so the same key always
    /// has the same id.</summary>
    public string KeyId { get; }

    /// <summary>The DER SubjectPublicKeyInfo (a copy).</summary>
    public byte[] SubjectPublicKeyInfo => (byte[])_spki.Clone();

    /// <summary>A key from its DER SubjectPublicKeyInfo.</summary>
    /// <exception cref="CryptographicException">Not an ECDSA P-256 public key.</exception>
    public static SessionQrPublicKey FromSubjectPublicKeyInfo(ReadOnlySpan<byte> spki)
    {
        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(spki, out var read);
        if (read != spki.Length)
        {
            throw new CryptographicException("Trailing bytes after the SubjectPublicKeyInfo.");
        }
        try
        {
            SessionQrKeyLoader.EnsureP256(key);
        }
        catch (SessionQrKeyException ex)
        {
            throw new CryptographicException("The key " + ex.Message, ex);
        }
        return FromKey(key);
    }

    /// <summary>A key from a PEM <c>PUBLIC KEY</c> block (SPKI).</summary>
    /// <exception cref="CryptographicException">No PUBLIC KEY block, or not an ECDSA P-256 public key.</exception>
    public static SessionQrPublicKey FromPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        foreach (var block in SessionQrKeyLoader.PemBlocks(pem))
        {
            if (block.Label == "PUBLIC KEY")
            {
                return FromSubjectPublicKeyInfo(block.Data);
            }
        }
        throw new CryptographicException("No PEM 'PUBLIC KEY' block found.");
    }

    /// <summary>A key from its SPKI in base64url (as <c>GET /api/v1/verify-qr/keys</c> lists it).</summary>
    /// <exception cref="FormatException">Not base64url.</exception>
    /// <exception cref="CryptographicException">Not an ECDSA P-256 public key.</exception>
    public static SessionQrPublicKey FromBase64Url(string spki)
    {
        ArgumentNullException.ThrowIfNull(spki);
        return FromSubjectPublicKeyInfo(System.Buffers.Text.Base64Url.DecodeFromChars(spki));
    }

    /// <summary>The SPKI in base64url without padding.</summary>
    public string ToBase64Url() => System.Buffers.Text.Base64Url.EncodeToString(_spki);

    /// <summary>The SPKI as a PEM <c>PUBLIC KEY</c> block.</summary>
    public string ToPem() => PemEncoding.WriteString("PUBLIC KEY", _spki);

    internal static SessionQrPublicKey FromKey(ECDsa key)
    {
        var spki = key.ExportSubjectPublicKeyInfo();
        return new SessionQrPublicKey(spki, KeyIdOf(spki));
    }

    internal static string KeyIdOf(ReadOnlySpan<byte> spki) => Base32.Encode(SHA256.HashData(spki).AsSpan(0, 5));

    internal ECDsa CreateVerifier()
    {
        var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(_spki, out _);
        return key;
    }
}

/// <summary>A key file that could not be used, with a message that says why (never the password).</summary>
internal sealed class SessionQrKeyException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Loads ECDSA P-256 keys from PKCS#8 (PEM <c>PRIVATE KEY</c> / <c>ENCRYPTED PRIVATE KEY</c>, or DER), PKCS#12
/// (<c>.pfx</c>/<c>.p12</c>, with a password, read with System.Security.Cryptography.Pkcs so a key without a certificate
/// works too) and, for verification only, SPKI (PEM <c>PUBLIC KEY</c> or DER).</summary>
internal static class SessionQrKeyLoader
{
    private const string P256Oid = "1.2.840.10045.3.1.7";
    private const int MaxFileBytes = 1024 * 1024;

    /// <summary>Loads a key file. With <paramref name="requirePrivate"/> a file without a private key is refused.</summary>
    /// <exception cref="SessionQrKeyException">Unreadable, unknown format, wrong password, not P-256, or no private key.</exception>
    public static ECDsa Load(string path, string? password, bool requirePrivate)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxFileBytes)
            {
                throw new SessionQrKeyException($"is larger than {MaxFileBytes} bytes: not a key file.");
            }
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new SessionQrKeyException($"cannot be read ({ex.GetType().Name}: {ex.Message}).", ex);
        }
        return Load(bytes, password, requirePrivate);
    }

    /// <summary>Loads a key from a file's bytes; see <see cref="Load(string, string?, bool)"/>.</summary>
    public static ECDsa Load(byte[] bytes, string? password, bool requirePrivate)
    {
        var (key, hasPrivate) = IsPem(bytes) ? LoadPem(Encoding.ASCII.GetString(bytes), password) : LoadBinary(bytes, password);
        try
        {
            EnsureP256(key);
            if (requirePrivate && !hasPrivate)
            {
                throw new SessionQrKeyException("holds no private key: a signing key needs one (PKCS#8 PRIVATE KEY or a .pfx with its key).");
            }
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public static void EnsureP256(ECDsa key)
    {
        ECParameters parameters;
        try
        {
            parameters = key.ExportParameters(false);
        }
        catch (CryptographicException ex)
        {
            throw new SessionQrKeyException("is not a usable EC key.", ex);
        }
        var curve = parameters.Curve;
        var named = curve.IsNamed && (curve.Oid.Value == P256Oid || curve.Oid.FriendlyName is "nistP256" or "ECDSA_P256" or "prime256v1");
        if (!named || key.KeySize != 256)
        {
            throw new SessionQrKeyException($"is on the wrong curve ({curve.Oid.FriendlyName ?? curve.Oid.Value ?? "explicit"}, {key.KeySize} bits): session QR keys are ECDSA P-256.");
        }
    }

    internal static IEnumerable<(string Label, byte[] Data)> PemBlocks(string text)
    {
        var rest = text.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out var fields))
        {
            var label = rest.Span[fields.Label].ToString();
            var data = Convert.FromBase64String(rest.Span[fields.Base64Data].ToString());
            yield return (label, data);
            rest = rest[fields.Location.End..];
        }
    }

    private static bool IsPem(byte[] bytes)
    {
        var start = 0;
        while (start < bytes.Length && bytes[start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF or 0xBB or 0xBF)
        {
            start++;
        }
        return bytes.AsSpan(start).StartsWith("-----BEGIN "u8);
    }

    private static (ECDsa Key, bool HasPrivate) LoadPem(string text, string? password)
    {
        var labels = new List<string>();
        foreach (var (label, data) in PemBlocks(text))
        {
            labels.Add(label);
            switch (label)
            {
                case "PRIVATE KEY":
                    return (Import(k => k.ImportPkcs8PrivateKey(data, out _), "PKCS#8 private key"), true);
                case "ENCRYPTED PRIVATE KEY":
                    if (string.IsNullOrEmpty(password))
                    {
                        throw new SessionQrKeyException("is an encrypted PKCS#8 key: its Password is required.");
                    }
                    return (Import(k => k.ImportEncryptedPkcs8PrivateKey(password, data, out _), "encrypted PKCS#8 private key (or the password is wrong)"), true);
                case "PUBLIC KEY":
                    return (Import(k => k.ImportSubjectPublicKeyInfo(data, out _), "public key (SPKI)"), false);
            }
        }
        throw new SessionQrKeyException(labels.Count == 0
            ? "is not a readable PEM file."
            : $"has no PKCS#8 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY' or 'PUBLIC KEY' block (found: {string.Join(", ", labels)}); convert it with 'openssl pkcs8 -topk8'.");
    }

    private static (ECDsa Key, bool HasPrivate) LoadBinary(byte[] bytes, string? password)
    {
        Pkcs12Info? pfx = null;
        try
        {
            pfx = Pkcs12Info.Decode(bytes, out var consumed, skipCopy: true);
            if (consumed != bytes.Length)
            {
                pfx = null;
            }
        }
        catch (CryptographicException)
        {
            // Not PKCS#12: try PKCS#8 and SPKI below.
        }
        if (pfx is not null)
        {
            return LoadPkcs12(pfx, password);
        }
        var attempts = new List<Func<ECDsa, bool>>
        {
            k => { k.ImportPkcs8PrivateKey(bytes, out var n); return n == bytes.Length; },
        };
        if (!string.IsNullOrEmpty(password))
        {
            attempts.Add(k => { k.ImportEncryptedPkcs8PrivateKey(password, bytes, out var n); return n == bytes.Length; });
        }
        for (var i = 0; i < attempts.Count; i++)
        {
            var key = ECDsa.Create();
            try
            {
                if (attempts[i](key))
                {
                    return (key, true);
                }
            }
            catch (CryptographicException)
            {
            }
            key.Dispose();
        }
        var publicKey = ECDsa.Create();
        try
        {
            publicKey.ImportSubjectPublicKeyInfo(bytes, out var read);
            if (read == bytes.Length)
            {
                return (publicKey, false);
            }
        }
        catch (CryptographicException)
        {
        }
        publicKey.Dispose();
        throw new SessionQrKeyException(string.IsNullOrEmpty(password)
            ? "is not an EC key in PKCS#8 DER, PKCS#12 or SPKI DER (an encrypted PKCS#8 key needs its Password)."
            : "is not an EC key in PKCS#8 DER, encrypted PKCS#8 DER (or the password is wrong), PKCS#12 or SPKI DER.");
    }

    private static (ECDsa Key, bool HasPrivate) LoadPkcs12(Pkcs12Info pfx, string? password)
    {
        var secret = password ?? "";
        if (pfx.IntegrityMode == Pkcs12IntegrityMode.Password && !pfx.VerifyMac(secret))
        {
            throw new SessionQrKeyException("is a PKCS#12 file whose password is wrong (or missing).");
        }
        ECDsa? certificateKey = null;
        try
        {
            foreach (var contents in pfx.AuthenticatedSafe)
            {
                if (contents.ConfidentialityMode == Pkcs12ConfidentialityMode.Password)
                {
                    contents.Decrypt(secret);
                }
                else if (contents.ConfidentialityMode != Pkcs12ConfidentialityMode.None)
                {
                    continue; // public-key encrypted contents: not supported
                }
                foreach (var bag in contents.GetBags())
                {
                    switch (bag)
                    {
                        case Pkcs12ShroudedKeyBag shrouded:
                            certificateKey?.Dispose();
                            return (Import(k => k.ImportEncryptedPkcs8PrivateKey(secret, shrouded.EncryptedPkcs8PrivateKey.Span, out _), "PKCS#12 key"), true);
                        case Pkcs12KeyBag plain:
                            certificateKey?.Dispose();
                            return (Import(k => k.ImportPkcs8PrivateKey(plain.Pkcs8PrivateKey.Span, out _), "PKCS#12 key"), true);
                        case Pkcs12CertBag cert when cert.IsX509Certificate && certificateKey is null:
                            using (var x509 = cert.GetCertificate())
                            {
                                certificateKey = x509.GetECDsaPublicKey();
                            }
                            break;
                    }
                }
            }
        }
        catch (CryptographicException ex)
        {
            throw new SessionQrKeyException($"is a PKCS#12 file that cannot be decrypted with the given password ({ex.Message}).", ex);
        }
        if (certificateKey is not null)
        {
            return (certificateKey, false); // verification only; Load refuses it as a signing key
        }
        throw new SessionQrKeyException("is a PKCS#12 file without an EC key.");
    }

    private static ECDsa Import(Action<ECDsa> import, string what)
    {
        var key = ECDsa.Create();
        try
        {
            import(key);
            return key;
        }
        catch (CryptographicException ex)
        {
            key.Dispose();
            throw new SessionQrKeyException($"holds a {what} that is not an EC key or cannot be read ({ex.Message}).", ex);
        }
    }
}
