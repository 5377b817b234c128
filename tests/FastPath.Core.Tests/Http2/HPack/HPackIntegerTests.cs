// Prefix integers (RFC 7541 §5.1, C.1): prefix boundaries, incomplete input, overflow.
using FastPath.Http2.HPack;
using static FastPath.Core.Tests.Http2.HPack.HPackTestKit;

namespace FastPath.Core.Tests.Http2.HPack;

public class HPackIntegerTests
{
    [Theory]
    [InlineData(10, 5, "0a")]          // C.1.1
    [InlineData(1337, 5, "1f9a0a")]    // C.1.2
    [InlineData(42, 8, "2a")]          // C.1.3
    [InlineData(30, 5, "1e")]          // largest value fitting the prefix
    [InlineData(31, 5, "1f00")]        // prefix all ones, continuation 0
    [InlineData(32, 5, "1f01")]
    [InlineData(158, 5, "1f7f")]       // 31 + 127: one continuation octet
    [InlineData(159, 5, "1f8001")]     // 31 + 128: two
    [InlineData(126, 7, "7e")]
    [InlineData(127, 7, "7f00")]
    [InlineData(14, 4, "0e")]
    [InlineData(15, 4, "0f00")]
    [InlineData(62, 6, "3e")]
    [InlineData(63, 6, "3f00")]
    [InlineData(int.MaxValue, 7, "7f80ffffff07")]
    [InlineData(int.MaxValue, 1, "01feffffff07")]
    public void Integer_EncodeDecode_MatchesWireForm(int value, int prefixBits, string hex)
    {
        byte[] buffer = new byte[8];
        int length = HPackInteger.Encode(value, prefixBits, 0, buffer);
        Assert.Equal(hex, ToHex(buffer.AsSpan(0, length)));
        Assert.Equal(length, HPackInteger.GetEncodedLength(value, prefixBits));

        byte[] wire = Hex(hex);
        int position = 0;
        Assert.Equal(HPackInteger.Status.Done, HPackInteger.TryDecode(wire, ref position, prefixBits, out int decoded));
        Assert.Equal(value, decoded);
        Assert.Equal(wire.Length, position);

        // Every proper prefix is incomplete and does not move the position.
        for (int cut = 1; cut < wire.Length; cut++)
        {
            int p = 0;
            Assert.Equal(HPackInteger.Status.Incomplete, HPackInteger.TryDecode(wire.AsSpan(0, cut), ref p, prefixBits, out _));
            Assert.Equal(0, p);
        }
    }

    [Fact]
    public void Integer_FlagBitsAbovePrefix_PreservedAndIgnored()
    {
        byte[] buffer = new byte[4];
        Assert.Equal(1, HPackInteger.Encode(5, 4, 0x10, buffer));
        Assert.Equal(0x15, buffer[0]);
        int position = 0;
        Assert.Equal(HPackInteger.Status.Done, HPackInteger.TryDecode(buffer, ref position, 4, out int value));
        Assert.Equal(5, value);
    }

    [Theory]
    [InlineData("7f80808080808000", 7)]   // six continuation octets, even of zeros
    [InlineData("7f81ffffff07", 7)]       // 2^31: one past int.MaxValue
    [InlineData("7fffffffff7f", 7)]       // far beyond
    [InlineData("01ffffffff07", 1)]
    public void Integer_Overflow_Rejected(string hex, int prefixBits)
    {
        int position = 0;
        Assert.Equal(HPackInteger.Status.Overflow, HPackInteger.TryDecode(Hex(hex), ref position, prefixBits, out _));
    }
}
