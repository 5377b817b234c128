// What routes need of the head writer: ForwardedFields.Path and .Authority (a rewrite replaces the request target
// and the Host sent upstream, nothing else), and local responses with no content (a direct 204).
using System.Buffers;
using FastPath.Core.Tests.Testing;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Core.Tests.Http1;

public class Http1HeadWriterOverrideTests
{
    private static HttpRequestHead Parse(string text)
    {
        var head = new HttpRequestHead();
        HeadOutcome outcome = HeadParseDriver.ParseRequest(SegmentedInput.Create(Bytes.Of(text), []), head);
        Assert.Equal(Http1ParseResult.Complete, outcome.Result);
        return head;
    }

    private static string Write(HttpRequestHead head, string? path, string? authority)
    {
        var writer = new ArrayBufferWriter<byte>();
        var fwd = new ForwardedFields
        {
            ClientAddress = "192.0.2.10"u8,
            Scheme = "http"u8,
            RequestId = "id-1"u8,
            FallbackHost = "10.0.0.1:8080"u8,
            Path = path is null ? default : Bytes.Of(path),
            Authority = authority is null ? default : Bytes.Of(authority),
        };
        Http1HeadWriter.WriteRequestHead(writer, head, head.Framing, in fwd);
        return Bytes.Text(writer.WrittenSpan);
    }

    [Fact]
    public void WriteRequestHead_PathAndAuthorityOverrides_ReplaceTargetAndHost()
    {
        HttpRequestHead head = Parse("GET /api/v1/items?id=7 HTTP/1.1\r\nHost: shop.example\r\nAccept: */*\r\n\r\n");

        string written = Write(head, "/internal/items-with-a-much-longer-path?id=7", "backend.internal:8080");

        Assert.Equal(
            "GET /internal/items-with-a-much-longer-path?id=7 HTTP/1.1\r\n" +
            "host: backend.internal:8080\r\n" +
            "Accept: */*\r\n" +
            "x-forwarded-for: 192.0.2.10\r\n" +
            "x-forwarded-proto: http\r\n" +
            "x-request-id: id-1\r\n" +
            "\r\n", written);
    }

    [Fact]
    public void WriteRequestHead_NoOverrides_RequestTargetAndHost()
    {
        HttpRequestHead head = Parse("GET /a?b HTTP/1.1\r\nHost: shop.example\r\n\r\n");

        Assert.StartsWith("GET /a?b HTTP/1.1\r\nhost: shop.example\r\n", Write(head, null, null), StringComparison.Ordinal);
    }

    [Fact]
    public void WriteRequestHead_AuthorityOverrideOnHttp10WithoutHost_OverrideWins()
    {
        HttpRequestHead head = Parse("GET / HTTP/1.0\r\n\r\n");

        Assert.StartsWith("GET / HTTP/1.1\r\nhost: rewritten.example\r\n", Write(head, null, "rewritten.example"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(204)]
    [InlineData(304)]
    public void WriteLocalResponse_NoContentStatus_NoLengthNoBody(int status)
    {
        var writer = new ArrayBufferWriter<byte>();

        Http1HeadWriter.WriteLocalResponse(writer, status, "No Content"u8, default, "ignored"u8, close: false);

        Assert.Equal($"HTTP/1.1 {status} No Content\r\n\r\n", Bytes.Text(writer.WrittenSpan));
    }
}
