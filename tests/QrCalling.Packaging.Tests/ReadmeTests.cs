using Xunit;
using System.Text.RegularExpressions;

namespace QrCalling.Packaging.Tests;

/// <summary>The README's client sample is code the tests compile and run: the "Client alone" consumer's
/// <c>README:begin</c>…<c>README:end</c> region, word for word.</summary>
public sealed partial class ReadmeTests
{
    [GeneratedRegex(@"## Clients\n(?:.*\n)*?```csharp\n(?<code>(?:.*\n)*?)```", RegexOptions.None)]
    private static partial Regex ClientsSample();

    [Fact]
    public void ReadmeClientsSample_IsTheClientConsumersCode()
    {
        var root = PackageFeed.FindRoot();
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var program = File.ReadAllText(Path.Combine(root, "tests", "QrCalling.Packaging.Tests", "ClientConsumer", "Program.cs")).ReplaceLineEndings("\n");
        var match = ClientsSample().Match(readme);
        Assert.True(match.Success, "README.md has no \"## Clients\" section with a csharp sample");
        var begin = program.IndexOf("// README:begin\n", StringComparison.Ordinal);
        var end = program.IndexOf("// README:end\n", StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, "ClientConsumer/Program.cs has no README region");
        var region = program[(begin + "// README:begin\n".Length)..end];

        Assert.Equal(region, match.Groups["code"].Value);
    }
}
