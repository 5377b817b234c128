// A connection after a TLS handshake, seen as the plaintext ConnectionContext the codecs and the TCP proxy already
// take: pipes over the SslStream, the transport's features, addresses and abort underneath. Disposing it releases the
// TLS state only, unless it owns the transport (upstream connections, which the pool sees only as this).
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace FastPath.Tls;

internal sealed class TlsConnection : ConnectionContext, IDuplexPipe
{
    // One TLS record holds at most 16 KiB of plaintext: reading a record's worth at a time decrypts it in one call.
    private const int ReadBufferSize = 16 * 1024;
    private const int MinimumReadSize = 4 * 1024;
    private const int WriteBufferSize = 16 * 1024;

    private readonly ConnectionContext _inner;
    private readonly TlsStream _stream;
    private readonly bool _ownsTransport;

    /// <param name="ownsTransport">Upstream connections: disposing this closes the socket too.</param>
    public TlsConnection(ConnectionContext inner, TlsStream stream, bool ownsTransport = false)
    {
        _inner = inner;
        _stream = stream;
        _ownsTransport = ownsTransport;
        // Zero-byte reads: a keep-alive connection waiting for its next request holds neither a pipe buffer nor
        // SslStream's (it lets go of an empty one on a zero-byte read).
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: ReadBufferSize, minimumReadSize: MinimumReadSize,
            leaveOpen: true, useZeroByteReads: true));
        Output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: WriteBufferSize, leaveOpen: true));
    }

    public TlsStream Stream => _stream;
    public PipeReader Input { get; }
    public PipeWriter Output { get; }

    public override IDuplexPipe Transport { get => this; set => throw new NotSupportedException(); }
    public override string ConnectionId { get => _inner.ConnectionId; set => _inner.ConnectionId = value; }
    public override IFeatureCollection Features => _inner.Features;
    public override IDictionary<object, object?> Items { get => _inner.Items; set => _inner.Items = value; }
    public override EndPoint? LocalEndPoint { get => _inner.LocalEndPoint; set => _inner.LocalEndPoint = value; }
    public override EndPoint? RemoteEndPoint { get => _inner.RemoteEndPoint; set => _inner.RemoteEndPoint = value; }
    public override CancellationToken ConnectionClosed { get => _inner.ConnectionClosed; set => _inner.ConnectionClosed = value; }

    public override void Abort() => _inner.Abort();

    public override void Abort(ConnectionAbortedException abortReason) => _inner.Abort(abortReason);

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await Input.CompleteAsync().ConfigureAwait(false);
            await Output.CompleteAsync().ConfigureAwait(false);
        }
        catch
        {
            // Completing flushes what is left; the peer may be gone.
        }
        await _stream.DisposeAsync().ConfigureAwait(false);
        if (_ownsTransport)
        {
            try
            {
                await _inner.Transport.Input.CompleteAsync().ConfigureAwait(false);
                await _inner.Transport.Output.CompleteAsync().ConfigureAwait(false);
                await _inner.DisposeAsync().ConfigureAwait(false);
            }
            catch
            {
                // The socket is going away either way.
            }
        }
    }
}
