// The HTTP/1.1 request-head case table (valid, incomplete, invalid), shared by every test that parses requests.
// Kestrel's HttpParsingData is the model: each case is data, and each runs whole, split at every index and one byte
// per segment. Inputs are Latin-1 strings so obs-text and control bytes are exact.
using System.Text;
using FastPath.Http;

namespace FastPath.Core.Tests.Http1;

/// <summary>A request head that must parse, with what it must parse to.</summary>
internal sealed record ValidRequestCase(string Name, string Input)
{
    public HttpMethod Method { get; init; } = HttpMethod.Get;
    public string? MethodText { get; init; }
    public string Path { get; init; } = "/";
    /// <summary>Null when the request carries no authority (HTTP/1.0 without Host).</summary>
    public string? Authority { get; init; } = "example.com";
    public HttpVersion Version { get; init; } = HttpVersion.Http11;
    public BodyFraming Framing { get; init; } = BodyFraming.None;
    public long ContentLength { get; init; } = -1;
    public bool KeepAlive { get; init; } = true;
    public bool IsUpgrade { get; init; }
    public bool ExpectContinue { get; init; }
    /// <summary>Bytes the head occupies; what follows (body, next request) must stay unconsumed. Null: the whole input.</summary>
    public int? HeadLength { get; init; }
    public int? FieldCount { get; init; }
    /// <summary>Fields that must be present, in this order among themselves, with these values and Skip flags.</summary>
    public (string Name, string Value, bool Skip)[] Fields { get; init; } = [];

    public override string ToString() => Name;
}

/// <summary>A request head that must be refused, with the reason.</summary>
internal sealed record InvalidRequestCase(string Name, string Input, RequestRejectionReason Reason)
{
    public override string ToString() => Name;
}

internal static class Http1RequestCases
{
    /// <summary>A ~500-byte browser navigation with 12 fields: the typical head (also used by the allocation tests).</summary>
    public const string BrowserGet =
        "GET /docs/index.html?lang=en HTTP/1.1\r\n" +
        "Host: www.example.com\r\n" +
        "Connection: keep-alive\r\n" +
        "Cache-Control: max-age=0\r\n" +
        "sec-ch-ua: \"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n" +
        "sec-ch-ua-mobile: ?0\r\n" +
        "sec-ch-ua-platform: \"Linux\"\r\n" +
        "Upgrade-Insecure-Requests: 1\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36\r\n" +
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
        "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
        "Accept-Language: en-US,en;q=0.9\r\n" +
        "Cookie: session=3f9a1c7e2b54d; theme=dark\r\n" +
        "\r\n";

    private const string Simple = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";

    public static readonly IReadOnlyList<ValidRequestCase> Valid =
    [
        new("simple GET", Simple) { FieldCount = 1, Fields = [("Host", "example.com", false)] },
        new("browser GET, 12 fields", BrowserGet)
        {
            Path = "/docs/index.html?lang=en",
            Authority = "www.example.com",
            FieldCount = 12,
            Fields =
            [
                ("Host", "www.example.com", false),
                ("Connection", "keep-alive", true),
                ("sec-ch-ua", "\"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\"", false),
                ("Cookie", "session=3f9a1c7e2b54d; theme=dark", false),
            ],
        },
        new("HTTP/1.0 without Host", "GET /index.html HTTP/1.0\r\nAccept: */*\r\n\r\n")
        {
            Path = "/index.html", Authority = null, Version = HttpVersion.Http10, KeepAlive = false,
        },
        new("HTTP/1.0 with keep-alive", "GET / HTTP/1.0\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n")
        {
            Version = HttpVersion.Http10, KeepAlive = true,
        },
        new("absolute-form target overrides Host",
            "GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: other.example\r\n\r\n")
        {
            Path = "/a/b?c=d", Authority = "example.com:8080", Fields = [("Host", "other.example", false)],
        },
        new("absolute-form with query and no path", "GET https://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
        {
            Path = "/?x=1",
        },
        new("absolute-form authority only", "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n"),
        new("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n") { Method = HttpMethod.Options, Path = "*" },
        new("custom method", "PURGE /cache/item HTTP/1.1\r\nHost: example.com\r\n\r\n")
        {
            Method = HttpMethod.Custom, MethodText = "PURGE", Path = "/cache/item",
        },
        new("pipelined second request left unconsumed",
            "GET /first HTTP/1.1\r\nHost: example.com\r\n\r\nGET /second HTTP/1.1\r\nHost: example.com\r\n\r\n")
        {
            Path = "/first", HeadLength = "GET /first HTTP/1.1\r\nHost: example.com\r\n\r\n".Length,
        },
        new("leading CRLF before request line", "\r\n" + Simple),
        new("four leading CRLFs before request line", "\r\n\r\n\r\n\r\n" + Simple),
        new("obs-text and inner spaces in a value",
            "GET / HTTP/1.1\r\nHost: example.com\r\nX-Note: \t caf\u00e9  au   lait\u00ff \t\r\n\r\n")
        {
            Fields = [("X-Note", "caf\u00e9  au   lait\u00ff", false)],
        },
        new("empty field value", "GET / HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\n\r\n") { Fields = [("X-Empty", "", false)] },
        new("duplicate identical Content-Length",
            "POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello")
        {
            Method = HttpMethod.Post, Path = "/upload", Framing = BodyFraming.ContentLength, ContentLength = 5,
            HeadLength = "POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n".Length,
            Fields = [("Content-Length", "5", true), ("Content-Length", "5", true)],
        },
        new("Content-Length zero", "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n")
        {
            Method = HttpMethod.Post, Framing = BodyFraming.ContentLength, ContentLength = 0,
        },
        new("Transfer-Encoding chunked",
            "POST /items HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        {
            Method = HttpMethod.Post, Path = "/items", Framing = BodyFraming.Chunked,
            HeadLength = "POST /items HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n".Length,
            Fields = [("Transfer-Encoding", "chunked", true)],
        },
        new("Transfer-Encoding chunked in any case", "POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: ChUnKeD\r\n\r\n")
        {
            Method = HttpMethod.Post, Framing = BodyFraming.Chunked,
        },
        new("Connection close", "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
        {
            KeepAlive = false, Fields = [("Connection", "close", true)],
        },
        new("Connection keep-alive", "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n"),
        new("Connection names other fields",
            "GET / HTTP/1.1\r\nX-Trace: 1\r\nHost: example.com\r\nConnection: X-Trace, x-hop\r\nX-Hop: a\r\nX-Keep: b\r\n\r\n")
        {
            Fields = [("X-Trace", "1", true), ("Host", "example.com", false), ("Connection", "X-Trace, x-hop", true),
                      ("X-Hop", "a", true), ("X-Keep", "b", false)],
        },
        new("Connection naming Host leaves Host forwarded",
            "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: host\r\n\r\n")
        {
            Fields = [("Host", "example.com", false)],
        },
        new("hop-by-hop fields skipped",
            "GET / HTTP/1.1\r\nHost: example.com\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\n\r\n")
        {
            Fields = [("Keep-Alive", "timeout=5", true), ("Proxy-Connection", "keep-alive", true), ("TE", "trailers", true)],
        },
        new("Upgrade websocket",
            "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        {
            Path = "/chat", IsUpgrade = true, Fields = [("Upgrade", "websocket", true)],
        },
        new("Upgrade without Connection upgrade is not an upgrade",
            "GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: h2c\r\n\r\n")
        {
            IsUpgrade = false, Fields = [("Upgrade", "h2c", true)],
        },
        new("Expect 100-continue with a body",
            "PUT /files/a HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        {
            Method = HttpMethod.Put, Path = "/files/a", Framing = BodyFraming.ContentLength, ContentLength = 3,
            ExpectContinue = true, Fields = [("Expect", "100-continue", true)],
        },
        new("Expect 100-continue without a body is ignored",
            "GET / HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\n\r\n")
        {
            ExpectContinue = false,
        },
        new("x-request-id kept when valid", "GET / HTTP/1.1\r\nHost: example.com\r\nX-Request-Id: abc-123\r\n\r\n")
        {
            Fields = [("X-Request-Id", "abc-123", true)],
        },
        new("request line exactly at the limit", RequestLineOfLength(Http1LimitsDefaultStartLine) + "Host: example.com\r\n\r\n")
        {
            Path = "/" + new string('a', Http1LimitsDefaultStartLine - "GET / HTTP/1.1\r\n".Length),
        },
        new("header section exactly at the limit", "GET / HTTP/1.1\r\n" + HeaderSectionOfLength(60 * 1024) + "\r\n")
        {
            FieldCount = 62,
        },
        new("100 fields", "GET / HTTP/1.1\r\nHost: example.com\r\n" + ManyFields(99) + "\r\n") { FieldCount = 100 },
    ];

    public static readonly IReadOnlyList<InvalidRequestCase> Invalid =
    [
        new("Content-Length with Transfer-Encoding",
            "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            RequestRejectionReason.ContentLengthWithTransferEncoding),
        new("Transfer-Encoding with Content-Length",
            "POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            RequestRejectionReason.ContentLengthWithTransferEncoding),
        new("differing duplicate Content-Length",
            "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            RequestRejectionReason.ConflictingContentLength),
        new("differing Content-Length list", "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5, 6\r\n\r\n",
            RequestRejectionReason.InvalidContentLength),
        new("Content-Length not numeric", "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: five\r\n\r\n",
            RequestRejectionReason.InvalidContentLength),
        new("Content-Length negative", "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: -1\r\n\r\n",
            RequestRejectionReason.InvalidContentLength),
        new("Content-Length with sign", "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: +5\r\n\r\n",
            RequestRejectionReason.InvalidContentLength),
        new("Content-Length overflowing", "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 99999999999999999999\r\n\r\n",
            RequestRejectionReason.InvalidContentLength),
        new("Content-Length empty", "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length:\r\n\r\n",
            RequestRejectionReason.InvalidContentLength),
        new("Transfer-Encoding gzip", "POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: gzip\r\n\r\n",
            RequestRejectionReason.FinalCodingNotChunked),
        new("Transfer-Encoding chunked, gzip", "POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            RequestRejectionReason.FinalCodingNotChunked),
        new("Transfer-Encoding chunked twice across fields",
            "POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            RequestRejectionReason.FinalCodingNotChunked),
        new("Transfer-Encoding gzip, chunked", "POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            RequestRejectionReason.UnsupportedTransferCoding),
        new("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n",
            RequestRejectionReason.TransferEncodingInHttp10),
        new("obs-fold", "GET / HTTP/1.1\r\nHost: example.com\r\nX-Long: a\r\n  continued\r\n\r\n",
            RequestRejectionReason.ObsoleteLineFolding),
        new("obs-fold with tab", "GET / HTTP/1.1\r\nHost: example.com\r\nX-Long: a\r\n\tcontinued\r\n\r\n",
            RequestRejectionReason.ObsoleteLineFolding),
        new("space between name and colon", "GET / HTTP/1.1\r\nHost : example.com\r\n\r\n",
            RequestRejectionReason.WhitespaceBeforeColon),
        new("tab between name and colon", "GET / HTTP/1.1\r\nHost: example.com\r\nX-A\t: b\r\n\r\n",
            RequestRejectionReason.WhitespaceBeforeColon),
        new("CR inside a value", "GET / HTTP/1.1\r\nHost: example.com\r\nX-A: b\rc\r\n\r\n",
            RequestRejectionReason.InvalidHeaderValue),
        new("LF inside a value", "GET / HTTP/1.1\r\nHost: example.com\r\nX-A: b\nc\r\n\r\n",
            RequestRejectionReason.BareLineFeed),
        new("NUL inside a value", "GET / HTTP/1.1\r\nHost: example.com\r\nX-A: b\0c\r\n\r\n",
            RequestRejectionReason.InvalidHeaderValue),
        new("DEL inside a value", "GET / HTTP/1.1\r\nHost: example.com\r\nX-A: b\u007fc\r\n\r\n",
            RequestRejectionReason.InvalidHeaderValue),
        new("NUL in a name", "GET / HTTP/1.1\r\nHost: example.com\r\nX-\0A: b\r\n\r\n",
            RequestRejectionReason.InvalidHeaderName),
        new("field without colon", "GET / HTTP/1.1\r\nHost: example.com\r\nX-A b\r\n\r\n",
            RequestRejectionReason.InvalidHeaderName),
        new("empty field name", "GET / HTTP/1.1\r\nHost: example.com\r\n: b\r\n\r\n",
            RequestRejectionReason.InvalidHeaderName),
        new("bare LF line endings", "GET / HTTP/1.1\nHost: example.com\n\n", RequestRejectionReason.BareLineFeed),
        new("bare LF ending the head", "GET / HTTP/1.1\r\nHost: example.com\r\n\n", RequestRejectionReason.BareLineFeed),
        new("missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", RequestRejectionReason.MissingHost),
        new("duplicate Host", "GET / HTTP/1.1\r\nHost: example.com\r\nHost: example.com\r\n\r\n",
            RequestRejectionReason.DuplicateHost),
        new("Host with a path", "GET / HTTP/1.1\r\nHost: example.com/evil\r\n\r\n", RequestRejectionReason.InvalidHost),
        new("Host with userinfo", "GET / HTTP/1.1\r\nHost: user@example.com\r\n\r\n", RequestRejectionReason.InvalidHost),
        new("request line over 8 KiB", RequestLineOfLength(Http1LimitsDefaultStartLine + 1) + "Host: example.com\r\n\r\n",
            RequestRejectionReason.RequestLineTooLong),
        new("request line over 8 KiB, no LF yet", "GET /" + new string('a', Http1LimitsDefaultStartLine),
            RequestRejectionReason.RequestLineTooLong),
        new("header section over 60 KiB", "GET / HTTP/1.1\r\n" + HeaderSectionOfLength(60 * 1024 + 1) + "\r\n",
            RequestRejectionReason.HeadersTooLarge),
        new("header section over 60 KiB, incomplete",
            "GET / HTTP/1.1\r\n" + HeaderSectionOfLength(59 * 1024) + "X-Partial: " + new string('p', 2048),
            RequestRejectionReason.HeadersTooLarge),
        new("101 fields", "GET / HTTP/1.1\r\nHost: example.com\r\n" + ManyFields(100) + "\r\n",
            RequestRejectionReason.TooManyHeaders),
        new("HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: example.com\r\n\r\n", RequestRejectionReason.UnsupportedVersion),
        new("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", RequestRejectionReason.UnsupportedVersion),
        new("HTTP/1.2", "GET / HTTP/1.2\r\nHost: example.com\r\n\r\n", RequestRejectionReason.UnsupportedVersion),
        new("lowercase version", "GET / http/1.1\r\nHost: example.com\r\n\r\n", RequestRejectionReason.InvalidRequestLine),
        new("CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            RequestRejectionReason.MethodNotSupported),
        new("garbage request line", "GARBAGE\r\n\r\n", RequestRejectionReason.InvalidRequestLine),
        new("binary request line", "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u00fc\u0003\u0003 x\r\n\r\n",
            RequestRejectionReason.InvalidRequestLine),
        new("two spaces after method", "GET  / HTTP/1.1\r\nHost: example.com\r\n\r\n", RequestRejectionReason.InvalidRequestLine),
        new("trailing space after version", "GET / HTTP/1.1 \r\nHost: example.com\r\n\r\n", RequestRejectionReason.InvalidRequestLine),
        new("method with a separator", "GE(T / HTTP/1.1\r\nHost: example.com\r\n\r\n", RequestRejectionReason.InvalidRequestLine),
        new("DEL in target", "GET /a\u007fb HTTP/1.1\r\nHost: example.com\r\n\r\n", RequestRejectionReason.InvalidRequestTarget),
        new("non-ASCII in target", "GET /caf\u00e9 HTTP/1.1\r\nHost: example.com\r\n\r\n", RequestRejectionReason.InvalidRequestTarget),
        new("asterisk target for GET", "GET * HTTP/1.1\r\nHost: example.com\r\n\r\n", RequestRejectionReason.InvalidRequestTarget),
        new("absolute-form with userinfo", "GET http://user@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
            RequestRejectionReason.InvalidRequestTarget),
        new("absolute-form other scheme", "GET ftp://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
            RequestRejectionReason.InvalidRequestTarget),
        // RFC 9112 §2.2 asks a server to ignore "at least one" empty line; the parser allows four, and the limit must
        // hold however the empty lines are split across reads.
        new("five leading CRLFs", "\r\n\r\n\r\n\r\n\r\n" + Simple, RequestRejectionReason.InvalidRequestLine),
    ];

    private const int Http1LimitsDefaultStartLine = 8 * 1024;

    /// <summary>"GET /aaa… HTTP/1.1\r\n" of exactly <paramref name="length"/> bytes, CRLF included.</summary>
    public static string RequestLineOfLength(int length) =>
        "GET /" + new string('a', length - "GET / HTTP/1.1\r\n".Length) + " HTTP/1.1\r\n";

    /// <summary>
    /// Field lines totalling exactly <paramref name="length"/> bytes (CRLFs included, as the limit counts them), starting
    /// with Host; lines are about 1 KiB so byte-per-segment runs stay fast while the section crosses the limit.
    /// </summary>
    public static string HeaderSectionOfLength(int length)
    {
        var sb = new StringBuilder("Host: example.com\r\n");
        int n = 0;
        while (sb.Length < length)
        {
            int left = length - sb.Length;
            string name = $"X-Pad-{n++:D3}: ";
            int valueLength = Math.Min(1000, left - name.Length - 2);
            if (left - (name.Length + valueLength + 2) is > 0 and < 20) valueLength -= 20; // keep the last line sensible
            sb.Append(name).Append('v', valueLength).Append("\r\n");
        }
        if (sb.Length != length) throw new InvalidOperationException($"built {sb.Length} bytes, wanted {length}");
        return sb.ToString();
    }

    /// <summary><paramref name="count"/> distinct small fields.</summary>
    public static string ManyFields(int count)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++) sb.Append("X-Field-").Append(i).Append(": ").Append(i).Append("\r\n");
        return sb.ToString();
    }
}
