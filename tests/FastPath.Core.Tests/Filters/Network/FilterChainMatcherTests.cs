// FilterChainMatcher: Envoy's selection order (destination port, server name, transport, ALPN, source range), the
// most specific candidate winning at each level, no backtracking, and duplicate matches found at build time.
using System.Net;
using System.Text;
using FastPath.Config;
using FastPath.Filters.Network;

namespace FastPath.Core.Tests.Filters.Network;

public sealed class FilterChainMatcherTests
{
    private static FilterChainMatcher Build(params FilterChainMatchConfig[] matches)
    {
        FilterChainMatcher m = FilterChainMatcher.Build(matches, out List<(int, int)> conflicts);
        Assert.Empty(conflicts);
        return m;
    }

    private static int Select(FilterChainMatcher m, string? sni = null, string[]? alpn = null, string source = "192.0.2.1",
        int port = 443, bool? tls = null)
    {
        var wire = new List<byte>();
        foreach (string a in alpn ?? [])
        {
            wire.Add((byte)a.Length);
            wire.AddRange(Encoding.ASCII.GetBytes(a));
        }
        byte[] name = Encoding.ASCII.GetBytes(sni ?? "");
        byte[] protocols = [.. wire];
        return m.Select(new FilterChainQuery
        {
            DestinationPort = port,
            ServerName = name,
            IsTls = tls ?? (sni is not null || alpn is not null),
            ApplicationProtocols = protocols,
            Source = IPAddress.Parse(source),
        });
    }

    [Fact]
    public void Select_ExactBeforeWildcardBeforeAny()
    {
        FilterChainMatcher m = Build(
            new() { ServerNames = ["*.example.com"] },
            new() { ServerNames = ["a.example.com"] },
            new() { });

        Assert.Equal(1, Select(m, "a.example.com"));
        Assert.Equal(0, Select(m, "b.example.com"));
        Assert.Equal(0, Select(m, "x.y.example.com"));
        Assert.Equal(2, Select(m, "example.com"));    // "*.example.com" needs a label before the suffix
        Assert.Equal(2, Select(m, "other.org"));
        Assert.Equal(2, Select(m));                    // no SNI at all
    }

    [Fact]
    public void Select_LongestWildcardSuffixWins()
    {
        FilterChainMatcher m = Build(
            new() { ServerNames = ["*.example.com"] },
            new() { ServerNames = ["*.api.example.com"] });

        Assert.Equal(1, Select(m, "v1.api.example.com"));
        Assert.Equal(0, Select(m, "www.example.com"));
        Assert.Equal(-1, Select(m, "example.org"));  // no chain without server names: no match
    }

    [Fact]
    public void Select_ServerNameCaseInConfig_Ignored()
    {
        FilterChainMatcher m = Build(new FilterChainMatchConfig { ServerNames = ["A.Example.COM"] });

        Assert.Equal(0, Select(m, "a.example.com")); // the inspector lower-cases the SNI
    }

    [Fact]
    public void Select_Alpn_ClientOrderDecides_ElseChainWithoutAlpn()
    {
        FilterChainMatcher m = Build(
            new() { ApplicationProtocols = ["h2"] },
            new() { ApplicationProtocols = ["http/1.1"] },
            new() { });

        Assert.Equal(0, Select(m, alpn: ["h2", "http/1.1"]));
        Assert.Equal(1, Select(m, alpn: ["http/1.1", "h2"]));
        Assert.Equal(2, Select(m, alpn: ["acme-tls/1"]));
        Assert.Equal(2, Select(m));
    }

    [Fact]
    public void Select_TransportProtocol_TlsOrRaw()
    {
        FilterChainMatcher m = Build(
            new() { TransportProtocol = "tls" },
            new() { TransportProtocol = "raw_buffer" });

        Assert.Equal(0, Select(m, tls: true));
        Assert.Equal(1, Select(m, tls: false));
    }

    [Fact]
    public void Select_SourcePrefix_LongestWins_ElseAny()
    {
        FilterChainMatcher m = Build(
            new() { SourcePrefixRanges = ["10.0.0.0/8"] },
            new() { SourcePrefixRanges = ["10.1.0.0/16", "2001:db8::/32"] },
            new() { });

        Assert.Equal(1, Select(m, source: "10.1.2.3"));
        Assert.Equal(0, Select(m, source: "10.2.0.1"));
        Assert.Equal(1, Select(m, source: "2001:db8::7"));
        Assert.Equal(1, Select(m, source: "::ffff:10.1.0.9")); // v4-mapped client on a dual-stack socket
        Assert.Equal(2, Select(m, source: "192.0.2.1"));
    }

    [Fact]
    public void Select_RangeWithHostBits_MatchesWholePrefix()
    {
        FilterChainMatcher m = Build(new FilterChainMatchConfig { SourcePrefixRanges = ["10.0.0.1/8"] });

        Assert.Equal(0, Select(m, source: "10.2.3.4"));
        Assert.Equal(-1, Select(m, source: "11.0.0.1"));
    }

    [Fact]
    public void Select_DestinationPort_SpecificBeforeAny()
    {
        FilterChainMatcher m = Build(
            new() { DestinationPort = 8443 },
            new() { });

        Assert.Equal(0, Select(m, port: 8443));
        Assert.Equal(1, Select(m, port: 443));
    }

    [Fact]
    public void Select_MostSpecificLevelWins_NoBacktracking()
    {
        // Envoy filters level by level: server name first. a.example.com picks the chain naming it, which then
        // wants h2; a client offering only http/1.1 is not handed to the catch-all chain (Envoy does the same).
        FilterChainMatcher m = Build(
            new() { ServerNames = ["a.example.com"], ApplicationProtocols = ["h2"] },
            new() { ApplicationProtocols = ["http/1.1"] });

        Assert.Equal(0, Select(m, "a.example.com", ["h2"]));
        Assert.Equal(-1, Select(m, "a.example.com", ["http/1.1"]));
        Assert.Equal(1, Select(m, "b.example.com", ["http/1.1"]));
    }

    [Fact]
    public void Select_ServerNameBeatsSourceRange()
    {
        FilterChainMatcher m = Build(
            new() { SourcePrefixRanges = ["127.0.0.0/8"] },
            new() { ServerNames = ["a.example.com"] });

        Assert.Equal(1, Select(m, "a.example.com", source: "127.0.0.1"));
        Assert.Equal(0, Select(m, "b.example.com", source: "127.0.0.1"));
    }

    [Fact]
    public void Build_SameCriteriaTwice_ReportsConflict()
    {
        FilterChainMatcher.Build(
            [
                new() { ServerNames = ["a.example.com", "b.example.com"] },
                new() { ServerNames = ["b.example.com"] },
                new() { ServerNames = ["c.example.com"] },
                new() { },
                new() { },
            ], out List<(int Chain, int Other)> conflicts);

        Assert.Equal([(1, 0), (4, 3)], conflicts);
    }

    [Theory]
    [InlineData("10.0.0.0/8", true)]
    [InlineData("2001:db8::/32", true)]
    [InlineData("192.0.2.7", true)]
    [InlineData("10.0.0.1/8", true)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("ten/8", false)]
    [InlineData("", false)]
    public void TryParseRange_Forms(string range, bool valid)
    {
        Assert.Equal(valid, FilterChainMatcher.TryParseRange(range, out _));
    }
}
