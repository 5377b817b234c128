// A Stream over a transport's IDuplexPipe, for SslStream to read ciphertext from and write it to. A zero-byte read
// waits for data without consuming it, so SslStream's own zero-byte reads (an idle TLS connection holds no buffer)
// reach the socket transport, which waits the same way. Cancelling a read consumes nothing: the bytes stay in the pipe.
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace FastPath.Tls;

internal sealed class DuplexPipeStream(IDuplexPipe transport) : Stream
{
    private readonly PipeReader _input = transport.Input;
    private readonly PipeWriter _output = transport.Output;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    // Pooled builders: a read waits for the network nearly every time, and a plain async ValueTask method would box
    // its state machine on each wait (per request on a keep-alive connection).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ReadResult result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (result.IsCanceled)
            {
                _input.AdvanceTo(buffer.Start);
                throw new OperationCanceledException(cancellationToken);
            }
            if (buffer.IsEmpty)
            {
                _input.AdvanceTo(buffer.Start);
                if (result.IsCompleted) return 0;
                continue;
            }
            if (destination.IsEmpty)
            {
                _input.AdvanceTo(buffer.Start); // data is here: the caller may now rent a buffer
                return 0;
            }
            int n = (int)Math.Min(buffer.Length, destination.Length);
            buffer.Slice(0, n).CopyTo(destination.Span);
            _input.AdvanceTo(buffer.GetPosition(n));
            return n;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        FlushResult flushed = await _output.WriteAsync(source, cancellationToken).ConfigureAwait(false);
        if (flushed.IsCompleted) throw new IOException("The connection was closed.");
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Every write above flushes already; SslStream flushes after each write too, and a Task made from the pipe's
    // FlushResult would be one allocation per response.
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // SslStream only uses the asynchronous API here; the synchronous one would block a socket thread.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
