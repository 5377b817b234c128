// CertificateStore: atomic updates from any source, PEM files followed on disk, a half-written pair ignored until
// it matches again, and the SNI choice of a termination context (exact, longest wildcard, default).
using System.Security.Cryptography.X509Certificates;
using FastPath.Tls;

namespace FastPath.Core.Tests.Tls;

public sealed class CertificateStoreTests : IDisposable
{
    private readonly TestCertificates _pki = new();

    [Fact]
    public void Update_SwapsTheMaterialEveryReaderSees()
    {
        var store = new CertificateStore();
        ReloadableCertificate entry = store.Certificate(CertificateStore.MeshKey);
        Assert.Null(entry.Current);
        using X509Certificate2 leaf = _pki.Leaf("spiffe://cluster.local/ns/a/sa/b");
        var material = new CertificateMaterial(leaf, []);

        store.Update(CertificateStore.MeshKey, material); // what a push from the control service does

        Assert.Same(material, store.Certificate(CertificateStore.MeshKey).Current);
        Assert.Same(entry, store.Certificate(CertificateStore.MeshKey));
    }

    [Fact]
    public void WatchCertificateFiles_ChangedOnDisk_PollReloads_MismatchedPairKeepsTheOld()
    {
        var store = new CertificateStore();
        X509Certificate2 first = _pki.Leaf(dns: "a.example"), second = _pki.Leaf(dns: "b.example");
        (string cert, string key) = _pki.WritePem("live", first);
        ReloadableCertificate entry = store.WatchCertificateFiles(cert, key);
        Assert.Equal(first.Thumbprint, entry.Current!.Leaf.Thumbprint);

        // The certificate written, its key not yet: the pair does not match, the first certificate stays.
        File.WriteAllText(cert, second.ExportCertificatePem());
        store.Poll(long.MaxValue / 2);
        Assert.Equal(first.Thumbprint, entry.Current!.Leaf.Thumbprint);

        File.WriteAllText(key, second.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        store.Poll(long.MaxValue);
        Assert.Equal(second.Thumbprint, entry.Current!.Leaf.Thumbprint);
    }

    [Fact]
    public void WatchCertificateFiles_Missing_Throws()
    {
        var store = new CertificateStore();
        Assert.ThrowsAny<IOException>(() => store.WatchCertificateFiles(Path.Combine(_pki.Directory, "no.pem"), Path.Combine(_pki.Directory, "no.key")));
    }

    [Theory]
    [InlineData("shop.example.com", 0)]
    [InlineData("SHOP.Example.COM", 0)]
    [InlineData("v2.shop.example.com", 0)]
    [InlineData("a.b.shop.example.com", 0)]      // wildcards match any depth under their suffix
    [InlineData("eu.api.shop.example.com", 1)]   // the longest suffix wins
    [InlineData("api.example.com", 2)]
    [InlineData("x.api.example.com", 3)]         // exact names are not wildcards
    [InlineData("shop.example.com.evil", 3)]
    [InlineData("", 3)]
    [InlineData(null, 3)]
    public void Select_ExactThenLongestWildcardThenDefault(string? serverName, int expected)
    {
        var context = new DownstreamTlsContext(
        [
            (new ReloadableCertificate("shop"), ["shop.example.com", "*.shop.example.com"]),
            (new ReloadableCertificate("deep"), ["*.api.shop.example.com"]),
            (new ReloadableCertificate("api"), ["api.example.com"]),
            (new ReloadableCertificate("default"), []),
        ], ["http/1.1"], "TLSv1_2", null, TimeSpan.FromSeconds(10), allowPlaintext: false);

        Assert.Equal(expected, context.Select(serverName));
    }

    [Fact]
    public void Select_NoDefaultListed_FirstCertificate()
    {
        var context = new DownstreamTlsContext([(new ReloadableCertificate("a"), ["a.example"]), (new ReloadableCertificate("b"), ["b.example"])],
            [], "TLSv1_3", null, TimeSpan.FromSeconds(10), allowPlaintext: false);
        Assert.Equal(0, context.Select("c.example"));
        Assert.Equal(1, context.Select("b.example"));
    }

    public void Dispose() => _pki.Dispose();
}
