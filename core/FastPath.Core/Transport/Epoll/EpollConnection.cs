// A TCP connection driven by an EpollLoop, as a ConnectionContext with the same IDuplexPipe contract as Kestrel's
// socket transport: the input completes on FIN, with ConnectionResetException on a reset and
// ConnectionAbortedException after Abort; completing the output shuts the socket down both ways.
//
// Receiving trusts epoll: the socket is read only once it said it was readable (no speculative receive), 16 KiB at a
// time, and a short read means the kernel had no more (edge-triggered: the next bytes raise a new edge). Sending
// happens where the output is flushed: at the end of the loop's pass on the loop thread, so everything a pass wrote
// leaves in one sendmsg (an upstream connection's as soon as the pass's downstream events are handled, when they wrote
// it: see EpollLoop), or inline on any other thread.
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using static FastPath.Transport.Epoll.EpollNative;

namespace FastPath.Transport.Epoll;

internal sealed class EpollConnection : ConnectionContext, IEpollHandler, IDuplexPipe, IConnectionSocketFeature, ISocketBacklogFeature
{
    private const int ReceiveSize = 16 * 1024;
    private const int MaxIov = 16;
    private static long s_nextId;

    private readonly EpollLoop _loop;
    private Socket? _socket; // made on first ask: most connections never need the object (it costs ~9 syscalls)
    private readonly SocketFd _handle;
    private readonly bool _upstream;
    private readonly Pipe _inputPipe;
    private readonly Pipe _outputPipe;
    private readonly PipeWriter _inputWriter;
    private readonly PipeReader _outputReader;
    private readonly CancellationTokenSource _closed = new();
    private readonly FeatureCollection _features = new();
    private readonly Action _onReceiveResumed;
    private readonly Action<object?> _checkWritable;
    private readonly Action _continueSending;
    private ulong _token;

    // Receive state (loop thread only).
    private bool _receivePaused;
    private bool _receiveDone;
    private ValueTask<FlushResult> _pausedFlush;

    // Send state: one sender at a time, handed between the flushing thread and the loop by _awaitingWritable.
    private ValueTask<ReadResult> _pendingRead;
    private int _awaitingWritable;
    private int _sendDone;
    // Completed where the send side finishes (usually the loop, at the end of the pass that sent the last bytes); the
    // disposal waiting on it carries on right there, not on the thread pool (a hop and a wake-up per connection).
    private readonly TaskCompletionSource _sendCompleted = new();

    private volatile ConnectionAbortedException? _abortReason;
    private int _shutdown;
    private int _disposed;
    private string? _id;
    private IDictionary<object, object?>? _items;

    private EndPoint? _local;

    /// <param name="remote">The peer, known from accept4 or connect; the local end is asked for when first read.</param>
    /// <param name="upstream">Opened by this process (to an origin): see <see cref="EpollLoop.DeferUpstreamSend"/>.</param>
    public EpollConnection(EpollLoop loop, SocketFd handle, EndPoint? remote, bool upstream = false)
    {
        _loop = loop;
        _handle = handle;
        _upstream = upstream;
        RemoteEndPoint = remote;
        // The input is written on the loop thread and read inline there (the codec runs in the pass that received its
        // bytes); when the reader lags, the receive resumes on the loop.
        _inputPipe = new Pipe(new PipeOptions(pool: BlockPool.Sockets, readerScheduler: PipeScheduler.Inline,
            writerScheduler: loop.Scheduler, pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024,
            minimumSegmentSize: ReceiveSize, useSynchronizationContext: false));
        // The output is sent at the end of the pass when flushed on a loop thread (an upstream's, once the pass's
        // downstream events are handled, when they wrote it), inline otherwise.
        PipeScheduler sender = upstream ? EpollLoop.DeferOrInline.Upstream : EpollLoop.DeferOrInline.Downstream;
        _outputPipe = new Pipe(new PipeOptions(pool: BlockPool.Sockets, readerScheduler: sender,
            writerScheduler: PipeScheduler.Inline, pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024,
            minimumSegmentSize: 4096, useSynchronizationContext: false));
        _inputWriter = _inputPipe.Writer;
        _outputReader = _outputPipe.Reader;
        _onReceiveResumed = ResumeReceive;
        _checkWritable = static s =>
        {
            var c = (EpollConnection)s!;
            if (Interlocked.Exchange(ref c._awaitingWritable, 0) == 1) c.ContinueSending();
        };
        _continueSending = ContinueSending;
        _features.Set<IConnectionSocketFeature>(this);
        _features.Set<ISocketBacklogFeature>(this);
        ConnectionClosed = _closed.Token;
    }

    public EpollLoop Loop => _loop;

    /// <summary>Joins the loop's epoll set and starts sending; receiving starts with the first readable edge.</summary>
    public void Start()
    {
        _token = _loop.Register(_handle, this, _upstream);
        StartRead();
    }

    /// <summary>
    /// As <see cref="Start"/>, taking over the registration a connect waited on (on the loop thread).
    /// <paramref name="readyEvents"/> is what epoll reported with the connect's completion: an edge-triggered set
    /// reports bytes that came with it (a server that speaks first) only that once.
    /// </summary>
    public void Start(ulong registration, uint readyEvents)
    {
        _token = registration;
        _loop.Rebind(registration, this);
        StartRead();
        if ((readyEvents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) OnEvents(readyEvents);
    }

    public override string ConnectionId
    {
        get => _id ??= "E" + Interlocked.Increment(ref s_nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        set => _id = value;
    }

    public override IFeatureCollection Features => _features;
    public override IDictionary<object, object?> Items { get => _items ??= new Dictionary<object, object?>(); set => _items = value; }
    public override IDuplexPipe Transport { get => this; set => throw new NotSupportedException(); }
    public override CancellationToken ConnectionClosed { get; set; }

    PipeReader IDuplexPipe.Input => _inputPipe.Reader;
    PipeWriter IDuplexPipe.Output => _outputPipe.Writer;
    Socket IConnectionSocketFeature.Socket
    {
        get
        {
            // The Socket borrows the descriptor: this connection closes it (gracefully, see SocketFd).
            lock (_features) return _socket ??= new Socket(new SafeSocketHandle(_handle.Fd, ownsHandle: false));
        }
    }

    unsafe int ISocketBacklogFeature.BufferedBytes
    {
        get
        {
            int available = 0;
            try
            {
                return ioctl(_handle, FIONREAD, &available) == 0 ? available : 0;
            }
            catch (ObjectDisposedException)
            {
                return 0;
            }
        }
    }

    public override EndPoint? LocalEndPoint
    {
        get => _local ??= QueryLocalEndPoint();
        set => _local = value;
    }

    private unsafe EndPoint? QueryLocalEndPoint()
    {
        byte* sa = stackalloc byte[SockAddrStorage];
        int length = SockAddrStorage;
        try
        {
            return getsockname(_handle, sa, &length) == 0 ? ToEndPoint(sa) : null;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
    }

    public void OnEvents(uint events)
    {
        // A FIN or error already seen by epoll has no edge of its own after the data: read until recv says so.
        if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 && !_receivePaused && !_receiveDone)
            Receive(untilEmpty: (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
        if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0 && Interlocked.Exchange(ref _awaitingWritable, 0) == 1) ContinueSending();
    }

    // ---- receive (loop thread) ----

    /// <summary>Reads what the kernel holds. A short read means it held no more, unless <paramref name="untilEmpty"/>
    /// (a FIN was seen, or edges were ignored while paused): then only recv's 0 or EAGAIN ends it.</summary>
    private unsafe void Receive(bool untilEmpty)
    {
        while (true)
        {
            Memory<byte> memory = _inputWriter.GetMemory(ReceiveSize);
            nint n;
            fixed (byte* p = memory.Span) n = recv(_handle, p, memory.Length, 0);
            if (n > 0)
            {
                _inputWriter.Advance((int)n);
                ValueTask<FlushResult> flush = _inputWriter.FlushAsync();
                if (!flush.IsCompleted)
                {
                    _receivePaused = true;
                    _pausedFlush = flush;
                    // The pipe's writer scheduler brings the continuation back to the loop.
                    flush.GetAwaiter().UnsafeOnCompleted(_onReceiveResumed);
                    return;
                }
                if (flush.Result.IsCompleted)
                {
                    EndReceive(null);
                    return;
                }
                if (n < memory.Length && !untilEmpty) return; // drained: new bytes raise a new edge
                continue;
            }
            if (n == 0)
            {
                EndReceive(_abortReason);
                return;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EAGAIN) return;
            if (errno == EINTR) continue;
            if (_abortReason is not null)
            {
                EndReceive(_abortReason);
                return;
            }
            System.Net.Sockets.SocketException error = Error(errno);
            EndReceive(errno == ECONNRESET ? new ConnectionResetException("Connection reset by peer", error) : new IOException("recv failed: " + error.Message, error));
            return;
        }
    }

    private void ResumeReceive()
    {
        _receivePaused = false;
        FlushResult result;
        try
        {
            result = _pausedFlush.GetAwaiter().GetResult();
        }
        catch
        {
            EndReceive(null);
            return;
        }
        _pausedFlush = default;
        if (result.IsCompleted || result.IsCanceled)
        {
            EndReceive(null);
            return;
        }
        if (!_receiveDone) Receive(untilEmpty: true); // edges that came while paused were ignored
    }

    private void EndReceive(Exception? error)
    {
        if (_receiveDone) return;
        _receiveDone = true;
        _inputWriter.Complete(error);
        if (error is not null) ShutdownOnce();
    }

    // ---- send ----

    private void StartRead()
    {
        while (true)
        {
            _pendingRead = _outputReader.ReadAsync();
            if (!_pendingRead.IsCompleted)
            {
                _pendingRead.GetAwaiter().UnsafeOnCompleted(_continueSending);
                return;
            }
            if (!SendRead()) return;
        }
    }

    /// <summary>Sends what the pending read holds, then reads on: when the output was flushed, and when the loop saw
    /// the socket writable again after a full one.</summary>
    private void ContinueSending()
    {
        if (SendRead()) StartRead();
    }

    /// <summary>Sends what the pending read returned. False when sending stopped (socket full, or done).</summary>
    private unsafe bool SendRead()
    {
        ReadResult result;
        try
        {
            result = _pendingRead.GetAwaiter().GetResult();
        }
        catch (Exception)
        {
            FinishSend();
            return false;
        }
        _pendingRead = default;
        ReadOnlySequence<byte> buffer = result.Buffer;
        if (result.IsCanceled || _abortReason is not null)
        {
            _outputReader.AdvanceTo(buffer.End);
            FinishSend();
            return false;
        }
        while (!buffer.IsEmpty)
        {
            nint sent;
            int errno;
            try
            {
                sent = SendOnce(buffer, out errno);
            }
            catch (ObjectDisposedException)
            {
                sent = -1;
                errno = EPIPE;
            }
            if (sent > 0)
            {
                buffer = buffer.Slice(sent);
                continue;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN)
            {
                // Full: the unsent bytes stay in the pipe and the loop resumes on EPOLLOUT. The edge comes after this
                // failed send, so on the loop thread it cannot be missed; from another thread it may already have been
                // handled, so the loop is asked to try once more.
                _outputReader.AdvanceTo(buffer.Start);
                _pendingRead = _outputReader.ReadAsync(); // completes at once with the unsent bytes
                Volatile.Write(ref _awaitingWritable, 1);
                if (!_loop.IsCurrent) _loop.Post(_checkWritable, this);
                return false;
            }
            _outputReader.AdvanceTo(buffer.End);
            FinishSend();
            return false;
        }
        _outputReader.AdvanceTo(buffer.End);
        if (result.IsCompleted)
        {
            FinishSend();
            return false;
        }
        return true;
    }

    private unsafe nint SendOnce(in ReadOnlySequence<byte> buffer, out int errno)
    {
        errno = 0;
        nint n;
        if (buffer.IsSingleSegment)
        {
            ReadOnlySpan<byte> span = buffer.FirstSpan;
            fixed (byte* p = span) n = send(_handle, p, span.Length, MSG_NOSIGNAL);
        }
        else
        {
            IoVec* iov = stackalloc IoVec[MaxIov];
            PinnedSegments handles = default;
            int count = 0;
            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                if (segment.IsEmpty) continue;
                if (count == MaxIov) break;
                handles[count] = segment.Pin();
                iov[count].Base = (byte*)handles[count].Pointer;
                iov[count].Length = segment.Length;
                count++;
            }
            var msg = new MsgHdr { Iov = iov, IovLength = count };
            n = sendmsg(_handle, &msg, MSG_NOSIGNAL);
            for (int i = 0; i < count; i++) handles[i].Dispose();
        }
        if (n < 0) errno = Marshal.GetLastPInvokeError();
        return n;
    }

    private void FinishSend()
    {
        if (Interlocked.Exchange(ref _sendDone, 1) != 0) return;
        _outputReader.Complete();
        // As Kestrel's transport: the application finished writing (or the connection was aborted), so the socket
        // shuts down both ways, and the receive side ends with the FIN or reset that follows.
        ShutdownOnce();
        _sendCompleted.TrySetResult();
    }

    private void ShutdownOnce()
    {
        if (Interlocked.Exchange(ref _shutdown, 1) != 0) return;
        try
        {
            shutdown(_handle, SHUT_RDWR);
        }
        catch (ObjectDisposedException)
        {
            // Already gone.
        }
    }

    // ---- lifetime ----

    public override void Abort(ConnectionAbortedException abortReason)
    {
        _abortReason ??= abortReason;
        _outputReader.CancelPendingRead();
        ShutdownOnce();
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _inputPipe.Reader.Complete();
        _outputPipe.Writer.Complete();
        // A peer that stopped reading would hold the last send forever: cut it off, as an abort would.
        if (Volatile.Read(ref _awaitingWritable) == 1) ShutdownOnce();
        await _sendCompleted.Task.ConfigureAwait(false);
        // The receive side is finished by the loop; after this no event reaches this object.
        _loop.Post(static s =>
        {
            var c = (EpollConnection)s!;
            c._loop.Unregister(c._token);
            if (!c._receiveDone) c.EndReceive(new ConnectionAbortedException("The connection was disposed."));
            lock (c._features)
            {
                c._socket?.Dispose();
                c._handle.Dispose();
            }
            c._closed.Cancel();
        }, this);
    }

    [System.Runtime.CompilerServices.InlineArray(MaxIov)]
    private struct PinnedSegments
    {
        private MemoryHandle _first;
    }
}
