// CORS (Istio CorsPolicy, Envoy's cors filter). A preflight (OPTIONS with Origin and Access-Control-Request-Method)
// from an allowed origin is answered by the proxy with 200 and the allow-* headers; from any other origin it passes
// through untouched. An actual request from an allowed origin gets Access-Control-Allow-Origin (the origin echoed,
// as Envoy does), credentials and expose-headers on its response; a disallowed origin gets no CORS header at all.
using System.Text;
using System.Text.RegularExpressions;
using FastPath.Config;
using FastPath.Http;
using FastPath.Upstream;

namespace FastPath.Filters.Http;

internal sealed class CorsPolicy
{
    // Longer origins are not matched by regex (and no browser sends one): the decode buffer lives on the stack.
    private const int MaxRegexOrigin = 512;

    private readonly (StringMatchKind Kind, byte[] Bytes, Regex? Regex)[] _origins;

    public CorsPolicy(CorsConfig config)
    {
        _origins = config.AllowOrigins.Select(m => (m.Kind, Encoding.UTF8.GetBytes(m.Value),
            // RE2 semantics as in Envoy: a full match, and linear time whatever the input (no ReDoS).
            m.Kind == StringMatchKind.Regex ? new Regex($"^(?:{m.Value})$", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant) : null)).ToArray();
        AllowMethods = Join(config.AllowMethods);
        AllowHeaders = Join(config.AllowHeaders);
        ExposeHeaders = Join(config.ExposeHeaders);
        MaxAge = config.MaxAge is { } age ? Encoding.ASCII.GetBytes(((long)age.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)) : [];
        AllowCredentials = config.AllowCredentials;
    }

    public byte[] AllowMethods { get; }
    public byte[] AllowHeaders { get; }
    public byte[] ExposeHeaders { get; }
    public byte[] MaxAge { get; }
    public bool AllowCredentials { get; }

    public bool IsOriginAllowed(ReadOnlySpan<byte> origin)
    {
        Span<char> chars = stackalloc char[MaxRegexOrigin];
        int decoded = -1;
        foreach ((StringMatchKind kind, byte[] bytes, Regex? regex) in _origins)
        {
            if (kind == StringMatchKind.Exact ? origin.SequenceEqual(bytes) : kind == StringMatchKind.Prefix && origin.StartsWith(bytes)) return true;
            if (kind != StringMatchKind.Regex || origin.Length > MaxRegexOrigin) continue;
            if (decoded < 0) decoded = Encoding.Latin1.GetChars(origin, chars);
            if (regex!.IsMatch(chars[..decoded])) return true;
        }
        return false;
    }

    private static byte[] Join(IReadOnlyList<string> values) => Encoding.ASCII.GetBytes(string.Join(",", values));
}

internal sealed class CorsFilterFactory(CorsPolicy policy) : PooledHttpFilterFactory<CorsFilter>
{
    public CorsPolicy Policy { get; } = policy;

    protected override CorsFilter Create() => new(this);
}

internal sealed class CorsFilter(CorsFilterFactory factory) : HttpFilter
{
    private static ReadOnlySpan<byte> OriginName => "origin"u8;
    private static ReadOnlySpan<byte> RequestMethodName => "access-control-request-method"u8;
    private static ReadOnlySpan<byte> AllowOriginName => "access-control-allow-origin"u8;
    private static ReadOnlySpan<byte> AllowCredentialsName => "access-control-allow-credentials"u8;
    private static ReadOnlySpan<byte> AllowMethodsName => "access-control-allow-methods"u8;
    private static ReadOnlySpan<byte> AllowHeadersName => "access-control-allow-headers"u8;
    private static ReadOnlySpan<byte> ExposeHeadersName => "access-control-expose-headers"u8;
    private static ReadOnlySpan<byte> MaxAgeName => "access-control-max-age"u8;

    // The request's Origin field when it is allowed (the request head outlives the response head), else -1.
    private int _originIndex = -1;

    public override FilterHeadersStatus OnRequestHeaders(HttpFilterManager stream)
    {
        HttpHeaderBlock headers = stream.Request.Headers;
        int index = headers.IndexOfName(OriginName);
        if (index < 0) return FilterHeadersStatus.Continue;
        ReadOnlySpan<byte> origin = headers.Value(headers[index]);
        CorsPolicy policy = factory.Policy;
        if (!policy.IsOriginAllowed(origin)) return FilterHeadersStatus.Continue;

        if (stream.Request.Method == HttpMethod.Options && headers.IndexOfName(RequestMethodName) >= 0)
        {
            stream.AddLocalReplyHeader(AllowOriginName, origin);
            if (policy.AllowCredentials) stream.AddLocalReplyHeader(AllowCredentialsName, "true"u8);
            if (policy.AllowMethods.Length > 0) stream.AddLocalReplyHeader(AllowMethodsName, policy.AllowMethods);
            if (policy.AllowHeaders.Length > 0) stream.AddLocalReplyHeader(AllowHeadersName, policy.AllowHeaders);
            if (policy.MaxAge.Length > 0) stream.AddLocalReplyHeader(MaxAgeName, policy.MaxAge);
            stream.SendLocalReply(200, ProxyError.LocalReply, default);
            return FilterHeadersStatus.StopIteration;
        }
        _originIndex = index;
        return FilterHeadersStatus.Continue;
    }

    public override FilterHeadersStatus OnResponseHeaders(HttpFilterManager stream)
    {
        if (_originIndex < 0) return FilterHeadersStatus.Continue;
        HttpHeaderBlock request = stream.Request.Headers;
        HttpHeaderBlock response = stream.Response.Headers;
        CorsPolicy policy = factory.Policy;
        response.Set(AllowOriginName, request.Value(request[_originIndex]));
        if (policy.AllowCredentials) response.Set(AllowCredentialsName, "true"u8);
        if (policy.ExposeHeaders.Length > 0) response.Set(ExposeHeadersName, policy.ExposeHeaders);
        return FilterHeadersStatus.Continue;
    }

    public override void Reset() => _originIndex = -1;

    public override void Release() => factory.Return(this);
}
