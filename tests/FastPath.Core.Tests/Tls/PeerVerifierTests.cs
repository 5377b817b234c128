// PeerVerifier: chain against the trust bundle, then SPIFFE trust domain and SAN list; each failure has its reason
// and a success leaves the peer's identity on the stream.
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using FastPath.Tls;

namespace FastPath.Core.Tests.Tls;

public sealed class PeerVerifierTests : IDisposable
{
    private readonly TestCertificates _pki = new();
    private readonly TestCertificates _rogue = new("Rogue CA");

    private PeerVerifier Verifier(string? trustDomain = "cluster.local", string[]? sans = null, bool required = true)
    {
        var bundle = new ReloadableTrustBundle("test");
        bundle.Update([_pki.Ca]);
        return new PeerVerifier(bundle, required, trustDomain, sans ?? [], checkHostName: false);
    }

    private static (bool Ok, TlsStream Stream) Run(PeerVerifier verifier, X509Certificate2? cert)
    {
        var stream = new TlsStream(new MemoryStream());
        return (verifier.Verify(stream, cert, null, SslPolicyErrors.None), stream);
    }

    [Fact]
    public void Verify_TrustedSpiffeCertificate_PeerIdentitySet()
    {
        (bool ok, TlsStream s) = Run(Verifier(), _pki.Leaf("spiffe://cluster.local/ns/shop/sa/sleep"));
        Assert.True(ok);
        Assert.Equal(TlsFailure.None, s.Failure);
        Assert.Equal("cluster.local/ns/shop/sa/sleep", s.Peer!.Principal);
    }

    [Fact]
    public void Verify_NoCertificate_RequiredFailsNoClientCert_OptionalPasses()
    {
        (bool ok, TlsStream s) = Run(Verifier(), null);
        Assert.False(ok);
        Assert.Equal(TlsFailure.NoClientCert, s.Failure);
        Assert.True(Run(Verifier(required: false), null).Ok);
    }

    [Fact]
    public void Verify_OtherCa_UnknownCa()
    {
        (bool ok, TlsStream s) = Run(Verifier(), _rogue.Leaf("spiffe://cluster.local/ns/shop/sa/sleep"));
        Assert.False(ok);
        Assert.Equal(TlsFailure.UnknownCa, s.Failure);
    }

    [Fact]
    public void Verify_Expired_Expired()
    {
        (bool ok, TlsStream s) = Run(Verifier(), _pki.Leaf("spiffe://cluster.local/ns/shop/sa/sleep", expiresInDays: -1, validFromDays: -5));
        Assert.False(ok);
        Assert.Equal(TlsFailure.Expired, s.Failure);
    }

    [Theory]
    [InlineData("spiffe://other.example/ns/shop/sa/sleep")]
    [InlineData(null)]
    public void Verify_ForeignTrustDomainOrNoSpiffeId_WrongSan(string? uri)
    {
        (bool ok, TlsStream s) = Run(Verifier(), _pki.Leaf(uri, dns: "sleep.shop"));
        Assert.False(ok);
        Assert.Equal(TlsFailure.WrongSan, s.Failure);
        Assert.Null(s.Peer);
    }

    [Fact]
    public void Verify_SubjectAltNames_UriOrDnsMustMatchOne()
    {
        X509Certificate2 cert = _pki.Leaf("spiffe://cluster.local/ns/default/sa/backend", dns: "backend.internal");
        Assert.True(Run(Verifier(sans: ["spiffe://cluster.local/ns/default/sa/backend"]), cert).Ok);
        Assert.True(Run(Verifier(trustDomain: null, sans: ["BACKEND.internal"]), cert).Ok);
        (bool ok, TlsStream s) = Run(Verifier(sans: ["spiffe://cluster.local/ns/default/sa/payments"]), cert);
        Assert.False(ok);
        Assert.Equal(TlsFailure.WrongSan, s.Failure);
    }

    [Fact]
    public void UriNames_ReadsEveryUriSan()
    {
        X509Certificate2 cert = _pki.Leaf("spiffe://cluster.local/ns/a/sa/b", dns: "x.example");
        Assert.Equal(["spiffe://cluster.local/ns/a/sa/b"], PeerVerifier.UriNames(cert));
        Assert.Empty(PeerVerifier.UriNames(_pki.Leaf(dns: "only.dns")));
    }

    public void Dispose()
    {
        _pki.Dispose();
        _rogue.Dispose();
    }
}
