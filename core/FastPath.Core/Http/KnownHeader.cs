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
    public static ReadOnlySpan<byte> ConnectionName => "connection"u8;
    public static ReadOnlySpan<byte> UpgradeName => "upgrade"u8;
    public static ReadOnlySpan<byte> XForwardedForName => "x-forwarded-for"u8;
    public static ReadOnlySpan<byte> XForwardedProtoName => "x-forwarded-proto"u8;
    public static ReadOnlySpan<byte> XRequestIdName => "x-request-id"u8;
    public static ReadOnlySpan<byte> ViaName => "via"u8;

    /// <summary>
    /// Identifies a header name by length and first letter, then at most one case-insensitive compare: most
    /// unknown names of a known name's length differ in their first letter and cost two integer compares.
    /// </summary>
    public static KnownHeader Lookup(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty) return KnownHeader.None;
        KnownHeader id = (name.Length, name[0] | 0x20) switch
        {
            (2, 't') => KnownHeader.TE,
            (3, 'v') => KnownHeader.Via,
            (4, 'h') => KnownHeader.Host,
            (6, 'e') => KnownHeader.Expect,
            (7, 'u') => KnownHeader.Upgrade,
            (7, 't') => KnownHeader.Trailer,
            (10, 'c') => KnownHeader.Connection,
            (10, 'k') => KnownHeader.KeepAlive,
            (12, 'x') => KnownHeader.XRequestId,
            (14, 'c') => KnownHeader.ContentLength,
            (15, 'x') => KnownHeader.XForwardedFor,
            (16, 'p') => KnownHeader.ProxyConnection,
            (17, 't') => KnownHeader.TransferEncoding,
            (17, 'x') => KnownHeader.XForwardedProto,
            _ => KnownHeader.None,
        };
        return id != KnownHeader.None && Ascii.EqualsIgnoreCase(name, Name(id)) ? id : KnownHeader.None;
    }

    private static ReadOnlySpan<byte> Name(KnownHeader id) => id switch
    {
        KnownHeader.TE => "te"u8,
        KnownHeader.Via => "via"u8,
        KnownHeader.Host => "host"u8,
        KnownHeader.Expect => "expect"u8,
        KnownHeader.Upgrade => "upgrade"u8,
        KnownHeader.Trailer => "trailer"u8,
        KnownHeader.Connection => "connection"u8,
        KnownHeader.KeepAlive => "keep-alive"u8,
        KnownHeader.XRequestId => "x-request-id"u8,
        KnownHeader.ContentLength => "content-length"u8,
        KnownHeader.XForwardedFor => "x-forwarded-for"u8,
        KnownHeader.ProxyConnection => "proxy-connection"u8,
        KnownHeader.TransferEncoding => "transfer-encoding"u8,
        _ => "x-forwarded-proto"u8,
    };

    /// <summary>
    /// Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded; the proxy writes its own framing and
    /// connection management on each hop.
    /// </summary>
    public static bool IsHopByHop(KnownHeader id) => id is KnownHeader.Connection or KnownHeader.KeepAlive
        or KnownHeader.ProxyConnection or KnownHeader.TE or KnownHeader.TransferEncoding or KnownHeader.Upgrade;
}
