// The chunked-body case table (RFC 9112 §7.1): valid bodies with what they decode to, invalid ones with the reason.
// Shared by ChunkedDecoderTests and Http1BodyCopierTests.
using FastPath.Http;

namespace FastPath.Core.Tests.Http1;

internal sealed record ValidChunkedCase(string Name, string Input, string Data)
{
    /// <summary>Trailer fields as parsed, one "Name: value [Id]" line each (", skip" when not forwarded).</summary>
    public string Trailers { get; init; } = "";
    /// <summary>Bytes after the body (the next message) that must stay unconsumed.</summary>
    public string After { get; init; } = "";

    public override string ToString() => Name;
}

internal sealed record InvalidChunkedCase(string Name, string Input, RequestRejectionReason Reason)
{
    public override string ToString() => Name;
}

internal static class ChunkedBodyCases
{
    public static readonly IReadOnlyList<ValidChunkedCase> Valid =
    [
        new("one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"),
        new("several chunks", "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", "hello world"),
        new("empty body", "0\r\n\r\n", ""),
        new("uppercase hex", "A\r\n0123456789\r\n1F\r\n" + new string('x', 31) + "\r\n0\r\n\r\n", "0123456789" + new string('x', 31)),
        new("lowercase and mixed hex", "1a\r\n" + new string('y', 26) + "\r\n0\r\n\r\n", new string('y', 26)),
        new("leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"),
        new("fifteen digits", "000000000000005\r\nhello\r\n0\r\n\r\n", "hello"),
        new("chunk extensions", "5;name=value\r\nhello\r\n6;a;b=\"q d\"\r\n world\r\n0;last\r\n\r\n", "hello world"),
        new("extension after whitespace", "5 ;x=1\r\nhello\r\n0\t;y\r\n\r\n", "hello"),
        new("CRLF inside data is data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"),
        new("binary data", "4\r\n\0\u00ff\n\r\r\n0\r\n\r\n", "\0\u00ff\n\r"),
        new("trailers", "3\r\nabc\r\n0\r\nX-Checksum: 900150983cd24fb0\r\nServer-Timing: db;dur=53\r\n\r\n", "abc")
        {
            Trailers = "X-Checksum: 900150983cd24fb0 [None]\nServer-Timing: db;dur=53 [None]\n",
        },
        new("framing fields in trailers are not forwarded",
            "3\r\nabc\r\n0\r\nContent-Length: 3\r\nHost: evil\r\nTransfer-Encoding: chunked\r\nTrailer: X\r\nX-Ok: 1\r\n\r\n", "abc")
        {
            Trailers = "Content-Length: 3 [ContentLength, skip]\nHost: evil [Host, skip]\n" +
                       "Transfer-Encoding: chunked [TransferEncoding, skip]\nTrailer: X [Trailer, skip]\nX-Ok: 1 [None]\n",
        },
        new("next message follows", "5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\n", "hello") { After = "GET /next HTTP/1.1\r\n" },
    ];

    public static readonly IReadOnlyList<InvalidChunkedCase> Invalid =
    [
        new("non-hex size", "g\r\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkSize),
        new("non-hex after digits", "5x\r\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkSize),
        new("negative size", "-5\r\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkSize),
        new("hex prefix", "0x5\r\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkSize),
        new("sixteen digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkSize),
        new("size overflowing 64 bits", "10000000000000000\r\n", RequestRejectionReason.InvalidChunkSize),
        new("empty size", "\r\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkSize),
        new("extension without size", ";a=b\r\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkSize),
        new("bare LF after size", "5\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkSize),
        new("CR without LF after size", "5\rhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkSize),
        new("missing CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkTerminator),
        new("data longer than size", "3\r\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkTerminator),
        new("bare LF after data", "5\r\nhello\n0\r\n\r\n", RequestRejectionReason.InvalidChunkTerminator),
        new("CR without LF after data", "5\r\nhello\r0\r\n\r\n", RequestRejectionReason.InvalidChunkTerminator),
        new("control char in extension", "5;a=\u0001\r\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkExtension),
        new("bare LF in extension", "5;a\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkExtension),
        new("DEL in extension", "5;a\u007f\r\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkExtension),
        new("extension over 4 KiB", "5;" + new string('e', 4097) + "\r\nhello\r\n0\r\n\r\n", RequestRejectionReason.InvalidChunkExtension),
        new("obs-fold in trailers", "0\r\nX-A: 1\r\n 2\r\n\r\n", RequestRejectionReason.ObsoleteLineFolding),
        new("bare LF ending trailers", "0\r\nX-A: 1\r\n\n", RequestRejectionReason.BareLineFeed),
        new("invalid trailer name", "0\r\nX A: 1\r\n\r\n", RequestRejectionReason.InvalidHeaderName),
    ];
}
