// `h2-config`: the config a hand run (scripts/callgrind-h2.sh) gives FastPath is the one the h2 scenario gives it.
using FastPath.Scenarios.Runner;

namespace FastPath.Scenarios.Tests;

public class H2ConfigTests
{
    [Fact]
    public void PrintConfig_WritesTheScenariosGatewayConfig()
    {
        var output = new StringWriter();
        TextWriter previous = Console.Out;
        Console.SetOut(output);
        try
        {
            Assert.Equal(0, H2Runner.PrintConfig(["--port", "19643", "--admin", "19601", "--origin", "19600", "--cert", "/tmp/c.pem", "--key", "/tmp/k.pem"]));
        }
        finally
        {
            Console.SetOut(previous);
        }
        string expected = H2Runner.GatewayYaml(19643, 19601, 19600, new H2Peers.TlsFiles("/tmp/c.pem", "/tmp/k.pem", ""));
        Assert.Equal(expected + Environment.NewLine, output.ToString());
        Assert.Contains("endpoints: [\"127.0.0.1:19600\"]", expected, StringComparison.Ordinal);
        Assert.Contains("cert_file: /tmp/c.pem", expected, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--admin")]
    [InlineData("--key")]
    public void PrintConfig_WithoutAFlag_IsAUsageError(string missing)
    {
        string[] all = ["--port", "1", "--admin", "2", "--origin", "3", "--cert", "c.pem", "--key", "k.pem"];
        int at = Array.IndexOf(all, missing);
        string[] args = [.. all[..at], .. all[(at + 2)..]];
        UsageException e = Assert.Throws<UsageException>(() => H2Runner.PrintConfig(args));
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }
}
