// TLS settings (issue 4): the workload's mesh identity, Istio PeerAuthentication, termination on listeners and
// filter chains (Istio Gateway SIMPLE/MUTUAL, Envoy's per-chain transport socket), origination to clusters (Istio
// DestinationRule tls modes). File paths are relative to the config file's directory.
namespace FastPath.Config;

/// <summary>This workload's identity in the mesh: a SPIFFE certificate and the roots peers are verified against.</summary>
public sealed record MeshConfig
{
    public string TrustDomain { get; init; } = "cluster.local";
    public CertificateFileConfig? Certificate { get; init; }
    public string? TrustBundle { get; init; }
}

public sealed record CertificateFileConfig
{
    public string CertFile { get; init; } = "";
    public string KeyFile { get; init; } = "";
    /// <summary>SNI names this certificate serves (exact or "*.suffix"); none: the default certificate.</summary>
    public IReadOnlyList<string> ServerNames { get; init; } = [];
}

public enum PeerAuthenticationMode
{
    /// <summary>Not set: inherits (a port from the workload, the workload PERMISSIVE with a mesh, else DISABLE).</summary>
    Unset,
    Disable,
    Permissive,
    Strict,
}

/// <summary>Istio's PeerAuthentication for this workload: applies to listeners without their own tls or filter chains.</summary>
public sealed record PeerAuthenticationConfig
{
    public PeerAuthenticationMode Mode { get; init; }
    public IReadOnlyDictionary<int, PeerAuthenticationMode> PortLevelMtls { get; init; } = new Dictionary<int, PeerAuthenticationMode>();

    /// <summary>The mode on a port: its port-level setting, else the workload's, else PERMISSIVE with a mesh.</summary>
    public PeerAuthenticationMode ModeFor(int port, bool hasMesh)
    {
        PeerAuthenticationMode m = PortLevelMtls.TryGetValue(port, out PeerAuthenticationMode p) && p != PeerAuthenticationMode.Unset ? p : Mode;
        return m != PeerAuthenticationMode.Unset ? m : hasMesh ? PeerAuthenticationMode.Permissive : PeerAuthenticationMode.Disable;
    }
}

public enum ClientCertificateMode
{
    None,
    Optional,
    Required,
}

/// <summary>TLS termination on a listener (for its own virtual hosts) or on one filter chain.</summary>
public sealed record TlsServerConfig
{
    /// <summary>Chosen by SNI; empty: the mesh certificate.</summary>
    public IReadOnlyList<CertificateFileConfig> Certificates { get; init; } = [];
    /// <summary>Offered to clients in preference order; h2 makes the connection HTTP/2 (the downstream HTTP/2 codec).</summary>
    public IReadOnlyList<string> Alpn { get; init; } = ["h2", "http/1.1"];
    /// <summary>"TLSv1_2" or "TLSv1_3".</summary>
    public string MinVersion { get; init; } = "TLSv1_2";
    public ClientCertificateMode ClientCertificate { get; init; }
    /// <summary>Roots for client certificates; null with client_certificate set: the mesh trust bundle.</summary>
    public string? TrustBundle { get; init; }
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

public enum UpstreamTlsMode
{
    Disable,
    Simple,
    Mutual,
    IstioMutual,
}

/// <summary>TLS origination to a cluster's endpoints (Istio DestinationRule trafficPolicy.tls).</summary>
public sealed record UpstreamTlsConfig
{
    public UpstreamTlsMode Mode { get; init; } = UpstreamTlsMode.Simple;
    /// <summary>SNI sent; null: the endpoint's host name (none for an IP address).</summary>
    public string? Sni { get; init; }
    /// <summary>Roots the origin's certificate must chain to; null: the system store (SIMPLE, MUTUAL) or the mesh's.</summary>
    public string? TrustBundle { get; init; }
    /// <summary>Protocols offered, preferred first; null: the cluster's protocol (http/1.1 for http1, h2 for http2).</summary>
    public IReadOnlyList<string>? Alpn { get; init; }
    public string? CertFile { get; init; }
    public string? KeyFile { get; init; }
    /// <summary>The origin's certificate must name one of these (DNS names or URIs such as SPIFFE IDs).</summary>
    public IReadOnlyList<string> SubjectAltNames { get; init; } = [];
    public string MinVersion { get; init; } = "TLSv1_2";

    /// <summary>What tells two settings apart (records compare lists by reference): pools are rebuilt when it changes.</summary>
    public string Fingerprint => string.Join('|', Mode, Sni, TrustBundle, string.Join(',', Alpn ?? []), CertFile, KeyFile,
        string.Join(',', SubjectAltNames), MinVersion);
}
