// The configurations users copy from the front door must load: README's complete example and examples/gateway.yaml
// (which `fastpath-gateway` runs with no arguments) are parsed and validated like any gateway file.
using System.Text.RegularExpressions;
using FastPath.Config;

namespace FastPath.Core.Tests.Docs;

public partial class DocumentedConfigTests
{
    private static string RepoFile(params string[] parts)
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "FastPath.sln"))) dir = Path.GetDirectoryName(dir)!;
        return Path.Combine([dir, .. parts]);
    }

    [Fact]
    public void Readme_CompleteYamlExamples_LoadAndValidate()
    {
        string readme = File.ReadAllText(RepoFile("README.md"));
        // A block that starts at the top level with admin: is a whole gateway file, not a fragment.
        string[] whole = [.. YamlBlock().Matches(readme).Select(m => m.Groups[1].Value).Where(y => y.StartsWith("admin:", StringComparison.Ordinal))];

        Assert.NotEmpty(whole);
        foreach (string yaml in whole)
        {
            GatewayConfig config = GatewayConfigLoader.Parse(yaml, "README.md");
            Assert.NotEmpty(config.Listeners);
        }
    }

    [Fact]
    public void GatewayExample_LoadsWithIssue3Features()
    {
        GatewayConfig config = GatewayConfigLoader.LoadFile(RepoFile("examples", "gateway.yaml"));

        RouteConfig[] routes = [.. config.Listeners[0].VirtualHosts[1].Routes];
        Assert.Contains(routes, r => r.Retries is not null);
        Assert.Contains(routes, r => r.Redirect is not null);
        Assert.Contains(routes, r => r.DirectResponse is not null);
        Assert.Contains(config.Clusters, c => c.HealthCheck is not null && c.OutlierDetection is not null);
    }

    [GeneratedRegex("```yaml\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
