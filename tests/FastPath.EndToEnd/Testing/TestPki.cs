// A throw-away PKI for TLS tests, made with CertificateRequest: a CA, and leaf certificates it signs with DNS names
// and SPIFFE URI SANs, written as PEM files (certificate, key) into a temp directory for the gateway, curl and
// openssl to read. Expired and foreign-CA certificates are made the same way.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastPath.EndToEnd.Testing;

public sealed class TestPki : IDisposable
{
    private readonly ECDsa _caKey;
    private int _serial;

    public TestPki(string name = "FastPath Test CA")
    {
        Directory = Path.Combine(Path.GetTempPath(), "fastpath-pki-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
        _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(30));
        CaFile = Path.Combine(Directory, $"{Sanitize(name)}-ca.pem");
        File.WriteAllText(CaFile, Ca.ExportCertificatePem() + "\n");
    }

    public string Directory { get; }
    public X509Certificate2 Ca { get; }
    /// <summary>The CA certificate as a PEM trust bundle.</summary>
    public string CaFile { get; }

    /// <summary>A leaf signed by this CA; Cert/Key are PEM files named after <paramref name="fileName"/>.</summary>
    public Issued Issue(string fileName, string[]? dnsNames = null, string[]? uris = null, DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string cn = dnsNames is { Length: > 0 } ? dnsNames[0] : fileName;
        var request = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (string d in dnsNames ?? []) san.AddDnsName(d);
        foreach (string u in uris ?? []) san.AddUri(new Uri(u));
        if (dnsNames is { Length: > 0 } || uris is { Length: > 0 }) request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // serverAuth, clientAuth
        byte[] serial = BitConverter.GetBytes(Interlocked.Increment(ref _serial) + Environment.TickCount64);
        DateTimeOffset from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        DateTimeOffset to = notAfter ?? DateTimeOffset.UtcNow.AddDays(7);
        using X509Certificate2 cert = request.Create(Ca, from, to, serial);
        string certFile = Path.Combine(Directory, $"{fileName}.pem");
        string keyFile = Path.Combine(Directory, $"{fileName}.key");
        File.WriteAllText(certFile, cert.ExportCertificatePem() + "\n");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        return new Issued(certFile, keyFile, cert.Thumbprint);
    }

    /// <summary>A SPIFFE workload certificate: spiffe://trustDomain/ns/NS/sa/SA, plus optional DNS names.</summary>
    public Issued IssueWorkload(string fileName, string ns, string sa, string trustDomain = "cluster.local", params string[] dnsNames) =>
        Issue(fileName, dnsNames, [$"spiffe://{trustDomain}/ns/{ns}/sa/{sa}"]);

    private static string Sanitize(string s) => string.Concat(s.Where(char.IsLetterOrDigit));

    public void Dispose()
    {
        _caKey.Dispose();
        Ca.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>PEM files of an issued certificate and its SHA-1 thumbprint (what a client compares).</summary>
public sealed record Issued(string CertFile, string KeyFile, string Thumbprint);
