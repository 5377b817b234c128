// SslStream with room for what its certificate-validation callback learns (the callback is shared by every
// connection, so per-connection results live on the stream it is handed): why verification failed, and the peer's
// verified SPIFFE identity.
using System.Net.Security;
using FastPath.Security;

namespace FastPath.Tls;

internal sealed class TlsStream(Stream inner) : SslStream(inner, leaveInnerStreamOpen: true)
{
    private readonly DuplexPipeStream? _transport = inner as DuplexPipeStream;
    // SslStream holds no data: its last read left room in the caller's buffer, so the record it decrypted was handed
    // over whole, and it was given no byte past that record (DuplexPipeStream reads stop at record ends).
    private bool _drained;

    public TlsFailure Failure;
    public PeerIdentity? Peer;
    /// <summary>Set by the callback when the peer presented a certificate that verified.</summary>
    public bool PeerVerified;
    /// <summary>What the peer must present; set before the handshake.</summary>
    public PeerVerifier? Verifier;

    /// <summary>
    /// A zero-byte read (the pipe reader waiting for the next request) is answered by the transport stream when
    /// SslStream holds nothing: SslStream's own zero-byte read would stay pending through three async methods and box
    /// each of them, ~620 B per request on a keep-alive connection. Any other read is SslStream's.
    /// </summary>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty && _drained && _transport is not null) return _transport.WaitForDataAsync(cancellationToken);
        ValueTask<int> read = base.ReadAsync(buffer, cancellationToken);
        if (!read.IsCompletedSuccessfully) return Track(read, buffer.Length);
        int n = read.Result;
        _drained = n < buffer.Length;
        return new ValueTask<int>(n);
    }

    private async ValueTask<int> Track(ValueTask<int> read, int length)
    {
        _drained = false;
        int n = await read.ConfigureAwait(false);
        _drained = n < length;
        return n;
    }
}
