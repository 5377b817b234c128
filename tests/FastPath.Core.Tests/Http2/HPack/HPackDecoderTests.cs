// HPackDecoder against RFC 7541 Appendix C, fragmented blocks, and every COMPRESSION_ERROR case.
using FastPath.Http2.HPack;
using static FastPath.Core.Tests.Http2.HPack.HPackTestKit;

namespace FastPath.Core.Tests.Http2.HPack;

public class HPackDecoderTests
{
    [Fact]
    public void Decode_C2_1_LiteralWithIndexing_AddsToDynamicTable()
    {
        var decoder = new HPackDecoder();
        (HPackError error, List<Field> fields) = Decode(decoder, Hex("400a637573746f6d2d6b65790d637573746f6d2d686561646572"));
        Assert.Equal(HPackError.None, error);
        Assert.Equal([new Field("custom-key", "custom-header")], fields);
        Assert.Equal([new Field("custom-key", "custom-header")], Table(decoder.DynamicTable));
        Assert.Equal(55, decoder.DynamicTable.Size);
    }

    [Fact]
    public void Decode_C2_2_LiteralWithoutIndexing_LeavesTableEmpty()
    {
        var decoder = new HPackDecoder();
        (HPackError error, List<Field> fields) = Decode(decoder, Hex("040c2f73616d706c652f70617468"));
        Assert.Equal(HPackError.None, error);
        Assert.Equal([new Field(":path", "/sample/path")], fields);
        Assert.Equal(0, decoder.DynamicTable.Count);
    }

    [Fact]
    public void Decode_C2_3_LiteralNeverIndexed_ReportsFlag()
    {
        var decoder = new HPackDecoder();
        (HPackError error, List<Field> fields) = Decode(decoder, Hex("100870617373776f726406736563726574"));
        Assert.Equal(HPackError.None, error);
        Assert.Equal([new Field("password", "secret", NeverIndexed: true)], fields);
        Assert.Equal(0, decoder.DynamicTable.Count);
    }

    [Fact]
    public void Decode_C2_4_IndexedField_FromStaticTable()
    {
        var decoder = new HPackDecoder();
        (HPackError error, List<Field> fields) = Decode(decoder, Hex("82"));
        Assert.Equal(HPackError.None, error);
        Assert.Equal([new Field(":method", "GET")], fields);
        Assert.Equal(0, decoder.DynamicTable.Count);
    }

    [Fact]
    public void Decode_C3_RequestsWithoutHuffman_ThreeBlocksShareDynamicTable() => AssertExample("C3", Mode.Whole);

    [Fact]
    public void Decode_C4_RequestsWithHuffman_ThreeBlocksShareDynamicTable() => AssertExample("C4", Mode.Whole);

    [Fact]
    public void Decode_C5_ResponsesWithoutHuffman_EvictsFromSmallTable() => AssertExample("C5", Mode.Whole);

    [Fact]
    public void Decode_C6_ResponsesWithHuffman_EvictsFromSmallTable() => AssertExample("C6", Mode.Whole);

    [Theory]
    [InlineData("C3")]
    [InlineData("C4")]
    [InlineData("C5")]
    [InlineData("C6")]
    public void Decode_AppendixC_SplitAtEveryIndex_SameFieldsAndTable(string example) => AssertExample(example, Mode.SplitEverywhere);

    [Theory]
    [InlineData("C3")]
    [InlineData("C4")]
    [InlineData("C5")]
    [InlineData("C6")]
    public void Decode_AppendixC_OneOctetPerFragment_SameFieldsAndTable(string example) => AssertExample(example, Mode.Bytewise);

    [Theory]
    [InlineData("C3")]
    [InlineData("C6")]
    public void Decode_AppendixC_OverSequenceOfSegments_SameFieldsAndTable(string example) => AssertExample(example, Mode.Sequence);

    private enum Mode { Whole, SplitEverywhere, Bytewise, Sequence }

    private static void AssertExample(string name, Mode mode)
    {
        Rfc7541Examples.Step[] steps = Rfc7541Examples.Get(name);
        int tableSize = Rfc7541Examples.TableSize(name);
        if (mode == Mode.SplitEverywhere)
        {
            // Each step is split at every index, on a decoder that has decoded the previous steps whole.
            for (int s = 0; s < steps.Length; s++)
            {
                byte[] block = Hex(steps[s].Hex);
                for (int split = 0; split <= block.Length; split++)
                {
                    var decoder = new HPackDecoder(tableSize);
                    for (int p = 0; p < s; p++) Assert.Equal(HPackError.None, Decode(decoder, Hex(steps[p].Hex)).Error);
                    (HPackError error, List<Field> fields) = DecodeSplit(decoder, block, split);
                    Assert.Equal(HPackError.None, error);
                    Assert.Equal(steps[s].Fields, fields);
                    Assert.Equal(steps[s].TableAfter, Table(decoder.DynamicTable));
                    Assert.Equal(steps[s].SizeAfter, decoder.DynamicTable.Size);
                }
            }
            return;
        }

        var d = new HPackDecoder(tableSize);
        foreach (Rfc7541Examples.Step step in steps)
        {
            byte[] block = Hex(step.Hex);
            (HPackError error, List<Field> fields) = mode switch
            {
                Mode.Bytewise => DecodeBytewise(d, block),
                Mode.Sequence => DecodeSequence(d, block, 3),
                _ => Decode(d, block),
            };
            Assert.Equal(HPackError.None, error);
            Assert.Equal(step.Fields, fields);
            Assert.Equal(step.TableAfter, Table(d.DynamicTable));
            Assert.Equal(step.SizeAfter, d.DynamicTable.Size);
        }
    }

    private static (HPackError, List<Field>) DecodeSequence(HPackDecoder decoder, byte[] block, int segmentLength)
    {
        var handler = new RecordingHandler([]);
        HPackError error = decoder.Decode(Segmented(block, segmentLength), ref handler);
        return (error, handler.Fields);
    }

    [Theory]
    [InlineData("80", nameof(HPackError.InvalidIndex))]                  // indexed field, index 0 (§6.1)
    [InlineData("be", nameof(HPackError.InvalidIndex))]                  // index 62 with an empty dynamic table
    [InlineData("ff80", nameof(HPackError.IncompleteHeaderBlock))]       // integer cut at END_HEADERS
    [InlineData("7e0161", nameof(HPackError.InvalidIndex))]              // literal with incremental indexing, name index 62
    [InlineData("0f300161", nameof(HPackError.InvalidIndex))]              // literal without indexing, name index 63
    [InlineData("ffffffffff0f", nameof(HPackError.IntegerOverflow))]     // index beyond 2^31 - 1 (§5.1)
    [InlineData("ff8080808080808000", nameof(HPackError.IntegerOverflow))] // too many continuation octets
    [InlineData("3fe21f", nameof(HPackError.TableSizeUpdateTooLarge))]   // size update to 4097 > SETTINGS_HEADER_TABLE_SIZE 4096
    [InlineData("823f00", nameof(HPackError.TableSizeUpdateNotAtBlockStart))] // size update after a field (§4.2)
    [InlineData("000161", nameof(HPackError.IncompleteHeaderBlock))]     // value length missing
    [InlineData("00016101", nameof(HPackError.IncompleteHeaderBlock))]   // string length beyond the input
    [InlineData("0001610a6162", nameof(HPackError.IncompleteHeaderBlock))]
    [InlineData("000161 84 ffffffff", nameof(HPackError.HuffmanEndOfString))] // EOS (30 ones) inside a Huffman string
    [InlineData("000161 81 00", nameof(HPackError.HuffmanInvalidPadding))]    // '0' (00000) padded with zeros
    [InlineData("000161 82 1fff", nameof(HPackError.HuffmanInvalidPadding))]  // 'a' then 8+ padding ones: 'a'=00011, 11 ones
    [InlineData("000161 81 1e", nameof(HPackError.HuffmanInvalidPadding))]    // 'a' then padding 110: not all ones
    public void Decode_InvalidBlock_ReturnsError(string hex, string expected)
    {
        var decoder = new HPackDecoder();
        Assert.Equal(Enum.Parse<HPackError>(expected), Decode(decoder, Hex(hex)).Error);
    }

    [Fact]
    public void Decode_HuffmanPaddingOfOnes_Accepted()
    {
        // 'a' = 00011 followed by 3 ones of padding.
        var decoder = new HPackDecoder();
        (HPackError error, List<Field> fields) = Decode(decoder, Hex("000161 81 1f"));
        Assert.Equal(HPackError.None, error);
        Assert.Equal([new Field("a", "a")], fields);
    }

    [Fact]
    public void Decode_StringLongerThanLimit_StringTooLong()
    {
        var decoder = new HPackDecoder(maxStringLength: 8);
        byte[] block = [0x00, 0x01, (byte)'a', 0x09, .. "123456789"u8];
        Assert.Equal(HPackError.StringTooLong, Decode(decoder, block).Error);
        // Rejected from the length alone, before the octets arrive.
        var handler = new CountingHandler();
        Assert.Equal(HPackError.StringTooLong, new HPackDecoder(maxStringLength: 8).Decode(block.AsSpan(0, 4), endHeaders: false, ref handler));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Decode_LargeFields_BuffersGrowOnDemand_AcrossFragmentsAndAfterSmallOnes(bool huffman)
    {
        // A decoder starts with small buffers; fields of 1 KB, 20 KB and 60 KB (Huffman-coded by the encoder, or raw
        // literals built by hand) decode the same whole, split in two, and byte by byte, with a small field after.
        foreach (int length in new[] { 1000, 20_000, 60_000 })
        {
            string value = string.Concat(Enumerable.Repeat("abcdefghij0123456789", length / 20));
            var block = new System.Buffers.ArrayBufferWriter<byte>();
            if (huffman)
            {
                var encoder = new HPackEncoder();
                encoder.BeginBlock(block);
                encoder.Encode(B("x-big"), B(value), block, HPackIndexing.WithoutIndexing);
                encoder.Encode(B(":path"), B("/small"), block);
            }
            else
            {
                // Literal without indexing, new name (RFC 7541 §6.2.2), H bit clear on both strings.
                var raw = new List<byte> { 0x00, 5 };
                raw.AddRange(B("x-big"));
                int n = value.Length;
                raw.Add(0x7F);
                for (n -= 127; n >= 128; n >>= 7) raw.Add((byte)(n % 128 + 128));
                raw.Add((byte)n);
                raw.AddRange(B(value));
                raw.AddRange([0x04, 6]);
                raw.AddRange(B("/small"));
                System.Buffers.BuffersExtensions.Write(block, raw.ToArray().AsSpan());
            }
            byte[] bytes = block.WrittenSpan.ToArray();
            Assert.True(huffman ? bytes.Length < value.Length : bytes.Length > value.Length);
            var decoder = new HPackDecoder(maxHeaderListSize: 128 * 1024, maxStringLength: 64 * 1024);
            foreach ((HPackError error, List<Field> fields) in new[] { Decode(decoder, bytes), DecodeSplit(decoder, bytes, bytes.Length / 2), DecodeBytewise(decoder, bytes) })
            {
                Assert.Equal(HPackError.None, error);
                Assert.Equal([new Field("x-big", value), new Field(":path", "/small")], fields);
            }
        }
    }

    [Fact]
    public void NewDecoder_HoldsLittleMemory_WhateverItsStringBound()
    {
        // Before the buffers grew on demand a decoder held 4x its string bound (64 KB at the default 16 KB, 512 KB at
        // this one): with 10,000 HTTP/2 connections, gigabytes for fields that almost never come.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var decoder = new HPackDecoder(maxHeaderListSize: 64 * 1024, maxStringLength: 128 * 1024);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(decoder);
        // What remains is the 4 KB dynamic table (~10 KB with its entry index); the string buffers are ~1 KB.
        Assert.True(allocated < 12 * 1024, $"a new decoder allocated {allocated} B");
    }

    [Fact]
    public void Decode_HuffmanStringDecodingBeyondLimit_StringTooLong()
    {
        // Eight '0's Huffman-encode to 5 octets; the decoded 8 octets exceed a limit of 6.
        var decoder = new HPackDecoder(maxStringLength: 6);
        Assert.Equal(HPackError.StringTooLong, Decode(decoder, Hex("000161 85 0000000000")).Error);
    }

    [Fact]
    public void Decode_SizeUpdatesAtBlockStart_EvictAndAreAllowedTwice()
    {
        var decoder = new HPackDecoder();
        Assert.Equal(HPackError.None, Decode(decoder, Hex("400a637573746f6d2d6b65790d637573746f6d2d686561646572")).Error);
        (HPackError error, List<Field> fields) = Decode(decoder, Hex("20 3fe11f 82"));  // 0, then 4096
        Assert.Equal(HPackError.None, error);
        Assert.Equal([new Field(":method", "GET")], fields);
        Assert.Equal(0, decoder.DynamicTable.Count);
        Assert.Equal(4096, decoder.DynamicTable.MaxSize);
    }

    [Fact]
    public void Decode_SizeUpdateInSecondFragmentBeforeAnyField_Accepted()
    {
        var decoder = new HPackDecoder();
        var handler = new CountingHandler();
        Assert.Equal(HPackError.None, decoder.Decode(Hex("3f"), endHeaders: false, ref handler));
        Assert.Equal(HPackError.None, decoder.Decode(Hex("e1 01 82"), endHeaders: true, ref handler));
        Assert.Equal(256, decoder.DynamicTable.MaxSize);
        Assert.Equal(1, handler.Count);
    }

    [Fact]
    public void Decode_HeaderListBomb_RejectedByListSizeLimit()
    {
        // One 4000-octet entry, then a 200-octet block that references it 200 times: 800 KB decoded from 200 B.
        var decoder = new HPackDecoder(maxHeaderListSize: 16 * 1024);
        byte[] big = [0x40, 0x01, (byte)'x', 0x7F, .. EncodeLength(4000 - 127), .. new byte[4000]];
        Assert.Equal(HPackError.None, Decode(decoder, big).Error);
        byte[] bomb = new byte[200];
        bomb.AsSpan().Fill(0xBE);
        (HPackError error, List<Field> fields) = Decode(decoder, bomb);
        Assert.Equal(HPackError.HeaderListOverHardLimit, error); // decoding stops at twice the limit
        Assert.Equal(4, fields.Count); // 4 x 4033 fits in 16384, the fifth does not
        Assert.False(error.IsCompressionError());
    }

    [Fact]
    public void Decode_ListOverLimit_DecodedToTheEnd_TableInStep_ErrorAtEndOfBlock()
    {
        // ":method: GET" counts 42: the third passes the 100-octet limit. The rest of the block is still decoded, so
        // the literal inserted after it is in the table for the next block; the error comes with END_HEADERS only.
        var decoder = new HPackDecoder(maxHeaderListSize: 100);
        var fields = new List<Field>();
        var handler = new RecordingHandler(fields);
        Assert.Equal(HPackError.None, decoder.Decode(Hex("82 82 82"), endHeaders: false, ref handler));
        Assert.Equal(HPackError.HeaderListTooLarge, decoder.Decode(Hex("40 01 61 01 62"), endHeaders: true, ref handler)); // a: b, indexed
        Assert.Equal(2, fields.Count); // nothing past the limit reaches the handler
        Assert.Equal(1, decoder.DynamicTable.Count);
        (HPackError next, List<Field> nextFields) = Decode(decoder, Hex("be"));
        Assert.Equal(HPackError.None, next);
        Assert.Equal("a", nextFields.Single().Name);
    }

    [Fact]
    public void Decode_ListSizeCountsPerBlock_NextBlockStartsAtZero()
    {
        // ":method: GET" counts 7 + 3 + 32 = 42 (RFC 9113 §6.5.2).
        var decoder = new HPackDecoder(maxHeaderListSize: 84);
        Assert.Equal(HPackError.None, Decode(decoder, Hex("8282")).Error);
        Assert.Equal(HPackError.None, Decode(decoder, Hex("8282")).Error);
        Assert.Equal(HPackError.HeaderListTooLarge, Decode(decoder, Hex("828282")).Error);
    }

    [Fact]
    public void Decode_IncrementalWithDynamicNameIndex_NameSurvivesEvictionOfItsEntry()
    {
        // Table of 64 octets holds one entry "aaaa: bbbb..." (name 4 + value 28 + 32 = 64); a literal with incremental
        // indexing that names index 62 evicts that very entry when it is inserted.
        var decoder = new HPackDecoder(maxHeaderTableSize: 64);
        byte[] first = [0x40, 0x04, .. "aaaa"u8, 0x1C, .. new byte[28].Select(_ => (byte)'b')];
        Assert.Equal(HPackError.None, Decode(decoder, first).Error);
        byte[] second = [0x7E, 0x1C, .. new byte[28].Select(_ => (byte)'c')];
        (HPackError error, List<Field> fields) = Decode(decoder, second);
        Assert.Equal(HPackError.None, error);
        Assert.Equal("aaaa", fields[0].Name);
        Assert.Equal([new Field("aaaa", new string('c', 28))], Table(decoder.DynamicTable));
    }

    [Fact]
    public void Decode_ManyInsertions_RingAndCompactionKeepEntriesIntact()
    {
        var decoder = new HPackDecoder(maxHeaderTableSize: 256);
        var rng = new Random(7541);
        var expected = new List<Field>();
        for (int i = 0; i < 2000; i++)
        {
            string name = "k" + rng.Next(100);
            string value = new('v', rng.Next(0, 120));
            byte[] block = [0x40, (byte)name.Length, .. B(name), (byte)value.Length, .. B(value)];
            Assert.Equal(HPackError.None, Decode(decoder, block).Error);
            expected.Insert(0, new Field(name, value));
            int size = 0, keep = 0;
            foreach (Field f in expected)
            {
                if (size + f.Name.Length + f.Value.Length + 32 > 256) break;
                size += f.Name.Length + f.Value.Length + 32;
                keep++;
            }
            expected.RemoveRange(keep, expected.Count - keep);
            Assert.Equal(expected, Table(decoder.DynamicTable));
            Assert.Equal(size, decoder.DynamicTable.Size);
        }
    }

    private static byte[] EncodeLength(int rest)
    {
        var bytes = new List<byte>();
        while (rest >= 0x80)
        {
            bytes.Add((byte)(rest | 0x80));
            rest >>= 7;
        }
        bytes.Add((byte)rest);
        return [.. bytes];
    }
}
