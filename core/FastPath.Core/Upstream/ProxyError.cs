// Data-plane failures as values, mapped to a status, a short body and Envoy-style response flags in one place.
namespace FastPath.Upstream;

internal enum ProxyError : byte
{
    None = 0,
    NoRoute,
    NoHealthyUpstream,
    UpstreamOverflow,
    UpstreamConnectFailure,
    UpstreamReset,
    UpstreamProtocolError,
    UpstreamTimeout,
    DownstreamReset,
    DownstreamProtocolError,
    DownstreamTimeout,
    StreamIdleTimeout,
    /// <summary>A route or filter answered itself (direct response, redirect, CORS preflight); status set by it.</summary>
    LocalReply,
    /// <summary>Fault injection aborted the request (flag FI); the status comes from the fault config.</summary>
    FaultAbort,
    /// <summary>A local rate limit refused the request: 429 (flag RL).</summary>
    RateLimited,
    /// <summary>RequestAuthentication rejected the request's token (expired, wrong issuer, bad signature): 401.</summary>
    AuthenticationFailed,
    /// <summary>AuthorizationPolicy denied the request: 403 "RBAC: access denied".</summary>
    AccessDenied,
    /// <summary>An HTTP/2 origin refused the stream (REFUSED_STREAM, or above its GOAWAY): not processed, safe to retry.</summary>
    UpstreamRefusedStream,
}

/// <summary>Envoy's response flags, so access logs read the same to people who know Envoy.</summary>
[Flags]
internal enum ResponseFlags : ushort
{
    None = 0,
    NR = 1 << 0,   // no route
    UH = 1 << 1,   // no healthy upstream
    UO = 1 << 2,   // upstream overflow (circuit breaker / pool full)
    UF = 1 << 3,   // upstream connection failure
    UC = 1 << 4,   // upstream connection termination
    UT = 1 << 5,   // upstream request timeout
    UPE = 1 << 6,  // upstream protocol error
    DC = 1 << 7,   // downstream connection termination
    DPE = 1 << 8,  // downstream protocol error
    SI = 1 << 9,   // stream idle timeout
    DT = 1 << 10,  // downstream (header read) timeout
    FI = 1 << 11,  // fault injected: abort
    DI = 1 << 12,  // fault injected: delay
    RL = 1 << 13,  // rate limited locally
    URX = 1 << 14, // upstream retry limit exceeded
}

internal static class ProxyErrors
{
    public static ResponseFlags Flag(ProxyError e) => e switch
    {
        ProxyError.NoRoute => ResponseFlags.NR,
        ProxyError.NoHealthyUpstream => ResponseFlags.UH,
        ProxyError.UpstreamOverflow => ResponseFlags.UO,
        ProxyError.UpstreamConnectFailure => ResponseFlags.UF,
        ProxyError.UpstreamReset or ProxyError.UpstreamRefusedStream => ResponseFlags.UC,
        ProxyError.UpstreamProtocolError => ResponseFlags.UPE,
        ProxyError.UpstreamTimeout => ResponseFlags.UT,
        ProxyError.DownstreamReset => ResponseFlags.DC,
        ProxyError.DownstreamProtocolError => ResponseFlags.DPE,
        ProxyError.DownstreamTimeout => ResponseFlags.DT,
        ProxyError.StreamIdleTimeout => ResponseFlags.SI,
        ProxyError.FaultAbort => ResponseFlags.FI,
        ProxyError.RateLimited => ResponseFlags.RL,
        _ => ResponseFlags.None,
    };

    public static int Status(ProxyError e) => e switch
    {
        ProxyError.NoRoute => 404,
        ProxyError.NoHealthyUpstream or ProxyError.UpstreamOverflow or ProxyError.UpstreamConnectFailure => 503,
        ProxyError.UpstreamReset or ProxyError.UpstreamProtocolError => 502,
        ProxyError.UpstreamRefusedStream => 503,
        ProxyError.UpstreamTimeout => 504,
        ProxyError.DownstreamTimeout => 408,
        ProxyError.StreamIdleTimeout => 504,
        ProxyError.RateLimited => 429,
        ProxyError.AuthenticationFailed => 401,
        ProxyError.AccessDenied => 403,
        _ => 400,
    };

    public static ReadOnlySpan<byte> Reason(int status) => status switch
    {
        200 => "OK"u8,
        400 => "Bad Request"u8,
        401 => "Unauthorized"u8,
        403 => "Forbidden"u8,
        404 => "Not Found"u8,
        408 => "Request Timeout"u8,
        413 => "Content Too Large"u8,
        429 => "Too Many Requests"u8,
        414 => "URI Too Long"u8,
        417 => "Expectation Failed"u8,
        431 => "Request Header Fields Too Large"u8,
        500 => "Internal Server Error"u8,
        501 => "Not Implemented"u8,
        502 => "Bad Gateway"u8,
        503 => "Service Unavailable"u8,
        504 => "Gateway Timeout"u8,
        505 => "HTTP Version Not Supported"u8,
        _ => "Error"u8,
    };

    /// <summary>Short fixed bodies; never echo request bytes.</summary>
    public static ReadOnlySpan<byte> Body(ProxyError e) => e switch
    {
        ProxyError.NoRoute => "no route\n"u8,
        ProxyError.NoHealthyUpstream => "no healthy upstream\n"u8,
        ProxyError.UpstreamOverflow => "upstream connection pool overflow\n"u8,
        ProxyError.UpstreamConnectFailure => "upstream connect error\n"u8,
        ProxyError.UpstreamReset => "upstream connection reset before response\n"u8,
        ProxyError.UpstreamRefusedStream => "upstream refused the stream\n"u8,
        ProxyError.UpstreamProtocolError => "upstream sent an invalid response\n"u8,
        ProxyError.UpstreamTimeout => "upstream request timeout\n"u8,
        ProxyError.StreamIdleTimeout => "stream idle timeout\n"u8,
        ProxyError.DownstreamTimeout => "request timeout\n"u8,
        ProxyError.FaultAbort => "fault filter abort\n"u8,
        ProxyError.RateLimited => "local_rate_limited\n"u8,
        ProxyError.AuthenticationFailed => "Jwt verification fails"u8,
        ProxyError.AccessDenied => "RBAC: access denied"u8,
        _ => "bad request\n"u8,
    };

    public static void AppendFlags(ResponseFlags flags, Span<byte> dest, out int written)
    {
        written = 0;
        if (flags == ResponseFlags.None)
        {
            dest[written++] = (byte)'-';
            return;
        }
        for (int bit = 0; bit < 15; bit++)
        {
            var f = (ResponseFlags)(1 << bit);
            if ((flags & f) == 0) continue;
            if (written > 0) dest[written++] = (byte)',';
            ReadOnlySpan<byte> name = f switch
            {
                ResponseFlags.NR => "NR"u8, ResponseFlags.UH => "UH"u8, ResponseFlags.UO => "UO"u8,
                ResponseFlags.UF => "UF"u8, ResponseFlags.UC => "UC"u8, ResponseFlags.UT => "UT"u8,
                ResponseFlags.UPE => "UPE"u8, ResponseFlags.DC => "DC"u8, ResponseFlags.DPE => "DPE"u8,
                ResponseFlags.SI => "SI"u8, ResponseFlags.DT => "DT"u8, ResponseFlags.FI => "FI"u8,
                ResponseFlags.DI => "DI"u8, ResponseFlags.RL => "RL"u8, _ => "URX"u8,
            };
            name.CopyTo(dest[written..]);
            written += name.Length;
        }
    }
}
