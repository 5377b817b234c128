// Semantic checks for TLS: certificate and key files that load and match, trust bundles, SNI names, ALPN and version
// values, and the mesh identity wherever something relies on it (PeerAuthentication, a chain without certificates,
// ISTIO_MUTUAL clusters). Files are read here so a bad path or key is refused with its field, and the running config
// stays.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastPath.Security;
using FastPath.Tls;

namespace FastPath.Config;

public static partial class GatewayConfigValidator
{
    private static readonly string[] AlpnProtocols = ["h2", "http/1.1"];

    private static void ValidateTls(GatewayConfig config, Action<string, string> error)
    {
        MeshConfig? mesh = config.Mesh;
        if (mesh is not null)
        {
            if (!PeerIdentity.TryParse($"spiffe://{mesh.TrustDomain}", out _))
                error("mesh.trust_domain", $"'{mesh.TrustDomain}' is not a SPIFFE trust domain (lower-case letters, digits, '.', '-', '_')");
            if (mesh.Certificate is null) error("mesh.certificate", "the mesh identity needs a certificate (cert_file, key_file)");
            else if (CheckCertificateFiles(mesh.Certificate, "mesh.certificate", error) is { } leaf)
            {
                bool inDomain = false;
                foreach (string uri in PeerVerifier.UriNames(leaf))
                    if (PeerIdentity.TryParse(uri, out PeerIdentity? id) && id.TrustDomain == mesh.TrustDomain) inDomain = true;
                if (!inDomain) error("mesh.certificate.cert_file", $"the certificate has no spiffe://{mesh.TrustDomain}/... URI SAN");
                leaf.Dispose();
            }
            if (mesh.TrustBundle is null) error("mesh.trust_bundle", "the mesh needs a trust bundle to verify peers");
            else CheckTrustBundle(mesh.TrustBundle, "mesh.trust_bundle", error);
        }

        PeerAuthenticationConfig pa = config.PeerAuthentication;
        for (int i = 0; i < config.Listeners.Count; i++)
        {
            ListenerConfig l = config.Listeners[i];
            string p = $"listeners[{i}]";
            if (l.Tls is { } tls) ValidateTlsServer(tls, $"{p}.tls", mesh, error);
            for (int j = 0; j < l.FilterChains.Count; j++)
                if (l.FilterChains[j].Tls is { } chainTls) ValidateTlsServer(chainTls, $"{p}.filter_chains[{j}].tls", mesh, error);
            if (mesh is null && l.Tls is null && l.FilterChains.Count == 0
                && pa.ModeFor(l.Port, hasMesh: false) is PeerAuthenticationMode.Strict or PeerAuthenticationMode.Permissive)
            {
                string field = pa.PortLevelMtls.ContainsKey(l.Port) ? $"peer_authentication.port_level_mtls.{l.Port}" : "peer_authentication.mode";
                error(field, $"mTLS on listener '{l.Name}' (port {l.Port}) needs the mesh section (mesh.certificate, mesh.trust_bundle)");
            }
        }

        for (int i = 0; i < config.Clusters.Count; i++)
        {
            // Without TLS there is no ALPN to choose with (Envoy's auto then means HTTP/1.1; here it is refused as meaningless).
            if (config.Clusters[i].Protocol == UpstreamProtocol.Auto && config.Clusters[i].Tls is not { Mode: not UpstreamTlsMode.Disable })
                error($"clusters[{i}].protocol", "auto picks h2 or http/1.1 by ALPN and needs tls: add tls, or use http1 or http2 (h2c)");
            if (config.Clusters[i].Tls is not { } t) continue;
            string p = $"clusters[{i}].tls";
            CheckVersion(t.MinVersion, $"{p}.min_version", error);
            if (t.Alpn is { } alpn)
            {
                CheckAlpn(alpn, $"{p}.alpn", error);
                // The pool speaks HTTP/2 from the first byte: an origin allowed to pick http/1.1 would be sent frames it cannot read.
                if (config.Clusters[i].Protocol == UpstreamProtocol.Http2 && (alpn.Count != 1 || alpn[0] != "h2"))
                    error($"{p}.alpn", "protocol http2 offers only h2 over TLS: set [h2] or leave alpn out");
                if (config.Clusters[i].Protocol == UpstreamProtocol.Auto && (alpn.Count != 2 || !alpn.Contains("h2") || !alpn.Contains("http/1.1")))
                    error($"{p}.alpn", "protocol auto offers h2 and http/1.1: list both (preferred first) or leave alpn out");
            }
            if (t.TrustBundle is not null) CheckTrustBundle(t.TrustBundle, $"{p}.trust_bundle", error);
            bool hasCert = t.CertFile is not null || t.KeyFile is not null;
            if (t.Mode == UpstreamTlsMode.Mutual && !hasCert) error($"{p}.cert_file", "MUTUAL needs cert_file and key_file (the client certificate)");
            if (t.Mode is UpstreamTlsMode.Simple or UpstreamTlsMode.Disable && hasCert)
                error($"{p}.cert_file", "a client certificate is sent only in MUTUAL mode");
            if (t.Mode == UpstreamTlsMode.Mutual && hasCert)
                CheckCertificateFiles(new CertificateFileConfig { CertFile = t.CertFile ?? "", KeyFile = t.KeyFile ?? "" }, p, error)?.Dispose();
            if (t.Mode == UpstreamTlsMode.IstioMutual)
            {
                if (mesh is null) error($"{p}.mode", "ISTIO_MUTUAL uses the mesh identity: add the mesh section (mesh.certificate, mesh.trust_bundle)");
                if (hasCert) error($"{p}.cert_file", "ISTIO_MUTUAL presents the mesh certificate: remove cert_file and key_file");
            }
            for (int k = 0; k < t.SubjectAltNames.Count; k++)
                if (string.IsNullOrWhiteSpace(t.SubjectAltNames[k])) error($"{p}.subject_alt_names[{k}]", "empty name");
            if (t.Sni is { } sni && Uri.CheckHostName(sni) != UriHostNameType.Dns) error($"{p}.sni", $"'{sni}' is not a host name");
        }
    }

    private static void ValidateTlsServer(TlsServerConfig tls, string p, MeshConfig? mesh, Action<string, string> error)
    {
        CheckVersion(tls.MinVersion, $"{p}.min_version", error);
        CheckAlpn(tls.Alpn, $"{p}.alpn", error);
        if (tls.HandshakeTimeout <= TimeSpan.Zero) error($"{p}.handshake_timeout", "must be greater than zero");
        if (tls.Certificates.Count == 0 && mesh is null)
            error($"{p}.certificates", "no certificates: list some, or add the mesh section to serve the mesh certificate");
        if (tls.ClientCertificate != ClientCertificateMode.None && tls.TrustBundle is null && mesh is null)
            error($"{p}.trust_bundle", "client certificates are verified against a trust bundle: set one, or add the mesh section");
        if (tls.TrustBundle is not null) CheckTrustBundle(tls.TrustBundle, $"{p}.trust_bundle", error);
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        int defaults = 0;
        for (int k = 0; k < tls.Certificates.Count; k++)
        {
            CertificateFileConfig c = tls.Certificates[k];
            string cp = $"{p}.certificates[{k}]";
            CheckCertificateFiles(c, cp, error)?.Dispose();
            if (c.ServerNames.Count == 0 && ++defaults > 1) error(cp, "only one certificate may be the default (without server_names)");
            for (int n = 0; n < c.ServerNames.Count; n++)
            {
                string name = c.ServerNames[n];
                string np = $"{cp}.server_names[{n}]";
                string host = name.StartsWith("*.", StringComparison.Ordinal) ? name[2..] : name;
                if (Uri.CheckHostName(host) != UriHostNameType.Dns || host.Contains('*')) error(np, $"'{name}' is not a host name or *.suffix");
                else if (!names.Add(name)) error(np, $"'{name}' is served by another certificate of this listener");
            }
        }
    }

    private static void CheckVersion(string version, string p, Action<string, string> error)
    {
        if (version is not ("TLSv1_2" or "TLSv1_3")) error(p, $"expected TLSv1_2 or TLSv1_3, got '{version}'");
    }

    private static void CheckAlpn(IReadOnlyList<string> alpn, string p, Action<string, string> error)
    {
        for (int k = 0; k < alpn.Count; k++)
            if (Array.IndexOf(AlpnProtocols, alpn[k]) < 0) error($"{p}[{k}]", $"unsupported protocol '{alpn[k]}' (h2 or http/1.1)");
    }

    /// <summary>Loads the pair (the caller disposes the certificate); null after reporting why it cannot be used.</summary>
    private static X509Certificate2? CheckCertificateFiles(CertificateFileConfig c, string p, Action<string, string> error)
    {
        if (c.CertFile.Length == 0) error($"{p}.cert_file", "a certificate file is required");
        if (c.KeyFile.Length == 0) error($"{p}.key_file", "a private key file is required");
        if (c.CertFile.Length == 0 || c.KeyFile.Length == 0) return null;
        if (!File.Exists(c.CertFile))
        {
            error($"{p}.cert_file", $"cannot read '{c.CertFile}'");
            return null;
        }
        if (!File.Exists(c.KeyFile))
        {
            error($"{p}.key_file", $"cannot read '{c.KeyFile}'");
            return null;
        }
        try
        {
            X509Certificate2 leaf = X509Certificate2.CreateFromPemFile(c.CertFile, c.KeyFile);
            if (leaf.NotAfter.ToUniversalTime() < DateTime.UtcNow) error($"{p}.cert_file", $"the certificate expired on {leaf.NotAfter.ToUniversalTime():u}");
            return leaf;
        }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            error($"{p}.cert_file", $"cannot load the certificate and key: {e.Message}");
            return null;
        }
    }

    private static void CheckTrustBundle(string file, string p, Action<string, string> error)
    {
        try
        {
            foreach (X509Certificate2 c in CertificateStore.LoadTrustBundle(file)) c.Dispose();
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            error(p, $"cannot load a PEM trust bundle from '{file}': {e.Message}");
        }
    }
}
