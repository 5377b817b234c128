// A workload's identity as the mesh sees it: the SPIFFE ID in the URI SAN of a verified peer certificate,
// spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>. Istio writes principals without the scheme
// ("cluster.local/ns/default/sa/sleep"), and AuthorizationPolicy `principals` and `namespaces` match these fields.
// Built once per verified TLS connection (not per request) and shared by its requests.
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace FastPath.Security;

internal sealed class PeerIdentity
{
    private const string Scheme = "spiffe://";

    private PeerIdentity(string spiffeId, string trustDomain, string principal, string? ns, string? serviceAccount)
    {
        SpiffeId = spiffeId;
        TrustDomain = trustDomain;
        Principal = principal;
        PrincipalUtf8 = Encoding.UTF8.GetBytes(principal);
        Namespace = ns;
        ServiceAccount = serviceAccount;
    }

    /// <summary>The whole URI: spiffe://cluster.local/ns/default/sa/sleep.</summary>
    public string SpiffeId { get; }
    public string TrustDomain { get; }
    /// <summary>Istio's principal: the SPIFFE ID without its scheme (cluster.local/ns/default/sa/sleep).</summary>
    public string Principal { get; }
    public byte[] PrincipalUtf8 { get; }
    /// <summary>From an Istio-shaped path (/ns/X/sa/Y); null for other SPIFFE paths.</summary>
    public string? Namespace { get; }
    public string? ServiceAccount { get; }

    /// <summary>
    /// Parses a SPIFFE ID (SPIFFE spec: scheme and trust domain lower-case, trust domain [a-z0-9.-_], a path of
    /// non-empty segments without "." or "..", no query, fragment, port or user info).
    /// </summary>
    public static bool TryParse(string uri, [NotNullWhen(true)] out PeerIdentity? identity)
    {
        identity = null;
        if (uri.Length > 2048 || !uri.StartsWith(Scheme, StringComparison.Ordinal)) return false;
        ReadOnlySpan<char> rest = uri.AsSpan(Scheme.Length);
        int slash = rest.IndexOf('/');
        ReadOnlySpan<char> domain = slash < 0 ? rest : rest[..slash];
        if (domain.IsEmpty) return false;
        foreach (char c in domain)
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_')) return false;
        ReadOnlySpan<char> path = slash < 0 ? default : rest[slash..];
        if (path.Length == 1) return false; // trailing slash
        foreach (char c in path)
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '-' or '_' or '/')) return false;
        // Segments: non-empty, not "." or "..".
        ReadOnlySpan<char> segments = path.IsEmpty ? default : path[1..];
        string? ns = null, sa = null;
        string[] parts = segments.IsEmpty ? [] : segments.ToString().Split('/');
        foreach (string part in parts)
        {
            if (part.Length == 0 || part == "." || part == "..") return false;
        }
        if (parts.Length == 4 && parts[0] == "ns" && parts[2] == "sa")
        {
            ns = parts[1];
            sa = parts[3];
        }
        identity = new PeerIdentity(uri, domain.ToString(), uri[Scheme.Length..], ns, sa);
        return true;
    }

    public override string ToString() => SpiffeId;
}
