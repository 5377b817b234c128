// One active health probe on its own socket (over TLS when the cluster originates TLS), never a pooled request connection (a probe must not queue behind
// traffic, and traffic must not reuse a probe's connection). TCP: a completed connect is healthy. HTTP/1.1: a minimal
// GET with Connection: close whose status line is parsed here (a status line is all a check needs). HTTP/2 (Envoy's
// codec_client_type HTTP2, for origins that speak only h2c or h2): preface, SETTINGS and one GET stream, read with the
// engine's frame reader and HPACK decoder until the response head. gRPC (Envoy's grpc_health_check): the same over
// HTTP/2 with one grpc.health.v1.Health/Check call; healthy when it ends with grpc-status 0 and the reply says SERVING.
using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastPath.Config;
using FastPath.Grpc;
using FastPath.Http2;
using FastPath.Http2.Frames;
using FastPath.Http2.HPack;
using FastPath.Tls;

namespace FastPath.Upstream.Health;

internal sealed class HealthProbe
{
    // A status line longer than this is not an HTTP/1 origin worth calling healthy.
    private const int MaxStatusLine = 512;

    // Frames past this (the default SETTINGS_MAX_FRAME_SIZE plus its header) are a protocol error from the origin.
    private const int MaxFrameBytes = 9 + (int)Http2Settings.MinMaxFrameSize;

    // The gRPC health reply is a few octets; more than this in DATA is not a health service.
    private const int MaxGrpcReply = 1024;
    private static readonly byte[] GrpcCheckPath = "/grpc.health.v1.Health/Check"u8.ToArray();

    private readonly HttpHealthCheckConfig? _http;
    private readonly bool _grpc;
    private readonly byte[]? _request;
    private readonly byte[]? _secureRequest; // HTTP/2 over TLS: :scheme https
    private readonly bool _http2;

    /// <param name="http2">Probe with HTTP/2 (<see cref="HttpHealthCheckConfig.Codec"/> resolved against the cluster's protocol).</param>
    public HealthProbe(HealthCheckConfig config, string clusterName, bool http2 = false)
    {
        _http = config.Http;
        if (config.Grpc is { } grpc)
        {
            // grpc.health.v1.HealthCheckRequest { string service = 1; } in one length-prefixed, uncompressed message.
            byte[] service = Encoding.UTF8.GetBytes(grpc.ServiceName);
            byte[] message = service.Length == 0 ? [] : [0x0A, .. Varint(service.Length), .. service];
            byte[] body = new byte[5 + message.Length]; // uncompressed flag 0, big-endian length, the message
            BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(1), message.Length);
            message.CopyTo(body, 5);
            string authority = grpc.Authority ?? clusterName;
            _grpc = _http2 = true;
            _request = Http2Request("POST"u8, GrpcCheckPath, authority, secure: false, body);
            _secureRequest = Http2Request("POST"u8, GrpcCheckPath, authority, secure: true, body);
            return;
        }
        if (_http is null) return;
        // Path and host were checked to be visible ASCII when the config loaded.
        string host = _http.Host ?? clusterName;
        _http2 = http2;
        if (http2)
        {
            byte[] path = Encoding.ASCII.GetBytes(_http.Path);
            _request = Http2Request("GET"u8, path, host, secure: false, body: null);
            _secureRequest = Http2Request("GET"u8, path, host, secure: true, body: null);
            return;
        }
        _request = _secureRequest = Encoding.ASCII.GetBytes(
            $"GET {_http.Path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: FastPath-HealthChecker\r\nConnection: close\r\n\r\n");
    }

    public bool IsHttp2 => _http2;

    /// <summary>The client preface, SETTINGS (no push) and stream 1: the request, and its body (gRPC) if any.</summary>
    private static byte[] Http2Request(ReadOnlySpan<byte> method, ReadOnlySpan<byte> path, string host, bool secure, byte[]? body)
    {
        var output = new ArrayBufferWriter<byte>(256);
        output.Write(Http2ConnectionPreface.ClientPreface);
        Http2FrameWriter.WriteSettings(output, [new Http2Setting(Http2SettingsParameter.SETTINGS_ENABLE_PUSH, 0)]);
        var block = new ArrayBufferWriter<byte>(128);
        var encoder = new HPackEncoder();
        encoder.BeginBlock(block);
        encoder.Encode(":method"u8, method, block);
        encoder.Encode(":scheme"u8, secure ? "https"u8 : "http"u8, block);
        encoder.Encode(":path"u8, path, block);
        encoder.Encode(":authority"u8, Encoding.ASCII.GetBytes(host), block);
        if (body is not null)
        {
            encoder.Encode("content-type"u8, GrpcProtocol.ContentType, block);
            encoder.Encode("te"u8, "trailers"u8, block);
        }
        encoder.Encode("user-agent"u8, "FastPath-HealthChecker"u8, block);
        Http2FrameWriter.WriteHeaders(output, 1, block.WrittenSpan, endStream: body is null, (int)Http2Settings.MinMaxFrameSize);
        if (body is not null) Http2FrameWriter.WriteData(output, 1, body, endStream: true, (int)Http2Settings.MinMaxFrameSize);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] Varint(int value)
    {
        var bytes = new List<byte>(5);
        for (; value >= 0x80; value >>= 7) bytes.Add((byte)(value | 0x80));
        bytes.Add((byte)value);
        return [.. bytes];
    }

    /// <summary>Null when healthy, else a short reason for the log ("connect failed: ConnectionRefused", "status 503").</summary>
    /// <param name="tls">The cluster's origination settings: an HTTP probe goes over TLS like the traffic (a TCP probe
    /// stays a connect). <paramref name="host"/> is the endpoint's host, the SNI default.</param>
    public async Task<string?> ProbeAsync(IPEndPoint address, TimeSpan timeout, CancellationToken stopping, UpstreamTlsContext? tls = null,
        string? host = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        cts.CancelAfter(timeout);
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(address, cts.Token).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            return $"connect failed: {e.SocketErrorCode}";
        }
        catch (OperationCanceledException)
        {
            return "connect timed out";
        }
        if (_request is null) return null;

        Stream? stream = null;
        try
        {
            stream = new NetworkStream(socket, ownsSocket: false);
            if (tls is not null)
                stream = await tls.AuthenticateStreamAsync(stream, host ?? address.Address.ToString(), cts.Token, _http2).ConfigureAwait(false);
            await stream.WriteAsync(tls is null ? _request : _secureRequest!, cts.Token).ConfigureAwait(false);
            if (_http2) return await ReadHttp2ResponseAsync(stream, cts.Token).ConfigureAwait(false);
            byte[] buffer = new byte[MaxStatusLine];
            int length = 0;
            while (true)
            {
                int n = await stream.ReadAsync(buffer.AsMemory(length), cts.Token).ConfigureAwait(false);
                if (n == 0) return "closed before a status line";
                length += n;
                int status = ParseStatusLine(buffer.AsSpan(0, length));
                if (status > 0) return _http!.Expects(status) ? null : $"status {status}";
                if (status < 0 || length == buffer.Length) return "invalid status line";
            }
        }
        catch (SocketException e)
        {
            return $"connection failed: {e.SocketErrorCode}";
        }
        catch (IOException e)
        {
            return e.InnerException is SocketException se ? $"connection failed: {se.SocketErrorCode}" : e.Message;
        }
        catch (OperationCanceledException)
        {
            return "timed out";
        }
        finally
        {
            if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads frames until stream 1's final response head; acknowledges the origin's SETTINGS on the way.</summary>
    private async Task<string?> ReadHttp2ResponseAsync(Stream stream, CancellationToken cancel)
    {
        Http2FrameReader frames = Http2FrameReader.ForClient(enablePush: false);
        var decoder = new HPackDecoder();
        var head = new StatusHandler { GrpcStatus = -1 };
        var reply = new GrpcReply();
        byte[] buffer = new byte[2 * MaxFrameBytes];
        int length = 0;
        while (true)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(length), cancel).ConfigureAwait(false);
            if (n == 0) return "closed before a response";
            length += n;
            string? result = ReadFrames(buffer.AsMemory(0, length), ref frames, decoder, ref head, ref reply, out int consumed, out bool done, out bool ackSettings);
            if (done) return result;
            if (ackSettings)
            {
                var ack = new ArrayBufferWriter<byte>(9);
                Http2FrameWriter.WriteSettingsAck(ack);
                await stream.WriteAsync(ack.WrittenMemory, cancel).ConfigureAwait(false);
            }
            buffer.AsSpan(consumed, length - consumed).CopyTo(buffer);
            length -= consumed;
            if (length == buffer.Length) return "HTTP/2 frame too large";
        }
    }

    /// <summary>The complete frames in <paramref name="data"/>: done with the check's outcome once stream 1's final
    /// head (or its end) is read, else how much was consumed and whether the origin's SETTINGS need an ACK.</summary>
    private string? ReadFrames(ReadOnlyMemory<byte> data, ref Http2FrameReader frames, HPackDecoder decoder, ref StatusHandler head,
        ref GrpcReply reply, out int consumed, out bool done, out bool ackSettings)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(data));
        consumed = 0;
        done = true;
        ackSettings = false;
        while (true)
        {
            Http2FrameReadStatus status = frames.TryReadFrame(ref reader, out Http2Frame frame, out Http2FrameError error);
            if (status == Http2FrameReadStatus.Incomplete) break;
            if (status != Http2FrameReadStatus.Frame) return $"HTTP/2 protocol error: {error.Code}";
            switch (frame.Type)
            {
                case Http2FrameType.SETTINGS when !frame.IsAck:
                    ackSettings = true;
                    break;
                case Http2FrameType.GOAWAY:
                    return $"GOAWAY {frame.ErrorCode}";
                case Http2FrameType.RST_STREAM when frame.StreamId == 1:
                    return $"stream reset: {frame.ErrorCode}";
                case Http2FrameType.DATA when frame.StreamId == 1 && _grpc:
                    if (!reply.Append(frame.Payload)) return "gRPC health reply too large";
                    if (frame.EndStream) return "gRPC health call ended without trailers";
                    break;
                case Http2FrameType.HEADERS when frame.StreamId == 1 && _grpc:
                case Http2FrameType.CONTINUATION when frame.StreamId == 1 && _grpc:
                    if (frame.Type == Http2FrameType.HEADERS) reply.EndStream = frame.EndStream;
                    if (decoder.Decode(frame.Payload.FirstSpan, frame.EndHeaders, ref head) is not (HPackError.None or HPackError.HeaderListTooLarge))
                        return "HTTP/2 response head does not decode";
                    if (!frame.EndHeaders) break;
                    if (head.Status is > 0 and < 200 && !reply.EndStream)
                    {
                        head.Status = 0; // 1xx: the final head follows
                        break;
                    }
                    if (head.Status != 200) return head.Status <= 0 ? "HTTP/2 response without :status" : $"status {head.Status}";
                    if (!reply.EndStream) break; // the head; the reply and trailers follow
                    // Trailers (or a trailers-only reply): the call's outcome.
                    if (head.GrpcStatus != 0) return head.GrpcStatus < 0 ? "gRPC health call without grpc-status" : $"grpc-status {head.GrpcStatus}";
                    return reply.ServingStatus() switch
                    {
                        1 => null,
                        -1 => "gRPC health reply does not decode",
                        int other => $"health status {other switch { 0 => "UNKNOWN", 2 => "NOT_SERVING", 3 => "SERVICE_UNKNOWN", _ => other.ToString(System.Globalization.CultureInfo.InvariantCulture) }}",
                    };
                case Http2FrameType.HEADERS or Http2FrameType.CONTINUATION when frame.StreamId == 1:
                    if (decoder.Decode(frame.Payload.FirstSpan, frame.EndHeaders, ref head) is not (HPackError.None or HPackError.HeaderListTooLarge))
                        return "HTTP/2 response head does not decode";
                    if (!frame.EndHeaders) break;
                    if (head.Status >= 200) return _http!.Expects(head.Status) ? null : $"status {head.Status}";
                    if (head.Status <= 0) return "HTTP/2 response without :status";
                    head.Status = 0; // 1xx: the final head follows
                    break;
            }
        }
        consumed = (int)reader.Consumed;
        done = false;
        return null;
    }

    /// <summary>Takes :status (and grpc-status, in a gRPC call's trailers or trailers-only head) from decoded fields.</summary>
    private struct StatusHandler : IHPackHeaderHandler
    {
        public int Status;
        public int GrpcStatus;

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed)
        {
            if (name.SequenceEqual(":status"u8))
                Status = Http2RequestHeaderHandler.TryParseStatus(value, out int status) ? status : -1;
            else if (name.SequenceEqual(GrpcProtocol.StatusName))
                GrpcStatus = GrpcProtocol.TryParseStatus(value, out int code) ? code : int.MaxValue;
        }
    }

    /// <summary>The gRPC health reply's DATA, then grpc.health.v1.HealthCheckResponse { ServingStatus status = 1; }.</summary>
    private struct GrpcReply
    {
        private byte[]? _data;
        private int _length;
        public bool EndStream;

        public bool Append(in ReadOnlySequence<byte> payload)
        {
            if (_length + payload.Length > MaxGrpcReply) return false;
            _data ??= new byte[MaxGrpcReply];
            payload.CopyTo(_data.AsSpan(_length));
            _length += (int)payload.Length;
            return true;
        }

        /// <summary>The status field (SERVING is 1; absent is 0, UNKNOWN), or -1 when the reply is not one message.</summary>
        public readonly int ServingStatus()
        {
            ReadOnlySpan<byte> data = _data.AsSpan(0, _length);
            if (data.Length < 5 || data[0] != 0) return -1; // one uncompressed, length-prefixed message
            int length = (data[1] << 24) | (data[2] << 16) | (data[3] << 8) | data[4];
            if (length != data.Length - 5) return -1;
            ReadOnlySpan<byte> message = data[5..];
            int status = 0;
            while (!message.IsEmpty)
            {
                int tag = message[0];
                if (tag == 0x08 && message.Length >= 2 && message[1] < 0x80)
                {
                    status = message[1];
                    message = message[2..];
                    continue;
                }
                return -1; // the response has only field 1, a small enum
            }
            return status;
        }
    }

    /// <summary>
    /// The status code of "HTTP/1.x NNN reason\r\n" (RFC 9112 section 4); 0 while the line is incomplete, -1 when the
    /// bytes cannot be one.
    /// </summary>
    internal static int ParseStatusLine(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> prefix = "HTTP/1."u8;
        int check = Math.Min(data.Length, prefix.Length);
        if (!data[..check].SequenceEqual(prefix[..check])) return -1;
        if (data.Length < 12) return data.IndexOf((byte)'\n') >= 0 ? -1 : 0;
        if (!char.IsAsciiDigit((char)data[7]) || data[8] != (byte)' ') return -1;
        int code = 0;
        for (int i = 9; i < 12; i++)
        {
            if (!char.IsAsciiDigit((char)data[i])) return -1;
            code = code * 10 + (data[i] - '0');
        }
        if (code < 100) return -1;
        if (data.Length > 12 && data[12] != (byte)' ' && data[12] != (byte)'\r') return -1;
        // Only a complete line counts, so a status is never taken from a truncated read.
        return data.IndexOf((byte)'\n') >= 0 ? code : 0;
    }
}
