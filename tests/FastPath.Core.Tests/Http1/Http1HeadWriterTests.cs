// Http1HeadWriter over heads parsed by the real parser: what reaches the next hop, byte for byte. Hop-by-hop fields
// never do (RFC 9110 §7.6.1); the proxy writes its own framing, Host, and forwarding fields.
using System.Buffers;
using FastPath.Core.Tests.Testing;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Core.Tests.Http1;

public class Http1HeadWriterTests
{
    private const string GeneratedId = "2f1c5e0a-7b7d-4b0e-9a51-3d1f0c2b9e77";

    [Fact]
    public void WriteRequestHead_HopByHopAndForwardingFields_RewrittenForNextHop()
    {
        HttpRequestHead head = ParseRequest(
            "POST /api/items?id=7 HTTP/1.1\r\n" +
            "Host: api.example.com\r\n" +
            "Connection: keep-alive, X-Hop\r\n" +
            "Keep-Alive: timeout=5\r\n" +
            "Proxy-Connection: keep-alive\r\n" +
            "TE: trailers\r\n" +
            "Upgrade: h2c\r\n" +
            "X-Hop: secret\r\n" +
            "Accept: application/json\r\n" +
            "X-Forwarded-For: 203.0.113.7\r\n" +
            "X-Forwarded-Proto: https\r\n" +
            "X-Request-Id: req-123\r\n" +
            "Content-Length: 2\r\n" +
            "\r\n");

        string written = WriteRequest(head, RequestIdFor(head), via: null);

        Assert.Equal(
            "POST /api/items?id=7 HTTP/1.1\r\n" +
            "host: api.example.com\r\n" +
            "Accept: application/json\r\n" +
            "x-forwarded-for: 203.0.113.7, 192.0.2.10\r\n" +
            "x-forwarded-proto: http\r\n" +
            "x-request-id: req-123\r\n" +
            "content-length: 2\r\n" +
            "\r\n", written);
    }

    [Fact]
    public void WriteRequestHead_SeveralForwardedForFields_JoinedInOrderThenClient()
    {
        HttpRequestHead head = ParseRequest(
            "GET / HTTP/1.1\r\nX-Forwarded-For: 198.51.100.1\r\nHost: example.com\r\nX-Forwarded-For: 198.51.100.2, 198.51.100.3\r\n\r\n");

        string written = WriteRequest(head, RequestIdFor(head), via: null);

        Assert.Contains("\r\nx-forwarded-for: 198.51.100.1, 198.51.100.2, 198.51.100.3, 192.0.2.10\r\n", written, StringComparison.Ordinal);
        Assert.Equal(1, Occurrences(written, "forwarded-for"));
    }

    [Fact]
    public void WriteRequestHead_NoForwardedFor_ClientAddressOnly()
    {
        HttpRequestHead head = ParseRequest("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");

        string written = WriteRequest(head, RequestIdFor(head), via: "1.1 fastpath");

        Assert.Equal(
            "GET / HTTP/1.1\r\n" +
            "host: example.com\r\n" +
            "x-forwarded-for: 192.0.2.10\r\n" +
            "x-forwarded-proto: http\r\n" +
            $"x-request-id: {GeneratedId}\r\n" +
            "via: 1.1 fastpath\r\n" +
            "\r\n", written);
    }

    [Theory]
    [InlineData("X-Request-Id: abc-123\r\n", "abc-123")]
    [InlineData("", GeneratedId)]
    [InlineData("X-Request-Id: has space\r\n", GeneratedId)]
    public void WriteRequestHead_RequestId_KeptWhenValidElseReplaced(string field, string expected)
    {
        HttpRequestHead head = ParseRequest($"GET / HTTP/1.1\r\nHost: example.com\r\n{field}\r\n");

        string written = WriteRequest(head, RequestIdFor(head), via: null);

        Assert.Contains($"\r\nx-request-id: {expected}\r\n", written, StringComparison.Ordinal);
        Assert.Equal(1, Occurrences(written, "request-id"));
    }

    [Fact]
    public void WriteRequestHead_AbsoluteFormWithHost_HostWrittenOnceFromTarget()
    {
        HttpRequestHead head = ParseRequest("GET http://origin.example:8080/p?q HTTP/1.1\r\nHost: other.example\r\nAccept: */*\r\n\r\n");

        string written = WriteRequest(head, RequestIdFor(head), via: null);

        Assert.StartsWith("GET /p?q HTTP/1.1\r\nhost: origin.example:8080\r\nAccept: */*\r\n", written, StringComparison.Ordinal);
        Assert.Equal(1, Occurrences(written, "host:"));
    }

    [Fact]
    public void WriteRequestHead_Http10WithoutHost_FallbackHostAndHttp11()
    {
        HttpRequestHead head = ParseRequest("GET /old HTTP/1.0\r\n\r\n");

        string written = WriteRequest(head, RequestIdFor(head), via: null, fallbackHost: "10.1.2.3:9000");

        Assert.StartsWith("GET /old HTTP/1.1\r\nhost: 10.1.2.3:9000\r\n", written, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequestHead_ChunkedRequest_OwnTransferEncodingOnly()
    {
        HttpRequestHead head = ParseRequest("POST /up HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: CHUNKED\r\nExpect: 100-continue\r\n\r\n");

        string written = WriteRequest(head, RequestIdFor(head), via: null);

        Assert.EndsWith("\r\ntransfer-encoding: chunked\r\n\r\n", written, StringComparison.Ordinal);
        Assert.Equal(1, Occurrences(written.ToLowerInvariant(), "transfer-encoding"));
        Assert.DoesNotContain("CHUNKED", written, StringComparison.Ordinal);
        Assert.DoesNotContain("Expect", written, StringComparison.OrdinalIgnoreCase); // answered by the proxy
    }

    [Fact]
    public void WriteRequestHead_DuplicateContentLength_OneNormalisedField()
    {
        HttpRequestHead head = ParseRequest("PUT /x HTTP/1.1\r\nHost: example.com\r\nContent-Length: 007\r\nContent-Length: 7\r\n\r\n");

        string written = WriteRequest(head, RequestIdFor(head), via: null);

        Assert.EndsWith("\r\ncontent-length: 7\r\n\r\n", written, StringComparison.Ordinal);
        Assert.Equal(1, Occurrences(written.ToLowerInvariant(), "content-length"));
    }

    [Fact]
    public void WriteRequestHead_WebSocketUpgrade_ConnectionAndUpgradeWrittenByProxy()
    {
        HttpRequestHead head = ParseRequest(
            "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");

        string written = WriteRequest(head, RequestIdFor(head), via: null);

        Assert.Equal(
            "GET /chat HTTP/1.1\r\n" +
            "host: example.com\r\n" +
            "Sec-WebSocket-Version: 13\r\n" +
            "x-forwarded-for: 192.0.2.10\r\n" +
            "x-forwarded-proto: http\r\n" +
            $"x-request-id: {GeneratedId}\r\n" +
            "connection: upgrade\r\n" +
            "upgrade: websocket\r\n" +
            "\r\n", written);
    }

    [Fact]
    public void WriteRequestHead_TypicalBrowserRequest_RoundTripsThroughParser()
    {
        HttpRequestHead head = ParseRequest(Http1RequestCases.BrowserGet);
        string written = WriteRequest(head, RequestIdFor(head), via: null);

        // What the upstream sees parses cleanly, with every end-to-end field and nothing hop-by-hop.
        var upstream = new HttpRequestHead();
        Assert.Equal(Http1ParseResult.Complete,
            HeadParseDriver.ParseRequest(SegmentedInput.Create(Bytes.Of(written), []), upstream).Result);
        Assert.Equal(Bytes.Text(head.Path), Bytes.Text(upstream.Path));
        Assert.Equal("www.example.com", Bytes.Text(upstream.Authority));
        Assert.Equal(-1, upstream.Headers.IndexOf(KnownHeader.Connection));
        Assert.Equal(11 + 3, upstream.Headers.Count); // 12 fields less Connection, plus xff, xfp, x-request-id
    }

    [Fact]
    public void WriteResponseHead_Chunked_FramingAndConnectionClose()
    {
        HttpResponseHead head = ParseResponse(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n");

        string written = WriteResponse(head, BodyFraming.Chunked, "close");

        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n", written);
    }

    [Fact]
    public void WriteResponseHead_ContentLength_OneNormalisedField()
    {
        HttpResponseHead head = ParseResponse("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nServer: origin\r\n\r\n");

        string written = WriteResponse(head, BodyFraming.ContentLength, "");

        Assert.Equal("HTTP/1.1 404 Not Found\r\nServer: origin\r\ncontent-length: 9\r\n\r\n", written);
    }

    [Fact]
    public void WriteResponseHead_ChunkedUpstreamToHttp10Client_NoFramingAndClose()
    {
        HttpResponseHead head = ParseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n");

        string written = WriteResponse(head, BodyFraming.UntilClose, "close");

        Assert.Equal("HTTP/1.1 200 OK\r\nX-A: 1\r\nconnection: close\r\n\r\n", written);
    }

    [Fact]
    public void WriteResponseHead_HeadResponse_ContentLengthForwardedAsIs()
    {
        HttpResponseHead head = ParseResponse("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", HttpMethod.Head);

        string written = WriteResponse(head, BodyFraming.None, "keep-alive");

        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nconnection: keep-alive\r\n\r\n", written);
    }

    [Fact]
    public void WriteResponseHead_SwitchingProtocols_UpgradeKept()
    {
        HttpResponseHead head = ParseResponse(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");

        var writer = new ArrayBufferWriter<byte>();
        Http1HeadWriter.WriteResponseHead(writer, head, BodyFraming.None, "upgrade"u8, switchingProtocols: true);

        Assert.Equal(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
            "connection: upgrade\r\n\r\n", Bytes.Text(writer.WrittenSpan));
    }

    [Fact]
    public void WriteLocalResponse_HeadOnly_LengthOfBodyWithoutBody()
    {
        var writer = new ArrayBufferWriter<byte>();
        Http1HeadWriter.WriteLocalResponse(writer, 503, "Service Unavailable"u8, "text/plain"u8, "no healthy upstream\n"u8, close: true, headOnly: true);

        Assert.Equal("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 20\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n",
            Bytes.Text(writer.WrittenSpan));
    }

    [Fact]
    public void WriteLastChunk_Trailers_SkippedFieldsLeftOut()
    {
        var trailers = new HttpHeaderBlock();
        trailers.Add("X-Sum"u8, "1"u8, KnownHeader.None);
        trailers.Add("Content-Length"u8, "5"u8, KnownHeader.ContentLength).Skip = true;
        var writer = new ArrayBufferWriter<byte>();

        Http1HeadWriter.WriteChunkHeader(writer, 0x1f);
        Http1HeadWriter.WriteLastChunk(writer, trailers);

        Assert.Equal("1f\r\n0\r\nX-Sum: 1\r\n\r\n", Bytes.Text(writer.WrittenSpan));
    }

    internal static HttpRequestHead ParseRequest(string text)
    {
        var head = new HttpRequestHead();
        HeadOutcome outcome = HeadParseDriver.ParseRequest(SegmentedInput.Create(Bytes.Of(text), []), head);
        Assert.Equal(Http1ParseResult.Complete, outcome.Result);
        return head;
    }

    private static HttpResponseHead ParseResponse(string text, HttpMethod method = HttpMethod.Get)
    {
        var head = new HttpResponseHead();
        HeadOutcome outcome = HeadParseDriver.ParseResponse(SegmentedInput.Create(Bytes.Of(text), []), head, method);
        Assert.Equal(Http1ParseResult.Complete, outcome.Result);
        return head;
    }

    /// <summary>What the connection manager passes: the request's own x-request-id when usable, else a fresh one.</summary>
    private static string RequestIdFor(HttpRequestHead head) =>
        head.RequestIdIndex >= 0 ? Bytes.Text(head.Headers.Value(head.Headers[head.RequestIdIndex])) : GeneratedId;

    private static string WriteRequest(HttpRequestHead head, string requestId, string? via, string fallbackHost = "10.0.0.1:8080")
    {
        var writer = new ArrayBufferWriter<byte>();
        var fwd = new ForwardedFields
        {
            ClientAddress = "192.0.2.10"u8,
            Scheme = "http"u8,
            RequestId = Bytes.Of(requestId),
            Via = via is null ? default : Bytes.Of(via),
            FallbackHost = Bytes.Of(fallbackHost),
        };
        Http1HeadWriter.WriteRequestHead(writer, head, head.Framing, in fwd);
        return Bytes.Text(writer.WrittenSpan);
    }

    private static string WriteResponse(HttpResponseHead head, BodyFraming framing, string connection)
    {
        var writer = new ArrayBufferWriter<byte>();
        Http1HeadWriter.WriteResponseHead(writer, head, framing, Bytes.Of(connection), switchingProtocols: false);
        return Bytes.Text(writer.WrittenSpan);
    }

    private static int Occurrences(string s, string part)
    {
        int n = 0;
        for (int at = s.IndexOf(part, StringComparison.OrdinalIgnoreCase); at >= 0; at = s.IndexOf(part, at + 1, StringComparison.OrdinalIgnoreCase)) n++;
        return n;
    }
}
