// What one authorization decision looks at: an HTTP request (null for a TCP connection), the connection's
// addresses, the mTLS peer, the JWT identity and the SNI. Built on the stack per request; nothing is copied out of
// the request head.
using FastPath.Http;

namespace FastPath.Security.Authorization;

internal ref struct AuthorizationContext
{
    /// <summary>The request head; null when a TCP connection is authorized (HTTP-only fields then follow Istio's TCP rules).</summary>
    public HttpRequestHead? Request;
    /// <summary>The TCP peer (source.ip, ipBlocks), 128-bit with IPv4 mapped (see IpNetwork).</summary>
    public UInt128 SourceAddress;
    /// <summary>The local address the connection came in on (destination.ip).</summary>
    public UInt128 DestinationAddress;
    /// <summary>The listener's port (ports, destination.port).</summary>
    public int DestinationPort;
    /// <summary>The verified mTLS peer (principals, namespaces); null on plaintext.</summary>
    public PeerIdentity? Peer;
    /// <summary>The JWT identity (requestPrincipals, request.auth.*); null without an accepted token.</summary>
    public RequestIdentity? Identity;
    /// <summary>The SNI (connection.sni): from TLS termination, or the ClientHello of a passthrough chain.</summary>
    public string? ServerName;
    public ReadOnlySpan<byte> ServerNameUtf8;

    // remote.ip, resolved from x-forwarded-for at most once per decision and only when a condition asks.
    internal int NumTrustedProxies;
    private bool _remoteResolved;
    private UInt128 _remoteAddress;

    public bool IsTcp => Request is null;

    /// <summary>
    /// remote.ip: with N trusted proxies in front (Envoy xff_num_trusted_hops, use_remote_address), the Nth address
    /// from the right of the x-forwarded-for the request arrived with; the TCP peer when N is 0, the header holds
    /// fewer addresses, or the chosen one is not an address.
    /// </summary>
    public UInt128 RemoteAddress
    {
        get
        {
            if (!_remoteResolved)
            {
                _remoteAddress = ResolveRemote(Request, SourceAddress, NumTrustedProxies);
                _remoteResolved = true;
            }
            return _remoteAddress;
        }
    }

    private static UInt128 ResolveRemote(HttpRequestHead? request, UInt128 source, int trusted)
    {
        if (trusted <= 0 || request is null) return source;
        HttpHeaderBlock headers = request.Headers;
        int seen = 0;
        // Several x-forwarded-for fields read as one list in order (RFC 9110 section 5.3), so walk them from the last.
        for (int i = headers.Count - 1; i >= 0; i--)
        {
            ref HeaderEntry e = ref headers[i];
            if (e.Id != KnownHeader.XForwardedFor) continue;
            ReadOnlySpan<byte> list = headers.Value(e);
            while (true)
            {
                int comma = list.LastIndexOf((byte)',');
                ReadOnlySpan<byte> item = (comma < 0 ? list : list[(comma + 1)..]).Trim((byte)' ');
                if (item.Length > 0 && ++seen == trusted)
                    return IpNetwork.TryParseAddress(item, out UInt128 address) ? address : source;
                if (comma < 0) break;
                list = list[..comma];
            }
        }
        return source;
    }
}
