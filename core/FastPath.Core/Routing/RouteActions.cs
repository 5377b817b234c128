// What a matched route does to the bytes: the rewritten path sent upstream and the Location of a redirect. Both are
// written into a caller's buffer (per-exchange, reused), so a prefix rewrite or a redirect allocates nothing;
// a regex rewrite allocates its strings (Regex.Replace has no span form).
using System.Buffers.Text;
using System.Numerics;
using System.Text;
using FastPath.Upstream;

namespace FastPath.Routing;

internal static class RouteActions
{
    private static ReadOnlySpan<byte> LocationName => "location: "u8;

    /// <summary>
    /// Writes the path (with the request's query) the origin receives when the route rewrites it; 0 when it does not.
    /// <paramref name="buffer"/> grows when too small (rarely; it belongs to a pooled exchange).
    /// </summary>
    public static int WriteRewrittenPath(Route route, ReadOnlySpan<byte> target, ref byte[] buffer)
    {
        RouteRewrite? rewrite = route.Rewrite;
        if (rewrite is null || (rewrite.Prefix is null && rewrite.Regex is null)) return 0;
        int q = target.IndexOf((byte)'?');
        ReadOnlySpan<byte> path = q < 0 ? target : target[..q];
        ReadOnlySpan<byte> query = q < 0 ? default : target[q..]; // with its '?'

        if (rewrite.Prefix is { } prefix)
        {
            // Istio's uri rewrite: a prefix match has its matched prefix replaced; exact and regex matches the path.
            ReadOnlySpan<byte> rest = route.Match.PathKind == PathMatchKind.Prefix ? path[route.Match.PathBytes!.Length..] : default;
            int length = prefix.Length + rest.Length + query.Length;
            Ensure(ref buffer, length);
            int at = 0;
            Put(buffer, ref at, prefix);
            Put(buffer, ref at, rest);
            Put(buffer, ref at, query);
            return at;
        }

        string replaced = rewrite.Regex!.Replace(Encoding.Latin1.GetString(path), rewrite.Substitution);
        if (replaced.Length == 0) replaced = "/"; // an origin-form target is never empty (RFC 9112 section 3.2.1)
        int total = Encoding.Latin1.GetByteCount(replaced) + query.Length;
        Ensure(ref buffer, total);
        int n = Encoding.Latin1.GetBytes(replaced, buffer);
        Put(buffer, ref n, query);
        return n;
    }

    /// <summary>
    /// Writes the field line "location: URL\r\n" for a redirect route. Parts the redirect does not set come from the
    /// request; the request's port is kept only when neither scheme nor host changes (it belongs to them). A request
    /// without a Host and no host in the redirect gets a relative Location (RFC 9110 section 10.2.2 allows it).
    /// </summary>
    /// <summary>The status a redirect or direct-response route answers with.</summary>
    public static int ReplyStatus(Route route) => route.Redirect?.Status ?? route.DirectResponse!.Status;

    public static int WriteLocationField(Route route, ReadOnlySpan<byte> target, ReadOnlySpan<byte> authority, ref byte[] buffer)
    {
        RouteRedirect r = route.Redirect!;
        int q = target.IndexOf((byte)'?');
        ReadOnlySpan<byte> path = q < 0 ? target : target[..q];
        ReadOnlySpan<byte> query = q < 0 || r.StripQuery ? default : target[q..];

        ReadOnlySpan<byte> host = authority;
        scoped ReadOnlySpan<byte> port = default;
        int colon = authority.LastIndexOf((byte)':');
        if (colon >= 0 && authority.IndexOf((byte)']') < colon)
        {
            host = authority[..colon];
            port = authority[(colon + 1)..];
        }
        if (r.Host is not null) host = r.Host;
        if (r.Scheme is not null || r.Host is not null) port = default;
        ReadOnlySpan<byte> scheme = r.Scheme ?? "http"u8;
        Span<byte> portDigits = stackalloc byte[8];
        if (r.Port > 0 && !IsDefaultPort(scheme, r.Port))
        {
            Utf8Formatter.TryFormat(r.Port, portDigits, out int digits);
            port = portDigits[..digits];
        }

        ReadOnlySpan<byte> newPath = path;
        ReadOnlySpan<byte> rest = default;
        if (r.Path is not null) newPath = r.Path;
        else if (r.PrefixRewrite is not null && route.Match.PathKind == PathMatchKind.Prefix)
        {
            newPath = r.PrefixRewrite;
            rest = path[route.Match.PathBytes!.Length..];
        }

        int length = LocationName.Length + scheme.Length + 3 + host.Length + 1 + port.Length + newPath.Length + rest.Length + query.Length + 2;
        Ensure(ref buffer, length);
        int at = 0;
        Put(buffer, ref at, LocationName);
        if (!host.IsEmpty)
        {
            Put(buffer, ref at, scheme);
            Put(buffer, ref at, "://"u8);
            Put(buffer, ref at, host);
            if (!port.IsEmpty)
            {
                buffer[at++] = (byte)':';
                Put(buffer, ref at, port);
            }
        }
        Put(buffer, ref at, newPath);
        Put(buffer, ref at, rest);
        Put(buffer, ref at, query);
        Put(buffer, ref at, "\r\n"u8);
        return at;
    }

    /// <summary>Reason phrases for the statuses routes answer with (redirects, direct responses).</summary>
    public static ReadOnlySpan<byte> Reason(int status) => status switch
    {
        201 => "Created"u8,
        202 => "Accepted"u8,
        204 => "No Content"u8,
        301 => "Moved Permanently"u8,
        302 => "Found"u8,
        303 => "See Other"u8,
        307 => "Temporary Redirect"u8,
        308 => "Permanent Redirect"u8,
        401 => "Unauthorized"u8,
        405 => "Method Not Allowed"u8,
        410 => "Gone"u8,
        _ => ProxyErrors.Reason(status),
    };

    private static bool IsDefaultPort(ReadOnlySpan<byte> scheme, int port) =>
        (port == 80 && scheme.SequenceEqual("http"u8)) || (port == 443 && scheme.SequenceEqual("https"u8));

    private static void Ensure(ref byte[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new byte[Math.Max(256, (int)BitOperations.RoundUpToPowerOf2((uint)length))];
    }

    private static void Put(byte[] buffer, ref int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(buffer.AsSpan(at));
        at += bytes.Length;
    }
}
