using Microsoft.Extensions.Options;
using QRCoder;

namespace QrCalling.Codes;

/// <summary>Image format of a rendered QR code.</summary>
public enum QrImageFormat
{
    /// <summary>image/png</summary>
    Png,
    /// <summary>image/svg+xml</summary>
    Svg,
}

/// <summary>Renders payloads (or links) as QR images with QRCoder, text in UPPER case for alphanumeric mode.</summary>
public sealed class QrRenderer
{
    /// <summary>Smallest module size in pixels.</summary>
    public const int MinPixelsPerModule = 1;
    /// <summary>Largest module size in pixels.</summary>
    public const int MaxPixelsPerModule = 40;

    private readonly int _defaultPixelsPerModule;
    private readonly QRCodeGenerator.ECCLevel _eccLevel;

    /// <summary>Creates a renderer using the options' default module size and error-correction level.</summary>
    public QrRenderer(IOptions<QrCallingOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        _defaultPixelsPerModule = value.QrPixelsPerModule;
        _eccLevel = value.QrErrorCorrection switch
        {
            "L" => QRCodeGenerator.ECCLevel.L,
            "M" => QRCodeGenerator.ECCLevel.M,
            "Q" => QRCodeGenerator.ECCLevel.Q,
            "H" => QRCodeGenerator.ECCLevel.H,
            _ => throw new ArgumentOutOfRangeException(nameof(options), value.QrErrorCorrection,
                $"{QrCallingOptions.SectionName}:{nameof(QrCallingOptions.QrErrorCorrection)} must be L, M, Q or H."),
        };
    }

    /// <summary>Renders <paramref name="text"/> (a payload; upper-cased) to PNG or SVG bytes. For the link form
    /// (<c>&lt;base&gt;#&lt;payload&gt;</c>) only the part after the last <c>#</c> is upper-cased, since a URL's path is
    /// case-sensitive.</summary>
    /// <param name="text">The payload or link to encode.</param>
    /// <param name="format">PNG or SVG.</param>
    /// <param name="pixelsPerModule">Module size; null for the options' default. 1 to 40.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pixelsPerModule"/> is outside 1 to 40, or
    /// <paramref name="format"/> is unknown.</exception>
    public byte[] Render(string text, QrImageFormat format, int? pixelsPerModule = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pixels = pixelsPerModule ?? _defaultPixelsPerModule;
        ArgumentOutOfRangeException.ThrowIfLessThan(pixels, MinPixelsPerModule, nameof(pixelsPerModule));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pixels, MaxPixelsPerModule, nameof(pixelsPerModule));
        if (format is not (QrImageFormat.Png or QrImageFormat.Svg))
        {
            throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown image format.");
        }

        using var data = QRCodeGenerator.GenerateQrCode(ToQrText(text), _eccLevel);
        return format == QrImageFormat.Png
            ? new PngByteQRCode(data).GetGraphic(pixels)
            : System.Text.Encoding.UTF8.GetBytes(new SvgQRCode(data).GetGraphic(pixels));
    }

    /// <summary>The text as encoded: trimmed, upper case (only the fragment of a link).</summary>
    internal static string ToQrText(string text)
    {
        var trimmed = text.Trim();
        var hash = trimmed.LastIndexOf('#');
        return hash < 0
            ? trimmed.ToUpperInvariant()
            : string.Concat(trimmed.AsSpan(0, hash + 1), trimmed[(hash + 1)..].ToUpperInvariant());
    }
}
