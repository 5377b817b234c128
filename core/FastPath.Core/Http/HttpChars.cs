// Character classes from RFC 9110 §5.6.2 (tchar) and §5.5 (field-value), as SearchValues for vectorised scans.
using System.Buffers;

namespace FastPath.Http;

internal static class HttpChars
{
    public const byte CR = (byte)'\r';
    public const byte LF = (byte)'\n';
    public const byte SP = (byte)' ';
    public const byte HTAB = (byte)'\t';
    public const byte Colon = (byte)':';

    public static readonly SearchValues<byte> TChar =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>Bytes never allowed in a field value: CTLs other than HTAB (this covers NUL, CR and LF) and DEL.</summary>
    public static readonly SearchValues<byte> InvalidFieldValue = SearchValues.Create(BuildInvalidFieldValue());

    /// <summary>
    /// Whether every byte is visible ASCII (0x21-0x7E): no CTLs, space, DEL or non-ASCII. What a request-target or an
    /// authority may hold (RFC 3986 is ASCII only), and a request id taken from a client. A range test: a SearchValues
    /// of the 161 other bytes takes the runtime's any-byte path, several times slower on every request.
    /// </summary>
    public static bool IsVisibleAscii(ReadOnlySpan<byte> s) => s.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7e) < 0;

    private static byte[] BuildInvalidFieldValue()
    {
        var list = new List<byte>();
        for (int b = 0; b < 0x20; b++) if (b != HTAB) list.Add((byte)b);
        list.Add(0x7f);
        return list.ToArray();
    }

    public static ReadOnlySpan<byte> TrimOws(ReadOnlySpan<byte> s)
    {
        int start = 0, end = s.Length;
        while (start < end && (s[start] == SP || s[start] == HTAB)) start++;
        while (end > start && (s[end - 1] == SP || s[end - 1] == HTAB)) end--;
        return s[start..end];
    }
}
