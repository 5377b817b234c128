// CIDR blocks for ipBlocks, remoteIpBlocks and the *.ip conditions, as 128-bit prefix and mask: an IPv4 address is
// held IPv4-mapped (::ffff:a.b.c.d), so one compare serves both families and a dual-stack socket's mapped peer
// matches an IPv4 block. Parsed once at config load; a request compares integers.
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace FastPath.Security.Authorization;

internal readonly struct IpNetwork
{
    private static readonly UInt128 V4MappedPrefix = (UInt128)0xFFFF << 32;

    private readonly UInt128 _prefix;
    private readonly UInt128 _mask;

    private IpNetwork(UInt128 prefix, UInt128 mask)
    {
        _prefix = prefix & mask;
        _mask = mask;
    }

    public bool Contains(UInt128 address) => (address & _mask) == _prefix;

    /// <summary>"10.0.0.1", "10.0.0.0/8", "2001:db8::/32" (Istio's AddrStrToCidrRange: a bare address is /32 or /128).</summary>
    public static bool TryParse(string value, out IpNetwork network)
    {
        network = default;
        int slash = value.IndexOf('/');
        ReadOnlySpan<char> addressText = slash < 0 ? value : value.AsSpan(0, slash);
        if (!IPAddress.TryParse(addressText, out IPAddress? address)) return false;
        bool v4 = address.AddressFamily == AddressFamily.InterNetwork;
        int max = v4 ? 32 : 128;
        int length = max;
        if (slash >= 0 && (!int.TryParse(value.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out length) || length > max))
            return false;
        int bits = v4 ? 96 + length : length;
        UInt128 mask = bits == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - bits);
        network = new IpNetwork(ToBits(address), mask);
        return true;
    }

    /// <summary>An address as 128 bits (IPv4 mapped); zero for none.</summary>
    public static UInt128 ToBits(IPAddress? address)
    {
        if (address is null) return UInt128.Zero;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> v4 = stackalloc byte[4];
            address.TryWriteBytes(v4, out _);
            return V4MappedPrefix | BinaryPrimitives.ReadUInt32BigEndian(v4);
        }
        Span<byte> v6 = stackalloc byte[16];
        address.TryWriteBytes(v6, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(v6);
    }

    /// <summary>Parses an address from header bytes (an x-forwarded-for item) without allocating for IPv4.</summary>
    public static bool TryParseAddress(ReadOnlySpan<byte> text, out UInt128 bits)
    {
        bits = UInt128.Zero;
        if (TryParseV4(text, out uint v4))
        {
            bits = V4MappedPrefix | v4;
            return true;
        }
        // IPv6 in x-forwarded-for is rare; the framework parser is exact about its many forms.
        if (text.Length is 0 or > 64 || text.IndexOf((byte)':') < 0) return false;
        Span<char> chars = stackalloc char[text.Length];
        for (int i = 0; i < text.Length; i++) chars[i] = (char)text[i];
        if (!IPAddress.TryParse(chars, out IPAddress? address)) return false;
        bits = ToBits(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
        return true;
    }

    private static bool TryParseV4(ReadOnlySpan<byte> text, out uint value)
    {
        value = 0;
        int octets = 0, current = -1;
        foreach (byte b in text)
        {
            if (b is >= (byte)'0' and <= (byte)'9')
            {
                current = current < 0 ? b - '0' : current * 10 + (b - '0');
                if (current > 255) return false;
            }
            else if (b == '.' && current >= 0 && octets < 3)
            {
                value = (value << 8) | (uint)current;
                octets++;
                current = -1;
            }
            else return false;
        }
        if (current < 0 || octets != 3) return false;
        value = (value << 8) | (uint)current;
        return true;
    }
}
