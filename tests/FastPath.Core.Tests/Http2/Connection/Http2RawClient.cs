// A raw HTTP/2 client for conformance tests over a real socket: it sends whatever frames a test builds (valid or
// not) with the product's frame writer and HPACK encoder, and reads the server's frames with the product's reader.
using System.Buffers;
using System.Net;
using System.Net.Sockets;
using FastPath.Http2;
using FastPath.Http2.Frames;
using FastPath.Http2.HPack;

namespace FastPath.Core.Tests.Http2.Connection;

/// <summary>A received frame, copied out of the read buffer.</summary>
internal sealed record ReceivedFrame(Http2FrameType Type, Http2FrameFlags Flags, uint StreamId, byte[] Payload, Http2ErrorCode ErrorCode,
    uint Field, ulong Opaque)
{
    /// <summary>HEADERS and CONTINUATION: the fields decoded from this fragment (every block is decoded on arrival, keeping HPACK in step).</summary>
    public List<(string Name, string Value)> Fields { get; } = new();

    public bool EndStream => (Flags & Http2FrameFlags.END_STREAM) != 0 && Type is Http2FrameType.DATA or Http2FrameType.HEADERS;

    public override string ToString() => $"{Type} s={StreamId} f=0x{(byte)Flags:x2} len={Payload.Length} code={ErrorCode}";
}

/// <summary>A response read off one stream.</summary>
internal sealed class ReceivedResponse
{
    public List<(string Name, string Value)> Headers { get; } = new();
    public List<(string Name, string Value)> Trailers { get; } = new();
    public MemoryStream Body { get; } = new();
    public Http2ErrorCode? Reset { get; set; }

    public string? Header(string name) => Headers.FirstOrDefault(h => h.Name == name).Value;

    public int Status => int.Parse(Header(":status") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
}

internal sealed class Http2RawClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly HPackEncoder _encoder = new();
    private readonly HPackDecoder _decoder = new(maxHeaderListSize: 1 << 20);
    private Http2FrameReader _reader = Http2FrameReader.ForClient(enablePush: false, maxFrameSize: Http2Settings.MaxMaxFrameSize);
    private byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    private Http2RawClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public Queue<ReceivedFrame> Skipped { get; } = new();

    /// <summary>Connects; with <paramref name="handshake"/>, sends the preface and SETTINGS and acknowledges the server's.</summary>
    public static async Task<Http2RawClient> ConnectAsync(IPEndPoint endPoint, bool handshake = true, int receiveBuffer = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBuffer > 0) socket.ReceiveBufferSize = receiveBuffer;
        await socket.ConnectAsync(endPoint);
        var client = new Http2RawClient(socket);
        if (handshake) await client.HandshakeAsync();
        return client;
    }

    public async Task HandshakeAsync(params Http2Setting[] settings)
    {
        var w = new ArrayBufferWriter<byte>();
        w.Write(Http2ConnectionPreface.ClientPreface);
        Http2FrameWriter.WriteSettings(w, settings);
        await SendAsync(w.WrittenMemory);
        ReceivedFrame first = await ReadFrameAsync();
        Assert.Equal(Http2FrameType.SETTINGS, first.Type);
        for (int i = 0; i + 6 <= first.Payload.Length; i += 6)
        {
            if (System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(first.Payload.AsSpan(i)) == (ushort)Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE)
                _initialStreamWindow = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(first.Payload.AsSpan(i + 2));
        }
        await SendAsync(b => Http2FrameWriter.WriteSettingsAck(b));
    }

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly object _windows = new();
    private long _connectionWindow = 65_535;
    private long _initialStreamWindow = 65_535;
    private readonly Dictionary<uint, long> _streamWindows = new();

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await _writeLock.WaitAsync();
        try
        {
            await _stream.WriteAsync(bytes);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends a body within the server's windows, as a peer must; a concurrent ReadResponseAsync sees the WINDOW_UPDATEs.</summary>
    public async Task SendBodyAsync(uint streamId, byte[] body, bool endStream, int timeoutMs = 20_000)
    {
        long deadline = Environment.TickCount64 + timeoutMs;
        int sent = 0;
        while (sent < body.Length)
        {
            int n;
            lock (_windows)
            {
                long stream = _streamWindows.TryGetValue(streamId, out long w) ? w : _initialStreamWindow;
                n = (int)Math.Min(Math.Min(16_384, body.Length - sent), Math.Min(stream, _connectionWindow));
                if (n > 0)
                {
                    _streamWindows[streamId] = stream - n;
                    _connectionWindow -= n;
                }
            }
            if (n <= 0)
            {
                if (Environment.TickCount64 > deadline) throw new TimeoutException($"no window from the server: sent={sent} conn={_connectionWindow} streams={string.Join(",", _streamWindows)} skipped={string.Join(";", Skipped.Take(20))}");
                await Task.Delay(1);
                continue;
            }
            await SendDataAsync(streamId, body[sent..(sent + n)], endStream && sent + n == body.Length);
            sent += n;
        }
    }

    private void OnWindowUpdate(ReceivedFrame f)
    {
        lock (_windows)
        {
            if (f.StreamId == 0) _connectionWindow += f.Field;
            else _streamWindows[f.StreamId] = (_streamWindows.TryGetValue(f.StreamId, out long w) ? w : _initialStreamWindow) + f.Field;
        }
    }

    public Task SendAsync(Action<ArrayBufferWriter<byte>> write)
    {
        var w = new ArrayBufferWriter<byte>();
        write(w);
        return SendAsync(w.WrittenMemory);
    }

    /// <summary>An HPACK field block for the given fields, in order, names as given.</summary>
    public byte[] Encode(params (string Name, string Value)[] fields)
    {
        var w = new ArrayBufferWriter<byte>();
        _encoder.BeginBlock(w);
        foreach ((string name, string value) in fields)
            _encoder.Encode(System.Text.Encoding.ASCII.GetBytes(name), System.Text.Encoding.ASCII.GetBytes(value), w, HPackIndexing.WithoutIndexing);
        return w.WrittenSpan.ToArray();
    }

    public static (string, string)[] Get(string path = "/", params (string, string)[] extra) =>
        [(":method", "GET"), (":scheme", "http"), (":path", path), (":authority", "localhost"), .. extra];

    public static (string, string)[] Post(string path = "/echo", params (string, string)[] extra) =>
        [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"), .. extra];

    public Task SendHeadersAsync(uint streamId, (string, string)[] fields, bool endStream, bool endHeaders = true)
    {
        byte[] block = Encode(fields);
        return SendAsync(w =>
        {
            var flags = (endStream ? Http2FrameFlags.END_STREAM : 0) | (endHeaders ? Http2FrameFlags.END_HEADERS : 0);
            RawFrame(w, Http2FrameType.HEADERS, flags, streamId, block);
        });
    }

    public Task SendDataAsync(uint streamId, byte[] data, bool endStream) =>
        SendAsync(w => Http2FrameWriter.WriteData(w, streamId, data, endStream, 16_384));

    public static void RawFrame(IBufferWriter<byte> w, Http2FrameType type, Http2FrameFlags flags, uint streamId, ReadOnlySpan<byte> payload)
    {
        Span<byte> span = w.GetSpan(9 + payload.Length);
        Http2FrameWriter.WriteFrameHeader(span, payload.Length, type, flags, streamId);
        payload.CopyTo(span[9..]);
        w.Advance(9 + payload.Length);
    }

    public Task SendRawAsync(Http2FrameType type, Http2FrameFlags flags, uint streamId, byte[] payload) =>
        SendAsync(w => RawFrame(w, type, flags, streamId, payload));

    private Task<int>? _pendingRead;

    /// <summary>The next frame, or null when the server closed the connection; TimeoutException when none came in time.</summary>
    public async Task<ReceivedFrame?> TryReadFrameAsync(int timeoutMs = 5000)
    {
        while (true)
        {
            if (TryParse(out ReceivedFrame? frame)) return frame;
            if (_end == _buffer.Length && _pendingRead is null)
            {
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                else Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            int n;
            try
            {
                // A read that times out stays pending for the next call: the socket is never cancelled under it.
                _pendingRead ??= _stream.ReadAsync(_buffer.AsMemory(_end)).AsTask();
                if (await Task.WhenAny(_pendingRead, Task.Delay(timeoutMs)) != _pendingRead) throw new TimeoutException("no frame from the server");
                n = await _pendingRead;
                _pendingRead = null;
            }
            catch (IOException)
            {
                _pendingRead = null;
                return null; // reset by the server
            }
            catch (SocketException)
            {
                _pendingRead = null;
                return null;
            }
            if (n == 0) return null;
            _end += n;
        }
    }

    public async Task<ReceivedFrame> ReadFrameAsync(int timeoutMs = 5000) =>
        await TryReadFrameAsync(timeoutMs) ?? throw new InvalidOperationException("connection closed");

    private bool TryParse(out ReceivedFrame? frame)
    {
        frame = null;
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(_buffer, _start, _end - _start));
        Http2FrameReadStatus status = _reader.TryReadFrame(ref reader, out Http2Frame f, out Http2FrameError error);
        if (status == Http2FrameReadStatus.Incomplete) return false;
        if (status != Http2FrameReadStatus.Frame) throw new InvalidOperationException($"server sent a bad frame: {error}");
        frame = new ReceivedFrame(f.Type, f.Flags, f.StreamId, f.Payload.ToArray(), f.ErrorCode,
            f.Type == Http2FrameType.WINDOW_UPDATE ? f.WindowSizeIncrement : f.LastStreamId, f.OpaqueData);
        _start += (int)reader.Consumed;
        if (f.Type is Http2FrameType.HEADERS or Http2FrameType.CONTINUATION)
        {
            var handler = new CollectingHandler(frame.Fields);
            HPackError e = _decoder.Decode(frame.Payload, (f.Flags & Http2FrameFlags.END_HEADERS) != 0, ref handler);
            if (e != HPackError.None) throw new InvalidOperationException("server sent a bad field block: " + e);
        }
        return true;
    }

    /// <summary>Reads until a frame matches; others are kept in Skipped. Null if the connection closed first.</summary>
    public async Task<ReceivedFrame?> WaitForAsync(Func<ReceivedFrame, bool> match, int timeoutMs = 5000)
    {
        long deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            int left = (int)Math.Max(1, deadline - Environment.TickCount64);
            ReceivedFrame? f = await TryReadFrameAsync(left);
            if (f is null) return null;
            if (f.Type == Http2FrameType.WINDOW_UPDATE) OnWindowUpdate(f);
            if (match(f)) return f;
            Skipped.Enqueue(f);
        }
    }

    /// <summary>True when no frame matching <paramref name="match"/> arrives within <paramref name="ms"/> (others are skipped).</summary>
    public async Task<bool> NothingWithinAsync(Func<ReceivedFrame, bool> match, int ms)
    {
        try
        {
            return await WaitForAsync(match, ms) is null && false;
        }
        catch (TimeoutException)
        {
            return true;
        }
    }

    /// <summary>Reads until GOAWAY and returns its error code; fails if the connection closes without one.</summary>
    public async Task<Http2ErrorCode> ExpectGoAwayAsync(int timeoutMs = 5000)
    {
        ReceivedFrame? f = await WaitForAsync(f => f.Type == Http2FrameType.GOAWAY, timeoutMs);
        Assert.True(f is not null, "expected GOAWAY, the connection closed without one");
        return f.ErrorCode;
    }

    public async Task ExpectConnectionErrorAsync(Http2ErrorCode code, int timeoutMs = 5000)
    {
        Assert.Equal(code, await ExpectGoAwayAsync(timeoutMs));
        // Then the server closes: after lingering up to 2 s for the peer's last frames, so allow for that and for a
        // CI machine running both test projects at once.
        Assert.Null(await WaitForAsync(_ => false, timeoutMs + 5000));
    }

    public async Task ExpectStreamErrorAsync(uint streamId, Http2ErrorCode code, int timeoutMs = 5000)
    {
        ReceivedFrame? f = await WaitForAsync(f => (f.Type == Http2FrameType.RST_STREAM && f.StreamId == streamId) || f.Type == Http2FrameType.GOAWAY, timeoutMs);
        Assert.True(f is not null, "expected RST_STREAM, the connection closed");
        Assert.Equal(Http2FrameType.RST_STREAM, f.Type);
        Assert.Equal(code, f.ErrorCode);
    }

    /// <summary>Reads one stream's response to its end (END_STREAM or RST_STREAM), answering nothing else.</summary>
    public async Task<ReceivedResponse> ReadResponseAsync(uint streamId, int timeoutMs = 5000, bool sendWindowUpdates = true)
    {
        var response = new ReceivedResponse();
        bool headersDone = false;
        while (true)
        {
            ReceivedFrame? f = await WaitForAsync(f => f.StreamId == streamId || f.Type == Http2FrameType.GOAWAY, timeoutMs);
            if (f is null || f.Type == Http2FrameType.GOAWAY) throw new InvalidOperationException("connection ended before the response did: " + (f?.ToString() ?? "closed"));
            switch (f.Type)
            {
                case Http2FrameType.HEADERS:
                    (headersDone ? response.Trailers : response.Headers).AddRange(f.Fields);
                    headersDone = true;
                    break;
                case Http2FrameType.DATA:
                    response.Body.Write(f.Payload);
                    if (sendWindowUpdates && f.Payload.Length > 0)
                    {
                        await SendAsync(w =>
                        {
                            Http2FrameWriter.WriteWindowUpdate(w, 0, (uint)f.Payload.Length);
                            if (!f.EndStream) Http2FrameWriter.WriteWindowUpdate(w, streamId, (uint)f.Payload.Length);
                        });
                    }
                    break;
                case Http2FrameType.RST_STREAM:
                    response.Reset = f.ErrorCode;
                    return response;
            }
            if (f.EndStream) return response;
        }
    }

    private readonly struct CollectingHandler(List<(string, string)> list) : IHPackHeaderHandler
    {
        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) =>
            list.Add((System.Text.Encoding.ASCII.GetString(name), System.Text.Encoding.ASCII.GetString(value)));
    }

    public void Abort() => _socket.Close(0);

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
    }
}
