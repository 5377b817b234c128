// The send side of a connection: streams write HEADERS and DATA under the connection lock within the peer's windows
// (§6.9) and max frame size, then wait on their own signal - for window, or for the transport to drain - without
// spinning or allocating. One output loop owns FlushAsync.
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using FastPath.Http;
using FastPath.Http2.Frames;
using FastPath.Http2.HPack;

namespace FastPath.Http2;

internal sealed partial class Http2Connection
{
    private bool IsBacklogged => _writer.Unflushed + _inFlightBytes >= _limits.MaxOutputBufferBytes;

    private void SignalOutput() => _outputSignal.Set();

    private async Task RunOutputAsync()
    {
        try
        {
            while (true)
            {
                ValueTask wait = default;
                ValueTask<FlushResult> flush = default;
                bool flushNow = false;
                lock (_sync)
                {
                    if (_writer.Unflushed == 0)
                    {
                        if (_outputClosed) break;
                        wait = _outputSignal.WaitAsync();
                    }
                    else
                    {
                        _inFlightBytes = _writer.Unflushed;
                        _writer.Unflushed = 0;
                        _flushing = true;
                        _flushStartedAt = _now;
                        flush = _output.FlushAsync();
                        flushNow = true;
                    }
                }
                if (!flushNow)
                {
                    await wait.ConfigureAwait(false);
                    continue;
                }
                FlushResult result = await flush.ConfigureAwait(false);
                lock (_sync)
                {
                    _flushing = false;
                    _inFlightBytes = 0;
                    WakeBlockedWriters();
                    if (result.IsCanceled || result.IsCompleted)
                    {
                        _closing = true;
                        _outputClosed = true;
                        if (EndReason == Http2ConnectionEndReason.None) EndReason = Http2ConnectionEndReason.TransportError;
                    }
                }
                if (result.IsCanceled || result.IsCompleted)
                {
                    _input.CancelPendingRead();
                    break;
                }
            }
        }
        catch (Exception)
        {
            lock (_sync)
            {
                _closing = true;
                _outputClosed = true;
                if (EndReason == Http2ConnectionEndReason.None) EndReason = Http2ConnectionEndReason.TransportError;
                WakeBlockedWriters();
            }
            _input.CancelPendingRead();
        }
        // The output is completed by RunAsync, after lingering: completing it closes the socket (Kestrel's transport).
    }

    private void WakeBlockedWriters()
    {
        foreach (Http2Stream stream in _blockedWriters)
        {
            stream.Blocked = false;
            stream.WriteSignal.Set();
        }
        _blockedWriters.Clear();
        if (_readLoopWaiting)
        {
            _readLoopWaiting = false;
            _readLoopSignal.Set();
        }
    }

    private void Block(Http2Stream stream)
    {
        if (stream.Blocked) return;
        stream.Blocked = true;
        _blockedWriters.Add(stream);
    }

    internal ValueTask<bool> WriteResponseHeadersAsync(Http2Stream stream, HttpResponseHead head, bool endStream)
    {
        lock (_sync)
        {
            if (!stream.CanWrite || stream.HeadersSent || _outputClosed) return new ValueTask<bool>(false);
            BeginResponseBlock(head.StatusCode is >= 100 and <= 999 ? head.StatusCode : 500);
            EncodeFields(head.Headers);
            // An origin's content-length comes off the head to be framed anew (Http1ResponseHandler); the length is
            // announced again (§8.1.1 allows it, Envoy and HAProxy do it), so the client knows the size before the body.
            if (head.Framing == BodyFraming.ContentLength && head.ContentLength >= 0 && head.Headers.IndexOfName("content-length"u8) < 0)
                _encoder.EncodeContentLength(head.ContentLength, _fieldBlock);
            Http2FrameWriter.WriteHeaders(_writer, stream.StreamId, _fieldBlock.WrittenSpan, endStream, (int)_peerSettings.MaxFrameSize);
            stream.HeadersSent = true;
            SignalOutput();
            if (endStream) OnEndStreamSent(stream);
            if (!IsBacklogged) return new ValueTask<bool>(true);
            Block(stream);
        }
        return AwaitDrainAsync(stream);
    }

    /// <summary>Starts a response field block with its :status (a three-digit code); the caller holds the lock.</summary>
    private void BeginResponseBlock(int code)
    {
        _fieldBlock.ResetWrittenCount();
        _encoder.BeginBlock(_fieldBlock);
        _encoder.EncodeStatus(code, _fieldBlock);
    }

    internal ValueTask<bool> WriteTrailersAsync(Http2Stream stream, HttpHeaderBlock trailers)
    {
        lock (_sync)
        {
            if (!stream.CanWrite || !stream.HeadersSent || _outputClosed) return new ValueTask<bool>(false);
            _fieldBlock.ResetWrittenCount();
            _encoder.BeginBlock(_fieldBlock);
            EncodeFields(trailers);
            Http2FrameWriter.WriteHeaders(_writer, stream.StreamId, _fieldBlock.WrittenSpan, endStream: true, (int)_peerSettings.MaxFrameSize);
            SignalOutput();
            OnEndStreamSent(stream);
            return new ValueTask<bool>(true);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AwaitDrainAsync(Http2Stream stream)
    {
        ValueTask wait;
        lock (_sync) wait = stream.WriteSignal.WaitAsync();
        await wait.ConfigureAwait(false);
        return !stream.Aborted;
    }

    /// <summary>Fields to HPACK, without hop-by-hop fields (§8.2.2) and with names in lowercase (§8.2.1); a request's
    /// Host is left out, :authority carries it (§8.3.1).</summary>
    private void EncodeFields(HttpHeaderBlock headers, bool skipHost = false)
    {
        byte[]? rented = null;
        Span<byte> lower = stackalloc byte[256];
        for (int i = 0; i < headers.Count; i++)
        {
            ref HeaderEntry e = ref headers[i];
            // "te: trailers" is the one hop-by-hop field HTTP/2 carries (§8.2.2), and gRPC servers expect it on requests.
            if (e.Skip || (skipHost && e.Id == KnownHeader.Host)) continue;
            if (KnownHeaders.IsHopByHop(e.Id) && !(_isClient && e.Id == KnownHeader.TE && headers.Value(e).SequenceEqual("trailers"u8))) continue;
            scoped ReadOnlySpan<byte> name = headers.Name(e);
            if (name.IsEmpty || name[0] == HttpChars.Colon) continue;
            if (name.IndexOfAnyInRange((byte)'A', (byte)'Z') >= 0)
            {
                if (name.Length > lower.Length)
                {
                    if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
                    rented = ArrayPool<byte>.Shared.Rent(name.Length);
                    lower = rented;
                }
                Ascii.ToLower(name, lower, out int written);
                name = lower[..written];
            }
            // HPackEncoder marks authorization, cookie, set-cookie and proxy-authorization never-indexed (RFC 7541 §7.1.3).
            _encoder.Encode(name, headers.Value(e), _fieldBlock);
        }
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    internal async ValueTask<bool> WriteDataAsync(Http2Stream stream, ReadOnlyMemory<byte> data, bool endStream)
    {
        while (true)
        {
            ValueTask wait;
            lock (_sync)
            {
                if (!stream.CanWrite || _outputClosed || !stream.HeadersSent) return false;
                if (IsBacklogged)
                {
                    Block(stream);
                    wait = stream.WriteSignal.WaitAsync();
                }
                else
                {
                    long window = Math.Min(stream.SendWindow.Available, _connectionSendWindow.Available);
                    int maxFrame = (int)_peerSettings.MaxFrameSize;
                    // At most a few frames per turn so other streams interleave; an empty final frame needs no window.
                    int n = (int)Math.Min(Math.Min(data.Length, Math.Max(window, 0)), 4L * maxFrame);
                    if (n > 0 || data.Length == 0)
                    {
                        bool last = n == data.Length;
                        Http2FrameWriter.WriteData(_writer, stream.StreamId, data.Span[..n], last && endStream, maxFrame);
                        stream.SendWindow.Consume(n);
                        _connectionSendWindow.Consume(n);
                        stream.StallSince = -1;
                        data = data[n..];
                        SignalOutput();
                        if (last)
                        {
                            if (endStream) OnEndStreamSent(stream);
                            return true;
                        }
                        continue;
                    }
                    // Zero window: wait for WINDOW_UPDATE (or a SETTINGS change); Tick resets the stream if it never comes.
                    if (stream.StallSince < 0) stream.StallSince = _now;
                    Block(stream);
                    wait = stream.WriteSignal.WaitAsync();
                }
            }
            await wait.ConfigureAwait(false);
        }
    }

    /// <summary>The transport's writer, counting what was written since the last flush began.</summary>
    private sealed class CountingWriter(PipeWriter inner) : IBufferWriter<byte>
    {
        public int Unflushed;

        public void Advance(int count)
        {
            Unflushed += count;
            inner.Advance(count);
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
    }
}
