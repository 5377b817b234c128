// HTTP/1.1 head codec costs: parse and write a typical browser request head (~500 B, 12 fields) and a response
// head. Category ZeroAlloc: the CI gate fails if any of these allocates.
using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Benchmarks.Http1;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class Http1HeadBenchmarks
{
    internal static readonly byte[] BrowserRequest = Encoding.ASCII.GetBytes(
        "GET /products/catalog/items?page=2&sort=price HTTP/1.1\r\n" +
        "Host: shop.example.com\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
        "Accept-Language: en-US,en;q=0.5\r\n" +
        "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
        "Referer: https://shop.example.com/products/catalog\r\n" +
        "Connection: keep-alive\r\n" +
        "Cookie: session=7f3c9a1e5b2d4f6a8c0e; theme=dark\r\n" +
        "Upgrade-Insecure-Requests: 1\r\n" +
        "Sec-Fetch-Dest: document\r\n" +
        "Sec-Fetch-Mode: navigate\r\n" +
        "Priority: u=0, i\r\n" +
        "\r\n");

    internal static readonly byte[] TypicalResponse = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\n" +
        "Date: Thu, 26 Nov 2026 12:00:00 GMT\r\n" +
        "Server: origin\r\n" +
        "Content-Type: text/html; charset=utf-8\r\n" +
        "Content-Length: 5120\r\n" +
        "Cache-Control: private, max-age=0\r\n" +
        "Vary: Accept-Encoding\r\n" +
        "X-Request-Id: 6f1c2a8e-1b7d-4e0f-9a3c-5d2e7b8c9f01\r\n" +
        "\r\n");

    private readonly HttpRequestHead _request = new();
    private readonly HttpResponseHead _response = new();
    private readonly ArrayBufferWriter<byte> _writer = new(4096);
    private ReadOnlySequence<byte> _requestBytes;
    private ReadOnlySequence<byte> _responseBytes;

    [GlobalSetup]
    public void Setup()
    {
        _requestBytes = new ReadOnlySequence<byte>(BrowserRequest);
        _responseBytes = new ReadOnlySequence<byte>(TypicalResponse);
        ParseRequestHead();
        ParseResponseHead();
    }

    [Benchmark]
    public int ParseRequestHead()
    {
        _request.Reset();
        var handler = new Http1RequestHandler(_request);
        var state = new Http1HeadParseState();
        var reader = new SequenceReader<byte>(_requestBytes);
        Http1Parser.ParseHead(ref reader, ref handler, ref state, Http1Limits.Default, out _);
        handler.Complete();
        return _request.Headers.Count;
    }

    [Benchmark]
    public int ParseResponseHead()
    {
        _response.Reset();
        var handler = new Http1ResponseHandler(_response);
        var state = new Http1HeadParseState();
        var reader = new SequenceReader<byte>(_responseBytes);
        Http1Parser.ParseHead(ref reader, ref handler, ref state, Http1Limits.Default, out _);
        handler.Complete(FastPath.Http.HttpMethod.Get);
        return _response.Headers.Count;
    }

    [Benchmark]
    public int WriteRequestHead()
    {
        _writer.ResetWrittenCount();
        var fwd = new ForwardedFields
        {
            ClientAddress = "192.0.2.10"u8,
            Scheme = "http"u8,
            RequestId = "6f1c2a8e-1b7d-4e0f-9a3c-5d2e7b8c9f01"u8,
        };
        Http1HeadWriter.WriteRequestHead(_writer, _request, _request.Framing, in fwd);
        return _writer.WrittenCount;
    }

    [Benchmark]
    public int WriteResponseHead()
    {
        _writer.ResetWrittenCount();
        Http1HeadWriter.WriteResponseHead(_writer, _response, BodyFraming.ContentLength, default, switchingProtocols: false);
        return _writer.WrittenCount;
    }
}
