// A Stream over a transport's IDuplexPipe, for SslStream to read ciphertext from and write it to. A zero-byte read
// waits for data without consuming it, so SslStream's own zero-byte reads (an idle TLS connection holds no buffer)
// reach the socket transport, which waits the same way. Cancelling a read consumes nothing: the bytes stay in the pipe.
//
// Reads stop at the end of a TLS record: SslStream is never handed a byte of the next record, so once it has returned
// a record's plaintext whole it holds nothing, and TlsStream can wait for the next bytes here (WaitForDataAsync, a
// reusable source: no allocation) instead of leaving SslStream's own read machinery pending, which boxes three
// state machines per wait - ~620 B per request on a TLS keep-alive connection.
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace FastPath.Tls;

internal sealed class DuplexPipeStream : Stream, IValueTaskSource<int>
{
    private const int RecordHeaderLength = 5;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;

    // Where the reads are in the TLS record stream: the bytes of the current record not yet handed out, or, between
    // records, the header bytes already handed out (a header split across reads) and what they said.
    private int _recordRemaining;
    private int _headerSeen;
    private int _lengthHigh;

    // WaitForDataAsync's pending wait.
    private ManualResetValueTaskSourceCore<int> _wait;
    private ValueTaskAwaiter<ReadResult> _waitRead;
    private readonly Action _onWaitRead;

    public DuplexPipeStream(IDuplexPipe transport)
    {
        _input = transport.Input;
        _output = transport.Output;
        _onWaitRead = OnWaitRead;
    }

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
            int n = (int)Math.Min(Math.Min(buffer.Length, destination.Length), ToRecordEnd(buffer));
            buffer.Slice(0, n).CopyTo(destination.Span);
            Handed(destination.Span[..n]);
            _input.AdvanceTo(buffer.GetPosition(n));
            return n;
        }
    }

    /// <summary>How many of the buffered bytes belong to the record being read (a header: the header and its body).</summary>
    private long ToRecordEnd(in ReadOnlySequence<byte> buffer)
    {
        if (_recordRemaining > 0) return _recordRemaining;
        if (_headerSeen + buffer.Length < RecordHeaderLength) return buffer.Length; // part of a header: all of it
        // The header completes in this buffer: the record ends its length past it.
        Span<byte> header = stackalloc byte[RecordHeaderLength];
        int need = RecordHeaderLength - _headerSeen;
        buffer.Slice(0, need).CopyTo(header);
        int high = _headerSeen > 3 ? _lengthHigh : header[3 - _headerSeen];
        int low = header[4 - _headerSeen];
        return need + (high << 8 | low);
    }

    /// <summary>Advances the record position past bytes handed to the reader.</summary>
    private void Handed(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_recordRemaining > 0)
            {
                int body = Math.Min(_recordRemaining, bytes.Length);
                _recordRemaining -= body;
                bytes = bytes[body..];
                continue;
            }
            // Header bytes: type (0), version (1-2), length (3-4).
            if (_headerSeen == 3) _lengthHigh = bytes[0];
            if (_headerSeen == 4)
            {
                _recordRemaining = _lengthHigh << 8 | bytes[0];
                _headerSeen = 0;
            }
            else _headerSeen++;
            bytes = bytes[1..];
        }
    }

    /// <summary>
    /// Completes (with 0) once the transport has bytes or has ended, consuming nothing: SslStream's zero-byte read,
    /// done here without SslStream. Only valid when SslStream holds no data (see TlsStream).
    /// </summary>
    public ValueTask<int> WaitForDataAsync(CancellationToken cancellationToken)
    {
        ValueTask<ReadResult> read = _input.ReadAsync(cancellationToken);
        if (read.IsCompleted)
        {
            EndWait(read.GetAwaiter().GetResult(), cancellationToken);
            return new ValueTask<int>(0);
        }
        _wait.Reset();
        _waitRead = read.GetAwaiter();
        _waitRead.UnsafeOnCompleted(_onWaitRead);
        return new ValueTask<int>(this, _wait.Version);
    }

    private void OnWaitRead()
    {
        ValueTaskAwaiter<ReadResult> awaiter = _waitRead;
        _waitRead = default;
        try
        {
            EndWait(awaiter.GetResult(), CancellationToken.None);
        }
        catch (Exception e)
        {
            _wait.SetException(e);
            return;
        }
        _wait.SetResult(0);
    }

    private void EndWait(ReadResult result, CancellationToken cancellationToken)
    {
        _input.AdvanceTo(result.Buffer.Start); // consumed nothing, examined nothing: the next read sees the same bytes
        if (result.IsCanceled) throw new OperationCanceledException(cancellationToken);
    }

    int IValueTaskSource<int>.GetResult(short token) => _wait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wait.OnCompleted(continuation, state, token, flags);

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
