// In-memory certificates for TLS unit tests: a CA and leaves it signs, with SPIFFE URIs and DNS names, optionally
// written as PEM files for the certificate store.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastPath.Core.Tests.Tls;

internal sealed class TestCertificates : IDisposable
{
    private readonly ECDsa _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestCertificates(string name = "Unit CA")
    {
        var request = new CertificateRequest($"CN={name}", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        Ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(30));
        Directory = Path.Combine(Path.GetTempPath(), "fastpath-unit-tls-" + Path.GetRandomFileName());
        System.IO.Directory.CreateDirectory(Directory);
    }

    public X509Certificate2 Ca { get; }
    public string Directory { get; }

    /// <summary>A leaf with its private key attached.</summary>
    public X509Certificate2 Leaf(string? uri = null, string? dns = null, int expiresInDays = 7, int validFromDays = -1)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=leaf", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        if (uri is not null) san.AddUri(new Uri(uri));
        if (dns is not null) san.AddDnsName(dns);
        if (uri is not null || dns is not null) request.CertificateExtensions.Add(san.Build());
        using X509Certificate2 cert = request.Create(Ca, DateTimeOffset.UtcNow.AddDays(validFromDays), DateTimeOffset.UtcNow.AddDays(expiresInDays),
            RandomNumberGenerator.GetBytes(8));
        return cert.CopyWithPrivateKey(key);
    }

    /// <summary>Writes a leaf as cert and key PEM files; returns their paths.</summary>
    public (string Cert, string Key) WritePem(string name, X509Certificate2 leaf)
    {
        string cert = Path.Combine(Directory, name + ".pem"), key = Path.Combine(Directory, name + ".key");
        File.WriteAllText(cert, leaf.ExportCertificatePem());
        File.WriteAllText(key, leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }

    public string WriteCa()
    {
        string path = Path.Combine(Directory, "ca.pem");
        File.WriteAllText(path, Ca.ExportCertificatePem());
        return path;
    }

    public void Dispose()
    {
        _caKey.Dispose();
        Ca.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
