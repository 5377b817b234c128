// RouteTable.MatchHost (Envoy's order: exact, longest "*.suffix", longest "prefix*", then "*"; port-qualified
// domains first, then the host without its port). Route matching within a host: RouteIndexTests.
using System.Text;
using FastPath.Routing;

namespace FastPath.Core.Tests.Routing;

public class RouteTableTests
{
    private static readonly VirtualHost Exact = Host("exact");
    private static readonly VirtualHost ShortSuffix = Host("short-suffix");
    private static readonly VirtualHost LongSuffix = Host("long-suffix");
    private static readonly VirtualHost ShortPrefix = Host("short-prefix");
    private static readonly VirtualHost LongPrefix = Host("long-prefix");
    private static readonly VirtualHost Any = Host("any");
    private static readonly VirtualHost WithPort = Host("with-port");

    private static readonly RouteTable Table = new(
    [
        ("*", Any),
        ("api*", ShortPrefix),
        ("*.example.com", ShortSuffix),
        ("www.example.com", Exact),
        ("api-v2*", LongPrefix),
        ("*.eu.example.com", LongSuffix),
        ("www.example.com:8443", WithPort),
    ]);

    [Theory]
    [InlineData("www.example.com", "exact")]
    [InlineData("shop.example.com", "short-suffix")]
    [InlineData("a.b.example.com", "short-suffix")]
    [InlineData("shop.eu.example.com", "long-suffix")]
    [InlineData("api.internal", "short-prefix")]
    [InlineData("api-v2.internal", "long-prefix")]
    [InlineData("api.example.com", "short-suffix")] // suffix beats prefix
    [InlineData("example.com", "any")]              // "*.example.com" needs a label before the dot
    [InlineData("other.org", "any")]
    [InlineData("", "any")]
    public void MatchHost_Tiers_ExactThenSuffixThenPrefixThenAny(string authority, string expected)
    {
        Assert.Equal(expected, Table.MatchHost(Encoding.ASCII.GetBytes(authority))?.Name);
    }

    [Theory]
    [InlineData("WWW.Example.COM", "exact")]
    [InlineData("Shop.EU.example.com", "long-suffix")]
    [InlineData("API-V2.internal", "long-prefix")]
    public void MatchHost_MixedCase_CaseInsensitive(string authority, string expected)
    {
        Assert.Equal(expected, Table.MatchHost(Encoding.ASCII.GetBytes(authority))?.Name);
    }

    [Theory]
    [InlineData("www.example.com:8443", "with-port")]    // port-qualified domain
    [InlineData("WWW.EXAMPLE.COM:8443", "with-port")]
    [InlineData("www.example.com:80", "exact")]          // falls back to the host without its port
    [InlineData("shop.example.com:8080", "short-suffix")]
    [InlineData("other.org:8080", "any")]
    public void MatchHost_WithPort_PortQualifiedFirstThenHostOnly(string authority, string expected)
    {
        Assert.Equal(expected, Table.MatchHost(Encoding.ASCII.GetBytes(authority))?.Name);
    }

    [Fact]
    public void MatchHost_IPv6Literal_PortStrippedOnlyOutsideBrackets()
    {
        var v6 = Host("v6");
        var table = new RouteTable([("[::1]", v6)]);

        Assert.Same(v6, table.MatchHost("[::1]"u8));
        Assert.Same(v6, table.MatchHost("[::1]:8080"u8));
    }

    [Fact]
    public void MatchHost_NoAnyAndNoMatch_Null()
    {
        var table = new RouteTable([("a.example", Exact)]);

        Assert.Null(table.MatchHost("b.example"u8));
        Assert.Null(table.MatchHost("b.example:80"u8));
    }

    [Fact]
    public void MatchHost_OverlongAuthority_AnyWithoutLookup()
    {
        byte[] authority = Encoding.ASCII.GetBytes(new string('a', 300) + ".example.com");

        Assert.Same(Any, Table.MatchHost(authority));
    }

    [Fact]
    public void MatchHost_DuplicateDomain_FirstVirtualHostWins()
    {
        var first = Host("first");
        var table = new RouteTable([("a.example", first), ("A.EXAMPLE", Host("second")), ("*", Any), ("*", Host("second-any"))]);

        Assert.Same(first, table.MatchHost("a.example"u8));
        Assert.Same(Any, table.MatchHost("z.example"u8));
    }

    // The port is stripped as a fallback only, so every tier is tried with the port first: "exam*" (a prefix)
    // then matches "example.com:8080" before the exact domain "example.com" is tried without the port. A request
    // to example.com must not change virtual host because the client wrote the port.
    [Theory]
    [InlineData("example.com:8080", "exact")]
    [InlineData("shop.example.com:8080", "suffix")]
    public void MatchHost_PortAndPrefixPattern_TierOrderStillHolds(string authority, string expected)
    {
        var table = new RouteTable([("example.com", Host("exact")), ("*.example.com", Host("suffix")), ("exam*", Host("prefix")), ("shop*", Host("prefix"))]);

        Assert.Equal(expected, table.MatchHost(Encoding.ASCII.GetBytes(authority))?.Name);
    }

    private static VirtualHost Host(string name) => new(name, []);
}
