// Huffman code (RFC 7541 Appendix B): RFC vectors, random round-trips, and the §5.2 rejections.
using FastPath.Http2.HPack;
using static FastPath.Core.Tests.Http2.HPack.HPackTestKit;

namespace FastPath.Core.Tests.Http2.HPack;

public class HPackHuffmanTests
{
    [Theory]
    [InlineData("www.example.com", "f1e3c2e5f23a6ba0ab90f4ff")]
    [InlineData("no-cache", "a8eb10649cbf")]
    [InlineData("custom-key", "25a849e95ba97d7f")]
    [InlineData("custom-value", "25a849e95bb8e8b4bf")]
    [InlineData("302", "6402")]
    [InlineData("private", "aec3771a4b")]
    [InlineData("Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff")]
    [InlineData("https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3")]
    [InlineData("gzip", "9bd9ab")]
    [InlineData("foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1", "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007")]
    [InlineData("", "")]
    public void Huffman_RfcVectors_EncodeAndDecode(string text, string hex)
    {
        byte[] plain = B(text);
        Assert.Equal(hex.Length / 2, HPackHuffman.GetEncodedLength(plain));
        byte[] encoded = new byte[hex.Length / 2];
        Assert.Equal(encoded.Length, HPackHuffman.Encode(plain, encoded));
        Assert.Equal(hex, ToHex(encoded));

        byte[] decoded = new byte[plain.Length];
        Assert.Equal(HPackError.None, HPackHuffman.Decode(Hex(hex), decoded, out int written));
        Assert.Equal(text, System.Text.Encoding.Latin1.GetString(decoded, 0, written));
    }

    [Fact]
    public void Huffman_RandomBytes_RoundTrip()
    {
        var rng = new Random(7541);
        byte[] decoded = new byte[600];
        for (int i = 0; i < 2000; i++)
        {
            byte[] plain = new byte[rng.Next(0, 600)];
            rng.NextBytes(plain);
            byte[] encoded = new byte[HPackHuffman.GetEncodedLength(plain)];
            Assert.Equal(encoded.Length, HPackHuffman.Encode(plain, encoded));
            Assert.Equal(HPackError.None, HPackHuffman.Decode(encoded, decoded, out int written));
            Assert.Equal(plain, decoded.AsSpan(0, written).ToArray());
        }
    }

    [Fact]
    public void Huffman_EverySymbol_RoundTrips()
    {
        byte[] plain = new byte[256];
        for (int i = 0; i < 256; i++) plain[i] = (byte)i;
        byte[] encoded = new byte[HPackHuffman.GetEncodedLength(plain)];
        HPackHuffman.Encode(plain, encoded);
        byte[] decoded = new byte[256];
        Assert.Equal(HPackError.None, HPackHuffman.Decode(encoded, decoded, out int written));
        Assert.Equal(plain, decoded.AsSpan(0, written).ToArray());
    }

    [Theory]
    [InlineData("ffffffff", nameof(HPackError.HuffmanEndOfString))]   // EOS is 30 ones
    [InlineData("fffffffc", nameof(HPackError.HuffmanEndOfString))]   // EOS then 2 padding bits
    [InlineData("ff", nameof(HPackError.HuffmanInvalidPadding))]      // 8 ones of padding: more than 7 bits
    [InlineData("00", nameof(HPackError.HuffmanInvalidPadding))]      // '0' then 3 zero bits
    [InlineData("1fff", nameof(HPackError.HuffmanInvalidPadding))]    // 'a' then 11 ones
    [InlineData("1e", nameof(HPackError.HuffmanInvalidPadding))]      // 'a' then 110
    public void Huffman_InvalidInput_Rejected(string hex, string expected)
    {
        Assert.Equal(Enum.Parse<HPackError>(expected), HPackHuffman.Decode(Hex(hex), new byte[16], out _));
    }

    [Fact]
    public void Huffman_DestinationTooSmall_StringTooLong()
    {
        byte[] encoded = Hex("f1e3c2e5f23a6ba0ab90f4ff");
        Assert.Equal(HPackError.StringTooLong, HPackHuffman.Decode(encoded, new byte[14], out _));
        Assert.Equal(HPackError.None, HPackHuffman.Decode(encoded, new byte[15], out int written));
        Assert.Equal(15, written);
    }
}
