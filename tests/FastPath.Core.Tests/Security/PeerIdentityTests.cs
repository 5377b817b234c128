// PeerIdentity.TryParse: SPIFFE IDs as the SPIFFE spec and Istio's principals define them.
using FastPath.Security;

namespace FastPath.Core.Tests.Security;

public class PeerIdentityTests
{
    [Fact]
    public void TryParse_IstioShapedId_NamespaceServiceAccountAndPrincipal()
    {
        Assert.True(PeerIdentity.TryParse("spiffe://cluster.local/ns/shop/sa/sleep", out PeerIdentity? id));
        Assert.Equal("cluster.local", id.TrustDomain);
        Assert.Equal("shop", id.Namespace);
        Assert.Equal("sleep", id.ServiceAccount);
        Assert.Equal("cluster.local/ns/shop/sa/sleep", id.Principal);
        Assert.Equal("cluster.local/ns/shop/sa/sleep"u8.ToArray(), id.PrincipalUtf8);
        Assert.Equal("spiffe://cluster.local/ns/shop/sa/sleep", id.SpiffeId);
    }

    [Theory]
    [InlineData("spiffe://example.org")]
    [InlineData("spiffe://example.org/workload-1")]
    [InlineData("spiffe://my_domain-1.example.org/a/b/c/D.e")]
    public void TryParse_OtherValidIds_ParsedWithoutIstioFields(string uri)
    {
        Assert.True(PeerIdentity.TryParse(uri, out PeerIdentity? id));
        Assert.Null(id.Namespace);
        Assert.Null(id.ServiceAccount);
    }

    [Theory]
    [InlineData("http://cluster.local/ns/a/sa/b")]          // not the spiffe scheme
    [InlineData("SPIFFE://cluster.local/ns/a/sa/b")]        // the scheme is lower-case
    [InlineData("spiffe:/cluster.local/ns/a/sa/b")]
    [InlineData("spiffe://Cluster.Local/ns/a/sa/b")]        // upper-case trust domain
    [InlineData("spiffe://")]                               // no trust domain
    [InlineData("spiffe:///ns/a/sa/b")]
    [InlineData("spiffe://cluster.local/ns//sa/b")]         // empty segment
    [InlineData("spiffe://cluster.local/")]                 // trailing slash
    [InlineData("spiffe://cluster.local/ns/a/sa/b/")]
    [InlineData("spiffe://cluster.local/ns/../sa/b")]       // dot segments
    [InlineData("spiffe://cluster.local/ns/./sa/b")]
    [InlineData("spiffe://cluster.local:8443/ns/a/sa/b")]   // port
    [InlineData("spiffe://user@cluster.local/ns/a/sa/b")]   // user info
    [InlineData("spiffe://cluster.local/ns/a/sa/b?x=1")]    // query
    [InlineData("spiffe://cluster.local/ns/a/sa/b#f")]      // fragment
    [InlineData("spiffe://cluster.local/ns/a%2F/sa/b")]     // percent-encoding
    public void TryParse_Invalid_False(string uri)
    {
        Assert.False(PeerIdentity.TryParse(uri, out PeerIdentity? id));
        Assert.Null(id);
    }

    [Fact]
    public void TryParse_TooLong_False()
    {
        Assert.False(PeerIdentity.TryParse("spiffe://cluster.local/" + new string('a', 2100), out _));
    }
}
