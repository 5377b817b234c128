// Turns the TLS parts of a (validated) config into the contexts connections use, through the certificate store so
// that every context naming the same files shares one reloadable entry. Built once per snapshot.
using System.Security.Cryptography;
using FastPath.Config;
using Microsoft.Extensions.Logging;

namespace FastPath.Tls;

internal sealed class TlsContextFactory(GatewayConfig config, CertificateStore store, ILogger? logger = null)
{
    private readonly string _file = config.SourcePath ?? "(config)";

    /// <summary>Termination with a listener's or chain's own tls settings.</summary>
    public DownstreamTlsContext Downstream(TlsServerConfig tls, string path) => Load(path, () =>
    {
        var certificates = new List<(ReloadableCertificate, IReadOnlyList<string>)>();
        foreach (CertificateFileConfig c in tls.Certificates)
            certificates.Add((store.WatchCertificateFiles(c.CertFile, c.KeyFile), c.ServerNames));
        if (certificates.Count == 0) certificates.Add((MeshCertificate(), []));
        PeerVerifier? verifier = null;
        if (tls.ClientCertificate != ClientCertificateMode.None)
        {
            bool mesh = tls.TrustBundle is null;
            verifier = new PeerVerifier(mesh ? MeshTrustBundle() : store.WatchTrustBundleFile(tls.TrustBundle!),
                required: tls.ClientCertificate == ClientCertificateMode.Required, trustDomain: mesh ? config.Mesh!.TrustDomain : null, [], checkHostName: false);
        }
        return new DownstreamTlsContext(certificates, tls.Alpn, tls.MinVersion, verifier, tls.HandshakeTimeout, allowPlaintext: false);
    });

    /// <summary>
    /// Istio PeerAuthentication on a listener without its own tls: STRICT and PERMISSIVE terminate mTLS with the mesh
    /// certificate, require a client certificate from the mesh's trust domain (PERMISSIVE also serves plaintext);
    /// DISABLE is null.
    /// </summary>
    public DownstreamTlsContext? PeerAuthentication(int port, string path)
    {
        PeerAuthenticationMode mode = config.PeerAuthentication.ModeFor(port, config.Mesh is not null);
        if (mode is not (PeerAuthenticationMode.Strict or PeerAuthenticationMode.Permissive) || config.Mesh is null) return null;
        return Load(path, () => new DownstreamTlsContext([(MeshCertificate(), [])], ["http/1.1"], "TLSv1_2",
            new PeerVerifier(MeshTrustBundle(), required: true, config.Mesh.TrustDomain, [], checkHostName: false),
            TimeSpan.FromSeconds(10), allowPlaintext: mode == PeerAuthenticationMode.Permissive));
    }

    /// <summary>Origination for a cluster; null when it speaks plaintext.</summary>
    public UpstreamTlsContext? Upstream(ClusterConfig cluster, string path)
    {
        if (cluster.Tls is not { Mode: not UpstreamTlsMode.Disable } tls) return null;
        return Load(path, () =>
        {
            bool istio = tls.Mode == UpstreamTlsMode.IstioMutual;
            ReloadableTrustBundle? trust = tls.TrustBundle is not null ? store.WatchTrustBundleFile(tls.TrustBundle) : istio ? MeshTrustBundle() : null;
            ReloadableCertificate? client = istio ? MeshCertificate()
                : tls.Mode == UpstreamTlsMode.Mutual ? store.WatchCertificateFiles(tls.CertFile!, tls.KeyFile!) : null;
            var verifier = new PeerVerifier(trust, required: true, istio ? config.Mesh!.TrustDomain : null, tls.SubjectAltNames,
                checkHostName: !istio && tls.SubjectAltNames.Count == 0);
            return new UpstreamTlsContext(tls, cluster.Protocol, client, verifier, logger);
        });
    }

    private ReloadableCertificate MeshCertificate()
    {
        CertificateFileConfig files = config.Mesh!.Certificate!;
        return store.WatchCertificateFiles(files.CertFile, files.KeyFile, CertificateStore.MeshKey);
    }

    private ReloadableTrustBundle MeshTrustBundle() => store.WatchTrustBundleFile(config.Mesh!.TrustBundle!, CertificateStore.MeshKey);

    // The validator loaded these files moments ago; one that changed since is reported like a validation error.
    private T Load<T>(string path, Func<T> build)
    {
        try
        {
            return build();
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ConfigException([new ConfigError(_file, 0, 0, path, $"cannot load certificates: {e.Message}")]);
        }
    }
}
