// The HTTP/1.1 response-head case table: status line, fields, and the framing decided together with the method of
// the request the response answers (RFC 9112 §6.3).
using FastPath.Http;

namespace FastPath.Core.Tests.Http1;

internal sealed record ValidResponseCase(string Name, string Input)
{
    public HttpMethod RequestMethod { get; init; } = HttpMethod.Get;
    public int Status { get; init; } = 200;
    public string Reason { get; init; } = "OK";
    public HttpVersion Version { get; init; } = HttpVersion.Http11;
    public BodyFraming Framing { get; init; }
    public long ContentLength { get; init; } = -1;
    public bool KeepAlive { get; init; } = true;
    public int HeadLength => Input.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
    /// <summary>Every field, in order, as "Name: value" with " (skip)" when it is not forwarded.</summary>
    public string[]? Fields { get; init; }

    public override string ToString() => Name;
}

internal sealed record InvalidResponseCase(string Name, string Input, RequestRejectionReason Reason)
{
    public HttpMethod RequestMethod { get; init; } = HttpMethod.Get;

    public override string ToString() => Name;
}

internal static class Http1ResponseCases
{
    public static readonly IReadOnlyList<ValidResponseCase> Valid =
    [
        new("200 with Content-Length", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
        {
            Framing = BodyFraming.ContentLength, ContentLength = 5,
            Fields = ["Content-Type: text/plain", "Content-Length: 5 (skip)"],
        },
        new("200 chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        {
            Framing = BodyFraming.Chunked, Fields = ["Transfer-Encoding: chunked (skip)"],
        },
        new("200 with neither length nor chunked", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>")
        {
            Framing = BodyFraming.UntilClose, KeepAlive = false,
        },
        new("200 with a non-chunked coding reads until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n")
        {
            Framing = BodyFraming.UntilClose, KeepAlive = false,
        },
        new("HEAD response with Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
        {
            RequestMethod = HttpMethod.Head, Framing = BodyFraming.None, ContentLength = 1234,
            Fields = ["Content-Length: 1234"], // metadata about the GET body: forwarded as is
        },
        new("204 No Content", "HTTP/1.1 204 No Content\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n")
        {
            Status = 204, Reason = "No Content", Framing = BodyFraming.None,
        },
        new("304 Not Modified with Content-Length", "HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\nContent-Length: 100\r\n\r\n")
        {
            Status = 304, Reason = "Not Modified", Framing = BodyFraming.None, ContentLength = 100,
            Fields = ["ETag: \"abc\"", "Content-Length: 100"],
        },
        new("100 Continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
        {
            Status = 100, Reason = "Continue", Framing = BodyFraming.None,
        },
        new("101 Switching Protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        {
            Status = 101, Reason = "Switching Protocols", Framing = BodyFraming.None,
            Fields = ["Upgrade: websocket (skip)", "Connection: Upgrade (skip)"],
        },
        new("Connection close", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        {
            Framing = BodyFraming.ContentLength, ContentLength = 2, KeepAlive = false,
        },
        new("Connection names a field", "HTTP/1.1 200 OK\r\nConnection: X-Internal\r\nX-Internal: 1\r\nContent-Length: 0\r\n\r\n")
        {
            Framing = BodyFraming.ContentLength, ContentLength = 0,
            Fields = ["Connection: X-Internal (skip)", "X-Internal: 1 (skip)", "Content-Length: 0 (skip)"],
        },
        new("HTTP/1.0 response", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        {
            Version = HttpVersion.Http10, Framing = BodyFraming.ContentLength, ContentLength = 2, KeepAlive = false,
        },
        new("HTTP/1.0 response with keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n")
        {
            Version = HttpVersion.Http10, Framing = BodyFraming.ContentLength, ContentLength = 2, KeepAlive = true,
        },
        new("HTTP/1.0 response until close", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n")
        {
            Version = HttpVersion.Http10, Framing = BodyFraming.UntilClose, KeepAlive = false,
        },
        new("status line without reason", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n")
        {
            Status = 404, Reason = "", Framing = BodyFraming.ContentLength, ContentLength = 0,
        },
        new("status line with empty reason", "HTTP/1.1 503 \r\nContent-Length: 0\r\n\r\n")
        {
            Status = 503, Reason = "", Framing = BodyFraming.ContentLength, ContentLength = 0,
        },
        new("reason with spaces and obs-text", "HTTP/1.1 200 Tr\u00e8s Bien Merci\r\nContent-Length: 0\r\n\r\n")
        {
            Reason = "Tr\u00e8s Bien Merci", Framing = BodyFraming.ContentLength, ContentLength = 0,
        },
        new("duplicate identical Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n")
        {
            Framing = BodyFraming.ContentLength, ContentLength = 3,
            Fields = ["Content-Length: 3 (skip)", "Content-Length: 3 (skip)"],
        },
    ];

    public static readonly IReadOnlyList<InvalidResponseCase> Invalid =
    [
        new("Content-Length with Transfer-Encoding",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            RequestRejectionReason.ContentLengthWithTransferEncoding),
        new("Content-Length with Transfer-Encoding on a HEAD response",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            RequestRejectionReason.ContentLengthWithTransferEncoding) { RequestMethod = HttpMethod.Head },
        new("differing duplicate Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            RequestRejectionReason.InvalidContentLength),
        new("Content-Length not numeric", "HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n",
            RequestRejectionReason.InvalidContentLength),
        new("gzip after chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            RequestRejectionReason.UnsupportedTransferCoding),
        new("chunked after gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            RequestRejectionReason.UnsupportedTransferCoding),
        new("HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", RequestRejectionReason.UnsupportedVersion),
        new("HTTP/2", "HTTP/2 200\r\n\r\n", RequestRejectionReason.InvalidRequestLine),
        new("status not a number", "HTTP/1.1 2x0 OK\r\n\r\n", RequestRejectionReason.InvalidRequestLine),
        new("status below 100", "HTTP/1.1 099 Odd\r\n\r\n", RequestRejectionReason.InvalidRequestLine),
        new("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", RequestRejectionReason.InvalidRequestLine),
        new("control byte in reason", "HTTP/1.1 200 O\u0001K\r\n\r\n", RequestRejectionReason.InvalidRequestLine),
        new("not HTTP", "SSH-2.0-OpenSSH_9.6\r\n\r\n", RequestRejectionReason.InvalidRequestLine),
        new("bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", RequestRejectionReason.BareLineFeed),
        new("obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n", RequestRejectionReason.ObsoleteLineFolding),
        new("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", RequestRejectionReason.WhitespaceBeforeColon),
        new("NUL in a value", "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n", RequestRejectionReason.InvalidHeaderValue),
    ];
}
