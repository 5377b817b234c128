// Prefix-coded integers (RFC 7541 §5.1), bounded to 31 bits so a peer cannot overflow an index or a length.
using System.Runtime.CompilerServices;

namespace FastPath.Http2.HPack;

internal static class HPackInteger
{
    internal enum Status : byte { Done, Incomplete, Overflow }

    /// <summary>Decodes the integer whose prefix occupies the low <paramref name="prefixBits"/> of source[position].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Status TryDecode(ReadOnlySpan<byte> source, ref int position, int prefixBits, out int value)
    {
        int pos = position;
        int mask = (1 << prefixBits) - 1;
        int prefix = source[pos] & mask;
        pos++;
        if (prefix < mask)
        {
            position = pos;
            value = prefix;
            return Status.Done;
        }
        return DecodeContinuation(source, ref position, pos, mask, out value);
    }

    private static Status DecodeContinuation(ReadOnlySpan<byte> source, ref int position, int pos, int mask, out int value)
    {
        // 2^31 - 1 needs at most 5 continuation octets; a sixth is an overflow even if it only adds zeros.
        ulong result = (ulong)mask;
        for (int shift = 0; shift <= 28; shift += 7)
        {
            if ((uint)pos >= (uint)source.Length)
            {
                value = 0;
                return Status.Incomplete;
            }
            byte b = source[pos++];
            result += (ulong)(b & 0x7F) << shift;
            if (result > int.MaxValue)
            {
                value = 0;
                return Status.Overflow;
            }
            if ((b & 0x80) == 0)
            {
                position = pos;
                value = (int)result;
                return Status.Done;
            }
        }
        value = 0;
        return Status.Overflow;
    }

    /// <summary>Octets needed to encode <paramref name="value"/> with an N-bit prefix.</summary>
    public static int GetEncodedLength(int value, int prefixBits)
    {
        int mask = (1 << prefixBits) - 1;
        if (value < mask) return 1;
        int length = 2;
        for (uint rest = (uint)(value - mask); rest >= 0x80; rest >>= 7) length++;
        return length;
    }

    /// <summary>Writes <paramref name="value"/>; <paramref name="flags"/> carries the representation bits above the prefix.</summary>
    public static int Encode(int value, int prefixBits, byte flags, Span<byte> destination)
    {
        int mask = (1 << prefixBits) - 1;
        if (value < mask)
        {
            destination[0] = (byte)(flags | value);
            return 1;
        }
        destination[0] = (byte)(flags | mask);
        uint rest = (uint)(value - mask);
        int i = 1;
        while (rest >= 0x80)
        {
            destination[i++] = (byte)(rest | 0x80);
            rest >>= 7;
        }
        destination[i++] = (byte)rest;
        return i;
    }
}
