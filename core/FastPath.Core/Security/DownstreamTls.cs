// What the TLS handshake of one downstream connection established, for the filters, authorization and the access
// log of every request on it. Null on a plaintext connection. Built once per connection.
using System.Security.Authentication;

namespace FastPath.Security;

internal sealed class DownstreamTls
{
    /// <summary>The SNI the client sent (null without one).</summary>
    public string? ServerName { get; init; }
    /// <summary>The protocol ALPN settled on ("h2", "http/1.1"); null when the client offered none.</summary>
    public string? ApplicationProtocol { get; init; }
    public SslProtocols Protocol { get; init; }
    /// <summary>The verified client certificate's SPIFFE identity (mTLS); null when the client sent no certificate
    /// or its certificate carries no SPIFFE URI SAN.</summary>
    public PeerIdentity? Peer { get; init; }
}
