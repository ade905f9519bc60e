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
    /// <summary>Creates a renderer using the options' default module size and error-correction level.</summary>
    public QrRenderer(Microsoft.Extensions.Options.IOptions<QrCallingOptions> options) => throw new NotImplementedException();

    /// <summary>Renders <paramref name="text"/> (a payload; upper-cased) to PNG or SVG bytes.</summary>
    /// <param name="text">The payload or link to encode.</param>
    /// <param name="format">PNG or SVG.</param>
    /// <param name="pixelsPerModule">Module size; null for the options' default. 1 to 40.</param>
    public byte[] Render(string text, QrImageFormat format, int? pixelsPerModule = null) => throw new NotImplementedException();
}
