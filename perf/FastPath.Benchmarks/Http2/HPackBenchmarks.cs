// HPACK costs for a typical browser request (12 fields, cookie included) on a connection whose dynamic table is
// warm, as for every request after the first. Category ZeroAlloc: the CI gate fails if any of these allocates.
using BenchmarkDotNet.Attributes;
using FastPath.Http2.HPack;

namespace FastPath.Benchmarks.Http2;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class HPackBenchmarks
{
    private static readonly (byte[] Name, byte[] Value)[] TypicalRequest =
    [
        (":method"u8.ToArray(), "GET"u8.ToArray()),
        (":scheme"u8.ToArray(), "https"u8.ToArray()),
        (":authority"u8.ToArray(), "shop.example.com"u8.ToArray()),
        (":path"u8.ToArray(), "/products/catalog/items?page=2&sort=price"u8.ToArray()),
        ("user-agent"u8.ToArray(), "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"u8.ToArray()),
        ("accept"u8.ToArray(), "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"u8.ToArray()),
        ("accept-language"u8.ToArray(), "en-US,en;q=0.5"u8.ToArray()),
        ("accept-encoding"u8.ToArray(), "gzip, deflate, br, zstd"u8.ToArray()),
        ("referer"u8.ToArray(), "https://shop.example.com/products/catalog"u8.ToArray()),
        ("cookie"u8.ToArray(), "session=7f3c9a1e5b2d4f6a8c0e; theme=dark"u8.ToArray()),
        ("sec-fetch-dest"u8.ToArray(), "document"u8.ToArray()),
        ("priority"u8.ToArray(), "u=0, i"u8.ToArray()),
    ];

    private struct CountingHandler : IHPackHeaderHandler
    {
        public int Octets;

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) => Octets += name.Length + value.Length;
    }

    private readonly HPackEncoder _encoder = new();
    private readonly HPackDecoder _decoder = new();
    private readonly byte[] _output = new byte[4096];
    private byte[] _firstBlock = [];
    private byte[] _warmBlock = [];

    [GlobalSetup]
    public void Setup()
    {
        // The first request fills the tables; later requests (the measured ones) are mostly indexed fields.
        _firstBlock = _output.AsSpan(0, EncodeRequest()).ToArray();
        _warmBlock = _output.AsSpan(0, EncodeRequest()).ToArray();
        var handler = new CountingHandler();
        if (_decoder.Decode(_firstBlock, endHeaders: true, ref handler) != HPackError.None) throw new InvalidOperationException("bad block");
        DecodeRequest();
    }

    /// <summary>Encodes the request against the warm table (octets written).</summary>
    [Benchmark]
    public int EncodeRequest()
    {
        HPackEncoder encoder = _encoder;
        Span<byte> output = _output;
        encoder.TryBeginBlock(output, out int length);
        foreach ((byte[] name, byte[] value) in TypicalRequest)
        {
            encoder.TryEncode(name, value, HPackIndexing.Automatic, output[length..], out int written);
            length += written;
        }
        return length;
    }

    /// <summary>Decodes the warm block: indexed fields plus the literals (:path, cookie) that are never indexed.</summary>
    [Benchmark]
    public int DecodeRequest()
    {
        var handler = new CountingHandler();
        _decoder.Decode(_warmBlock, endHeaders: true, ref handler);
        return handler.Octets;
    }

    /// <summary>The same block arriving as HEADERS + CONTINUATION, cut in the middle of a field.</summary>
    [Benchmark]
    public int DecodeRequestInTwoFragments()
    {
        var handler = new CountingHandler();
        ReadOnlySpan<byte> block = _warmBlock;
        int half = block.Length / 2;
        _decoder.Decode(block[..half], endHeaders: false, ref handler);
        _decoder.Decode(block[half..], endHeaders: true, ref handler);
        return handler.Octets;
    }
}
