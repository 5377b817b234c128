// SslStream with room for what its certificate-validation callback learns (the callback is shared by every
// connection, so per-connection results live on the stream it is handed): why verification failed, and the peer's
// verified SPIFFE identity.
using System.Net.Security;
using FastPath.Security;

namespace FastPath.Tls;

internal sealed class TlsStream(Stream inner) : SslStream(inner, leaveInnerStreamOpen: true)
{
    public TlsFailure Failure;
    public PeerIdentity? Peer;
    /// <summary>Set by the callback when the peer presented a certificate that verified.</summary>
    public bool PeerVerified;
    /// <summary>What the peer must present; set before the handshake.</summary>
    public PeerVerifier? Verifier;
}
