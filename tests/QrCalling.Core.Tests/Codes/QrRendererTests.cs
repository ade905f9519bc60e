using Xunit;
using System.Diagnostics;
using System.Xml.Linq;
using Microsoft.Extensions.Options;
using QrCalling.Codes;
using QrCalling.Testing;

namespace QrCalling.Core.Tests.Codes;

public sealed class QrRendererTests
{
    private static QrRenderer Create(string ecc = "M", int pixels = 4) =>
        new(Options.Create(new QrCallingOptions { QrErrorCorrection = ecc, QrPixelsPerModule = pixels }));

    [Theory]
    [InlineData("L")]
    [InlineData("M")]
    [InlineData("Q")]
    [InlineData("H")]
    public async Task Render_PngOfPayload_DecodesToTheUpperCasePayload(string ecc)
    {
        var payload = CodePayload.Format(CodeToken.New());

        var png = Create(ecc).Render(payload.ToLowerInvariant(), QrImageFormat.Png);

        Assert.Equal(payload, await DecodeAsync(png));
    }

    [Fact]
    public async Task Render_PngOfLink_DecodesToTheLinkWithUpperCasePayload()
    {
        var payload = CodePayload.Format(CodeToken.New());
        var link = CodePayload.ToLink("https://call.example.org/c", payload);

        var png = Create().Render(CodePayload.ToLink("https://call.example.org/c", payload.ToLowerInvariant()), QrImageFormat.Png, 3);

        var decoded = await DecodeAsync(png);
        Assert.Equal(link, decoded);
        Assert.Equal(PayloadStatus.Ok, CodePayload.Parse(decoded).Status);
    }

    [Fact]
    public void Render_UpperCasePayload_UsesASmallerSymbolThanLowerCaseBytes()
    {
        // Alphanumeric mode: 66 characters fit version 4-M (33x33 modules); byte mode would need version 5 (37x37).
        var payload = CodePayload.Format(CodeToken.New());
        var renderer = Create("M", 1);

        var png = renderer.Render(payload, QrImageFormat.Png, 1);

        var width = (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19];
        Assert.Equal(33 + 8, width); // modules plus the 4-module quiet zone on each side
    }

    [Fact]
    public void Render_Svg_IsWellFormedSvgXml()
    {
        var payload = CodePayload.Format(CodeToken.New());

        var svg = Create().Render(payload, QrImageFormat.Svg, 5);

        var document = XDocument.Parse(System.Text.Encoding.UTF8.GetString(svg));
        Assert.Equal("svg", document.Root!.Name.LocalName);
        Assert.Contains("<svg", System.Text.Encoding.UTF8.GetString(svg), StringComparison.Ordinal);
    }

    [Fact]
    public void Render_PixelsPerModule_ScalesTheImage()
    {
        var payload = CodePayload.Format(CodeToken.New());
        var renderer = Create();

        var small = renderer.Render(payload, QrImageFormat.Png, 1);
        var large = renderer.Render(payload, QrImageFormat.Png, 40);
        var byDefault = renderer.Render(payload, QrImageFormat.Png);

        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, small[..4]);
        Assert.Equal(40 * Width(small), Width(large));
        Assert.Equal(4 * Width(small), Width(byDefault));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(41)]
    public void Render_PixelsPerModuleOutOfRange_Throws(int pixels)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Create().Render("PQC:1:X", QrImageFormat.Png, pixels));
    }

    [Fact]
    public void ToQrText_Link_UpperCasesOnlyTheFragment()
    {
        Assert.Equal("https://x.example/c#PQC:1:AB", QrRenderer.ToQrText(" https://x.example/c#pqc:1:ab "));
        Assert.Equal("PQC:1:AB", QrRenderer.ToQrText("pqc:1:ab"));
    }

    private static int Width(byte[] png) => (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19];

    internal static async Task<string> DecodeAsync(byte[] png)
    {
        var zbarimg = TestServers.RequireProgram("zbarimg");
        var file = Path.Combine(Path.GetTempPath(), $"qrcalling-{Guid.NewGuid():N}.png");
        await File.WriteAllBytesAsync(file, png);
        try
        {
            var start = new ProcessStartInfo(zbarimg, ["-q", "--raw", file])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
            Assert.True(process.ExitCode == 0, $"zbarimg exited {process.ExitCode}: {await stderr}");
            return (await stdout).TrimEnd('\n', '\r');
        }
        finally
        {
            File.Delete(file);
        }
    }
}
