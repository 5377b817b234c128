// Test inputs are written as strings; Latin-1 maps each char to one byte, so obs-text (0x80-0xFF) and control bytes
// in a case table are exactly the bytes on the wire.
using System.Text;

namespace FastPath.Core.Tests.Testing;

internal static class Bytes
{
    public static byte[] Of(string s) => Encoding.Latin1.GetBytes(s);

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>Readable form of wire bytes for assertion messages: CR, LF and other controls escaped.</summary>
    public static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\r': sb.Append("\\r"); break;
                case '\n': sb.Append("\\n\n"); break;
                case < ' ' or (>= '\x7f' and <= '\xff'): sb.Append("\\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture)); break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }
}
