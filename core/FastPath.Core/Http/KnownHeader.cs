// Header names the proxy acts on, recognised once while parsing so later stages compare ids, not bytes.
using System.Text;

namespace FastPath.Http;

internal enum KnownHeader : byte
{
    None = 0,
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    KeepAlive,
    ProxyConnection,
    TE,
    Upgrade,
    Expect,
    Trailer,
    XForwardedFor,
    XForwardedProto,
    XRequestId,
    Via,
}

internal static class KnownHeaders
{
    // Lowercase on the wire for everything we add ourselves: HTTP/2 requires it and HTTP/1.1 does not care.
    public static ReadOnlySpan<byte> HostName => "host"u8;
    public static ReadOnlySpan<byte> ContentLengthName => "content-length"u8;
    public static ReadOnlySpan<byte> TransferEncodingName => "transfer-encoding"u8;
    public static ReadOnlySpan<byte> ConnectionName => "connection"u8;
    public static ReadOnlySpan<byte> UpgradeName => "upgrade"u8;
    public static ReadOnlySpan<byte> XForwardedForName => "x-forwarded-for"u8;
    public static ReadOnlySpan<byte> XForwardedProtoName => "x-forwarded-proto"u8;
    public static ReadOnlySpan<byte> XRequestIdName => "x-request-id"u8;
    public static ReadOnlySpan<byte> ViaName => "via"u8;

    /// <summary>Identifies a header name by length first, then one case-insensitive compare.</summary>
    public static KnownHeader Lookup(ReadOnlySpan<byte> name)
    {
        switch (name.Length)
        {
            case 2:
                if (Ascii.EqualsIgnoreCase(name, "te"u8)) return KnownHeader.TE;
                break;
            case 3:
                if (Ascii.EqualsIgnoreCase(name, "via"u8)) return KnownHeader.Via;
                break;
            case 4:
                if (Ascii.EqualsIgnoreCase(name, "host"u8)) return KnownHeader.Host;
                break;
            case 6:
                if (Ascii.EqualsIgnoreCase(name, "expect"u8)) return KnownHeader.Expect;
                break;
            case 7:
                if (Ascii.EqualsIgnoreCase(name, "upgrade"u8)) return KnownHeader.Upgrade;
                if (Ascii.EqualsIgnoreCase(name, "trailer"u8)) return KnownHeader.Trailer;
                break;
            case 10:
                if (Ascii.EqualsIgnoreCase(name, "connection"u8)) return KnownHeader.Connection;
                if (Ascii.EqualsIgnoreCase(name, "keep-alive"u8)) return KnownHeader.KeepAlive;
                break;
            case 12:
                if (Ascii.EqualsIgnoreCase(name, "x-request-id"u8)) return KnownHeader.XRequestId;
                break;
            case 14:
                if (Ascii.EqualsIgnoreCase(name, "content-length"u8)) return KnownHeader.ContentLength;
                break;
            case 15:
                if (Ascii.EqualsIgnoreCase(name, "x-forwarded-for"u8)) return KnownHeader.XForwardedFor;
                break;
            case 16:
                if (Ascii.EqualsIgnoreCase(name, "proxy-connection"u8)) return KnownHeader.ProxyConnection;
                break;
            case 17:
                if (Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8)) return KnownHeader.TransferEncoding;
                if (Ascii.EqualsIgnoreCase(name, "x-forwarded-proto"u8)) return KnownHeader.XForwardedProto;
                break;
        }
        return KnownHeader.None;
    }

    /// <summary>
    /// Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded; the proxy writes its own framing and
    /// connection management on each hop.
    /// </summary>
    public static bool IsHopByHop(KnownHeader id) => id is KnownHeader.Connection or KnownHeader.KeepAlive
        or KnownHeader.ProxyConnection or KnownHeader.TE or KnownHeader.TransferEncoding or KnownHeader.Upgrade;
}
