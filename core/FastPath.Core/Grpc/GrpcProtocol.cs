// What the proxy needs to know of gRPC on top of HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md): which requests are gRPC, the
// grpc-timeout header, the grpc-status of a response, and how the proxy's own errors read to a gRPC client. A
// gRPC client cannot read an HTTP error page: a local reply to a gRPC request is "trailers-only" (HTTP 200,
// content-type application/grpc, grpc-status and grpc-message, no body), as Envoy answers.
using FastPath.Upstream;

namespace FastPath.Grpc;

internal static class GrpcProtocol
{
    public static ReadOnlySpan<byte> ContentType => "application/grpc"u8;
    public static ReadOnlySpan<byte> StatusName => "grpc-status"u8;
    public static ReadOnlySpan<byte> MessageName => "grpc-message"u8;
    public static ReadOnlySpan<byte> TimeoutName => "grpc-timeout"u8;

    // The grpc-timeout value: at most 8 digits (the spec's TimeoutValue).
    private const int MaxTimeoutDigits = 8;

    /// <summary>
    /// Whether a content-type names gRPC: "application/grpc" alone or followed by "+format" or ";params"
    /// (case-insensitive). gRPC-Web ("application/grpc-web") is not gRPC here.
    /// </summary>
    public static bool IsGrpcContentType(ReadOnlySpan<byte> contentType)
    {
        ReadOnlySpan<byte> prefix = ContentType;
        if (contentType.Length < prefix.Length || !System.Text.Ascii.EqualsIgnoreCase(contentType[..prefix.Length], prefix)) return false;
        return contentType.Length == prefix.Length || contentType[prefix.Length] is (byte)'+' or (byte)';';
    }

    /// <summary>
    /// Parses grpc-timeout (1-8 ASCII digits and a unit: H hours, M minutes, S seconds, m millis, u micros, n nanos)
    /// into whole milliseconds, rounded up so a deadline is never cut short. A malformed value is ignored (false),
    /// as Envoy does. 0 means no deadline (Envoy treats a zero grpc-timeout as infinity).
    /// </summary>
    public static bool TryParseTimeout(ReadOnlySpan<byte> value, out long milliseconds)
    {
        milliseconds = 0;
        if (value.Length < 2 || value.Length > MaxTimeoutDigits + 1) return false;
        long amount = 0;
        ReadOnlySpan<byte> digits = value[..^1];
        foreach (byte b in digits)
        {
            if ((uint)(b - '0') > 9) return false;
            amount = amount * 10 + (b - '0');
        }
        milliseconds = value[^1] switch
        {
            (byte)'H' => amount * 3_600_000,
            (byte)'M' => amount * 60_000,
            (byte)'S' => amount * 1000,
            (byte)'m' => amount,
            (byte)'u' => (amount + 999) / 1000,
            (byte)'n' => (amount + 999_999) / 1_000_000,
            _ => -1,
        };
        if (milliseconds < 0)
        {
            milliseconds = 0;
            return false;
        }
        return true;
    }

    /// <summary>The route timeout a gRPC request gets: its grpc-timeout when that is shorter (0 = none on either side).</summary>
    public static long EffectiveTimeoutMs(long routeTimeoutMs, long grpcTimeoutMs) =>
        grpcTimeoutMs <= 0 ? routeTimeoutMs
        : routeTimeoutMs <= 0 ? grpcTimeoutMs
        : Math.Min(routeTimeoutMs, grpcTimeoutMs);

    /// <summary>Parses a grpc-status value (a decimal number); false when it is not one.</summary>
    public static bool TryParseStatus(ReadOnlySpan<byte> value, out int status)
    {
        status = 0;
        if (value.IsEmpty || value.Length > 3) return false;
        foreach (byte b in value)
        {
            if ((uint)(b - '0') > 9) return false;
            status = status * 10 + (b - '0');
        }
        return true;
    }

    /// <summary>
    /// The gRPC status of an HTTP status a gRPC client received without one (grpc/doc/http-grpc-status-mapping.md),
    /// used for local replies that carry only an HTTP status (a filter's 429, a route's direct response).
    /// </summary>
    public static GrpcStatusCode FromHttpStatus(int status) => status switch
    {
        200 => GrpcStatusCode.UNKNOWN, // a 200 with no grpc-status is itself an error
        400 => GrpcStatusCode.INTERNAL,
        401 => GrpcStatusCode.UNAUTHENTICATED,
        403 => GrpcStatusCode.PERMISSION_DENIED,
        404 => GrpcStatusCode.UNIMPLEMENTED,
        429 or 502 or 503 or 504 => GrpcStatusCode.UNAVAILABLE,
        _ => GrpcStatusCode.UNKNOWN,
    };

    /// <summary>
    /// The status the proxy answers a gRPC request with when it fails the request itself. Timeouts read as
    /// DEADLINE_EXCEEDED; an upstream that is down, refused or overloaded as UNAVAILABLE (which clients retry);
    /// the rest follow the HTTP mapping of the status an HTTP client would have got.
    /// </summary>
    public static GrpcStatusCode FromProxyError(ProxyError error) => error switch
    {
        ProxyError.None => GrpcStatusCode.OK,
        ProxyError.NoRoute => GrpcStatusCode.UNIMPLEMENTED,
        ProxyError.NoHealthyUpstream or ProxyError.UpstreamOverflow or ProxyError.UpstreamConnectFailure
            or ProxyError.UpstreamReset or ProxyError.UpstreamRefusedStream or ProxyError.RateLimited => GrpcStatusCode.UNAVAILABLE,
        ProxyError.UpstreamProtocolError => GrpcStatusCode.INTERNAL,
        ProxyError.UpstreamTimeout or ProxyError.StreamIdleTimeout or ProxyError.DownstreamTimeout => GrpcStatusCode.DEADLINE_EXCEEDED,
        ProxyError.DownstreamReset => GrpcStatusCode.CANCELLED,
        ProxyError.AuthenticationFailed => GrpcStatusCode.UNAUTHENTICATED,
        ProxyError.AccessDenied => GrpcStatusCode.PERMISSION_DENIED,
        ProxyError.DownstreamProtocolError => GrpcStatusCode.INTERNAL,
        _ => FromHttpStatus(ProxyErrors.Status(error)),
    };

    /// <summary>
    /// Writes a grpc-message value: percent-encoded UTF-8 (grpc PROTOCOL-HTTP2 "Percent-Encoded"), every byte outside
    /// 0x20-0x7E and '%' itself as %XX. Returns the length written; dest holds at least 3 × message.Length bytes.
    /// </summary>
    public static int EncodeMessage(ReadOnlySpan<byte> message, Span<byte> dest)
    {
        int n = 0;
        foreach (byte b in message)
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                dest[n++] = b;
                continue;
            }
            dest[n++] = (byte)'%';
            dest[n++] = Hex(b >> 4);
            dest[n++] = Hex(b & 0xF);
        }
        return n;

        static byte Hex(int v) => (byte)(v < 10 ? '0' + v : 'A' + v - 10);
    }
}
