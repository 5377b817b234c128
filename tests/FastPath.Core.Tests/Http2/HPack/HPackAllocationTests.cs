// Zero allocation per header block once warm: decode and encode of a typical request with a warm dynamic table.
using System.Buffers;
using FastPath.Http2.HPack;

namespace FastPath.Core.Tests.Http2.HPack;

public class HPackAllocationTests
{
    internal static readonly (byte[] Name, byte[] Value)[] TypicalRequest =
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

    private static int EncodeTypical(HPackEncoder encoder, Span<byte> destination)
    {
        encoder.TryBeginBlock(destination, out int length);
        foreach ((byte[] name, byte[] value) in TypicalRequest)
        {
            Assert.True(encoder.TryEncode(name, value, HPackIndexing.Automatic, destination[length..], out int written));
            length += written;
        }
        return length;
    }

    [Fact]
    public void Decode_WarmTypicalRequest_AllocatesNothing()
    {
        var encoder = new HPackEncoder();
        byte[] buffer = new byte[4096];
        EncodeTypical(encoder, buffer);
        int length = EncodeTypical(encoder, buffer); // a block against the warm table: mostly indexed
        byte[] block = buffer.AsSpan(0, length).ToArray();
        byte[] first = new byte[4096];
        int firstLength = EncodeTypical(new HPackEncoder(), first);

        var decoder = new HPackDecoder();
        var handler = new CountingHandler();
        Assert.Equal(HPackError.None, decoder.Decode(first.AsSpan(0, firstLength), true, ref handler));
        for (int i = 0; i < 100; i++) Assert.Equal(HPackError.None, decoder.Decode(block, true, ref handler));
        // Split across two fragments as HEADERS + CONTINUATION would be.
        for (int i = 0; i < 100; i++)
        {
            decoder.Decode(block.AsSpan(0, block.Length / 2), false, ref handler);
            decoder.Decode(block.AsSpan(block.Length / 2), true, ref handler);
        }
        var sequence = new ReadOnlySequence<byte>(block);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            decoder.Decode(block, true, ref handler);
            decoder.Decode(block.AsSpan(0, block.Length / 2), false, ref handler);
            decoder.Decode(block.AsSpan(block.Length / 2), true, ref handler);
            decoder.Decode(sequence, ref handler);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(TypicalRequest.Length * (1 + 100 + 100 + 3000), handler.Count);
    }

    [Fact]
    public void Encode_WarmTypicalRequest_AllocatesNothing()
    {
        var encoder = new HPackEncoder();
        byte[] buffer = new byte[4096];
        var writer = new ArrayBufferWriter<byte>(4096);
        for (int i = 0; i < 200; i++)
        {
            EncodeTypical(encoder, buffer);
            writer.ResetWrittenCount();
            encoder.BeginBlock(writer);
            foreach ((byte[] name, byte[] value) in TypicalRequest) encoder.Encode(name, value, writer);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        int total = 0;
        for (int i = 0; i < 1000; i++)
        {
            total += EncodeTypical(encoder, buffer);
            writer.ResetWrittenCount();
            encoder.BeginBlock(writer);
            foreach ((byte[] name, byte[] value) in TypicalRequest) encoder.Encode(name, value, writer);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(total > 0);
    }
}
