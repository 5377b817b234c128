// HPackEncoder reproducing RFC 7541 Appendix C where its choices match, size updates, and round-trips through
// HPackDecoder.
using System.Buffers;
using FastPath.Http2.HPack;
using static FastPath.Core.Tests.Http2.HPack.HPackTestKit;

namespace FastPath.Core.Tests.Http2.HPack;

public class HPackEncoderTests
{
    private static string EncodeBlock(HPackEncoder encoder, Field[] fields, Func<Field, HPackIndexing>? indexing = null)
    {
        var writer = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(writer);
        foreach (Field f in fields) encoder.Encode(B(f.Name), B(f.Value), writer, indexing?.Invoke(f) ?? HPackIndexing.Automatic);
        return ToHex(writer.WrittenSpan);
    }

    [Fact]
    public void Encode_C2_1_LiteralWithIndexing()
    {
        var encoder = new HPackEncoder(useHuffman: false);
        Assert.Equal("400a637573746f6d2d6b65790d637573746f6d2d686561646572", EncodeBlock(encoder, [new("custom-key", "custom-header")], _ => HPackIndexing.IncrementalIndexing));
        Assert.Equal([new Field("custom-key", "custom-header")], Table(encoder.DynamicTable));
    }

    [Fact]
    public void Encode_C2_2_LiteralWithoutIndexing()
    {
        var encoder = new HPackEncoder(useHuffman: false);
        Assert.Equal("040c2f73616d706c652f70617468", EncodeBlock(encoder, [new(":path", "/sample/path")]));
        Assert.Equal(0, encoder.DynamicTable.Count);
    }

    [Fact]
    public void Encode_C2_3_LiteralNeverIndexed()
    {
        var encoder = new HPackEncoder(useHuffman: false);
        Assert.Equal("100870617373776f726406736563726574", EncodeBlock(encoder, [new("password", "secret")], _ => HPackIndexing.NeverIndexed));
        Assert.Equal(0, encoder.DynamicTable.Count);
    }

    [Fact]
    public void Encode_C2_4_IndexedField()
    {
        var encoder = new HPackEncoder(useHuffman: false);
        Assert.Equal("82", EncodeBlock(encoder, [new(":method", "GET")]));
    }

    [Theory]
    [InlineData("C3", false)]
    [InlineData("C4", true)]
    public void Encode_C3_C4_Requests_ReproduceRfcBlocks(string example, bool huffman)
    {
        var encoder = new HPackEncoder(useHuffman: huffman);
        foreach (Rfc7541Examples.Step step in Rfc7541Examples.Get(example))
        {
            Assert.Equal(step.Hex, EncodeBlock(encoder, step.Fields));
            Assert.Equal(step.TableAfter, Table(encoder.DynamicTable));
            Assert.Equal(step.SizeAfter, encoder.DynamicTable.Size);
        }
    }

    [Theory]
    [InlineData("C5", false)]
    [InlineData("C6", true)]
    public void Encode_C5_C6_Responses_ReproduceRfcBlocksWithEviction(string example, bool huffman)
    {
        // The RFC indexes set-cookie; this encoder's default is never-indexed (§7.1.3), so the example asks for it.
        var encoder = new HPackEncoder(peerMaxTableSize: 256, tableSizeCap: 256, useHuffman: huffman);
        foreach (Rfc7541Examples.Step step in Rfc7541Examples.Get(example))
        {
            Assert.Equal(step.Hex, EncodeBlock(encoder, step.Fields, f => f.Name == "set-cookie" ? HPackIndexing.IncrementalIndexing : HPackIndexing.Automatic));
            Assert.Equal(step.TableAfter, Table(encoder.DynamicTable));
            Assert.Equal(step.SizeAfter, encoder.DynamicTable.Size);
        }
    }

    [Theory]
    [InlineData("authorization")]
    [InlineData("cookie")]
    [InlineData("set-cookie")]
    [InlineData("proxy-authorization")]
    public void Encode_SensitiveHeader_NeverIndexedWithStaticName(string name)
    {
        var encoder = new HPackEncoder();
        var decoder = new HPackDecoder();
        byte[] block = Hex(EncodeBlock(encoder, [new(name, "secret-token-123"), new(name, "secret-token-123")]));
        Assert.Equal(0x10, block[0] & 0xF0);
        Assert.Equal(0, encoder.DynamicTable.Count);
        (HPackError error, List<Field> fields) = Decode(decoder, block);
        Assert.Equal(HPackError.None, error);
        Assert.Equal([new Field(name, "secret-token-123", true), new Field(name, "secret-token-123", true)], fields);
    }

    [Fact]
    public void Encode_RepeatedBlock_SecondIsIndexedOnly()
    {
        var encoder = new HPackEncoder();
        Field[] request = [new(":method", "GET"), new(":scheme", "https"), new(":authority", "api.example.com"), new("user-agent", "fastpath-test/1.0"), new("accept", "application/json")];
        EncodeBlock(encoder, request);
        string second = EncodeBlock(encoder, request);
        Assert.Equal("8287c0bfbe", second);  // 2, 7, then dynamic 64, 63, 62
    }

    [Fact]
    public void Encode_PeerTableSizeChange_EmitsUpdateAtNextBlockStart()
    {
        var encoder = new HPackEncoder();
        var decoder = new HPackDecoder();
        Field[] fields = [new("x-a", "1"), new("x-b", "2")];
        Assert.Equal(HPackError.None, Decode(decoder, Hex(EncodeBlock(encoder, fields))).Error);
        Assert.Equal(2, decoder.DynamicTable.Count);

        encoder.SetPeerMaxTableSize(0);
        encoder.SetPeerMaxTableSize(100);
        string block = EncodeBlock(encoder, [new(":method", "GET")]);
        Assert.StartsWith("20" + "3f45", block, StringComparison.Ordinal); // 0 then 100 (§4.2: the smallest, then the final)
        Assert.Equal(HPackError.None, Decode(decoder, Hex(block)).Error);
        Assert.Equal(0, decoder.DynamicTable.Count);
        Assert.Equal(100, decoder.DynamicTable.MaxSize);

        // No change, no update.
        encoder.SetPeerMaxTableSize(100);
        Assert.Equal("82", EncodeBlock(encoder, [new(":method", "GET")]));
    }

    [Fact]
    public void Encode_PeerTableLargerThanCap_UsesCapAndSaysSo()
    {
        var encoder = new HPackEncoder(peerMaxTableSize: 4096, tableSizeCap: 1024);
        var decoder = new HPackDecoder();
        string block = EncodeBlock(encoder, [new("x-a", "1")]);
        Assert.StartsWith("3fe107", block, StringComparison.Ordinal); // 1024
        Assert.Equal(HPackError.None, Decode(decoder, Hex(block)).Error);
        Assert.Equal(1024, decoder.DynamicTable.MaxSize);
    }

    [Fact]
    public void Encode_DestinationTooSmall_ReturnsFalseAndLeavesTableUnchanged()
    {
        var encoder = new HPackEncoder(useHuffman: false);
        Assert.False(encoder.TryEncode(B("x-custom"), B("some-value"), HPackIndexing.Automatic, new byte[10], out int written));
        Assert.Equal(0, written);
        Assert.Equal(0, encoder.DynamicTable.Count);
    }

    [Fact]
    public void EncodeDecode_RandomHeaderLists_RoundTripWithSharedTables()
    {
        var rng = new Random(7541);
        string[] names = [":method", ":path", ":authority", "accept", "cookie", "x-trace", "x-custom-long-header-name", "content-length", "authorization", "user-agent"];
        foreach (int tableSize in new[] { 0, 64, 256, 4096 })
        {
            var encoder = new HPackEncoder(peerMaxTableSize: tableSize, tableSizeCap: tableSize, useHuffman: tableSize != 64);
            var decoder = new HPackDecoder(maxHeaderTableSize: tableSize, maxHeaderListSize: 1 << 20);
            for (int block = 0; block < 300; block++)
            {
                var fields = new Field[rng.Next(1, 12)];
                for (int i = 0; i < fields.Length; i++)
                {
                    string name = names[rng.Next(names.Length)];
                    byte[] value = new byte[rng.Next(0, rng.Next(2) == 0 ? 8 : 300)];
                    for (int k = 0; k < value.Length; k++) value[k] = (byte)rng.Next(rng.Next(4) == 0 ? 256 : 16);
                    string v = System.Text.Encoding.Latin1.GetString(value);
                    fields[i] = new Field(name, v, name is "cookie" or "authorization");
                }
                byte[] wire = Hex(EncodeBlock(encoder, fields));
                (HPackError error, List<Field> decoded) = rng.Next(2) == 0 ? Decode(decoder, wire) : DecodeSplit(decoder, wire, rng.Next(wire.Length + 1));
                Assert.Equal(HPackError.None, error);
                Assert.Equal(fields, decoded);
                Assert.Equal(Table(encoder.DynamicTable), Table(decoder.DynamicTable));
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EncodeStatus_WritesWhatTheGeneralEncodeWrites_ForEveryCode(bool huffman)
    {
        // The fast path skips the table search; a peer must not be able to tell. Two encoders kept in step: one
        // through EncodeStatus, one through Encode(":status", ...), every code from 100 to 999, twice (the second
        // time after the first round's literals entered the dynamic table).
        var fast = new HPackEncoder(useHuffman: huffman);
        var general = new HPackEncoder(useHuffman: huffman);
        for (int round = 0; round < 2; round++)
        {
            for (int code = 100; code <= 999; code++)
            {
                byte[] a = Encode(fast, w => fast.EncodeStatus(code, w));
                byte[] b = Encode(general, w => general.Encode(B(":status"), B(code.ToString(System.Globalization.CultureInfo.InvariantCulture)), w));
                Assert.True(a.AsSpan().SequenceEqual(b), $"status {code}, round {round}: {ToHex(a)} != {ToHex(b)}");
            }
        }
        Assert.Equal(Table(general.DynamicTable), Table(fast.DynamicTable));
        Assert.Equal("88", ToHex(Encode(fast, w => fast.EncodeStatus(200, w))));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EncodeContentLength_WritesWhatTheGeneralEncodeWrites_AndNeverIndexesIt(bool huffman)
    {
        var fast = new HPackEncoder(useHuffman: huffman);
        var general = new HPackEncoder(useHuffman: huffman);
        var decoder = new HPackDecoder();
        foreach (long length in new long[] { 0, 1, 9, 10, 64, 99, 100, 70_000, 1 << 20, int.MaxValue, long.MaxValue })
        {
            byte[] a = Encode(fast, w => fast.EncodeContentLength(length, w));
            byte[] b = Encode(general, w => general.Encode(B("content-length"), B(length.ToString(System.Globalization.CultureInfo.InvariantCulture)), w));
            Assert.Equal(ToHex(b), ToHex(a));
            var decoded = Decode(decoder, a);
            Assert.Equal(HPackError.None, decoded.Error);
            Assert.Equal([new Field("content-length", length.ToString(System.Globalization.CultureInfo.InvariantCulture))], decoded.Fields);
        }
        Assert.Equal(0, fast.DynamicTable.Count);
        Assert.Equal(0, decoder.DynamicTable.Count);
    }

    private static byte[] Encode(HPackEncoder encoder, Action<IBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(writer);
        write(writer);
        return writer.WrittenSpan.ToArray();
    }
}
