// One compiled match of a rule: an Istio attribute with its values (any may match) and not-values (none may), e.g.
// from.source.ipBlocks, to.operation.paths or a when condition on request.headers[x-token]. Matching follows Envoy's
// RBAC principals and permissions as Istio generates them: an absent attribute matches no value, so a not-value
// excludes nothing on it (notPrincipals holds for a plaintext peer).
using System.Buffers;
using FastPath.Http;

namespace FastPath.Security.Authorization;

internal enum AuthorizationAttribute : byte
{
    SourcePrincipal,
    SourceNamespace,
    SourceIp,
    RemoteIp,
    RequestPrincipal,
    RequestAudiences,
    RequestPresenter,
    RequestClaim,
    RequestHeader,
    Host,
    Method,
    Path,
    DestinationPort,
    DestinationIp,
    ConnectionSni,
}

internal sealed class AuthorizationCondition
{
    [ThreadStatic] private static List<string>? t_claimValues;

    public AuthorizationCondition(AuthorizationAttribute attribute, StringPattern[] values, StringPattern[] notValues)
    {
        Attribute = attribute;
        Values = values;
        NotValues = notValues;
    }

    public AuthorizationAttribute Attribute { get; }
    public StringPattern[] Values { get; }
    public StringPattern[] NotValues { get; }
    public IpNetwork[] Networks { get; init; } = [];
    public IpNetwork[] NotNetworks { get; init; } = [];
    public int[] Ports { get; init; } = [];
    public int[] NotPorts { get; init; } = [];
    /// <summary>request.headers[name]: the name, lower-case.</summary>
    public byte[] HeaderName { get; init; } = [];
    /// <summary>requestPrincipals and request.auth.principal: issuer and subject patterns (Istio splits them).</summary>
    public RequestPrincipalPattern[] Principals { get; init; } = [];
    public RequestPrincipalPattern[] NotPrincipals { get; init; } = [];
    /// <summary>request.auth.claims[a][b]: the path.</summary>
    public string[] ClaimPath { get; init; } = [];

    /// <summary>Istio's HTTP-only attributes: a TCP connection has none of them.</summary>
    public bool IsHttpOnly => Attribute is AuthorizationAttribute.RequestPrincipal or AuthorizationAttribute.RequestAudiences
        or AuthorizationAttribute.RequestPresenter or AuthorizationAttribute.RequestClaim or AuthorizationAttribute.RequestHeader
        or AuthorizationAttribute.Host or AuthorizationAttribute.Method or AuthorizationAttribute.Path;

    public bool Matches(ref AuthorizationContext ctx)
    {
        switch (Attribute)
        {
            case AuthorizationAttribute.SourceIp: return MatchIp(ctx.SourceAddress);
            case AuthorizationAttribute.RemoteIp: return MatchIp(ctx.RemoteAddress);
            case AuthorizationAttribute.DestinationIp: return MatchIp(ctx.DestinationAddress);
            case AuthorizationAttribute.DestinationPort:
                return (Ports.Length == 0 || Array.IndexOf(Ports, ctx.DestinationPort) >= 0) && Array.IndexOf(NotPorts, ctx.DestinationPort) < 0;
            case AuthorizationAttribute.SourcePrincipal: return MatchString(ctx.Peer?.Principal);
            case AuthorizationAttribute.SourceNamespace: return MatchString(ctx.Peer?.Namespace);
            case AuthorizationAttribute.RequestPrincipal: return MatchRequestPrincipal(ctx.Identity);
            case AuthorizationAttribute.RequestPresenter: return MatchString(ctx.Identity?.Presenter);
            case AuthorizationAttribute.RequestAudiences: return ctx.Identity is { } id ? MatchList(id.Audiences) : Values.Length == 0;
            case AuthorizationAttribute.RequestClaim: return MatchClaim(ctx.Identity);
            case AuthorizationAttribute.ConnectionSni:
                return ctx.ServerName is not null ? MatchString(ctx.ServerName)
                    : ctx.ServerNameUtf8.IsEmpty ? MatchString(null) : MatchBytes(ctx.ServerNameUtf8, present: true);
            default: return ctx.Request is { } request && MatchRequest(request);
        }
    }

    private bool MatchRequest(HttpRequestHead request)
    {
        switch (Attribute)
        {
            case AuthorizationAttribute.Method: return MatchBytes(request.MethodBytes, present: true);
            case AuthorizationAttribute.Path:
                ReadOnlySpan<byte> path = request.PathOnly; // Istio matches the path without its query
                return MatchBytes(path, present: !path.IsEmpty);
            case AuthorizationAttribute.Host: return MatchHost(request.Authority);
            default: return MatchHeader(request.Headers);
        }
    }

    private bool MatchIp(UInt128 address)
    {
        bool any = Networks.Length == 0;
        foreach (IpNetwork n in Networks)
        {
            if (!n.Contains(address)) continue;
            any = true;
            break;
        }
        if (!any) return false;
        foreach (IpNetwork n in NotNetworks) if (n.Contains(address)) return false;
        return true;
    }

    private bool MatchRequestPrincipal(RequestIdentity? identity)
    {
        if (identity is null) return Principals.Length == 0;
        bool any = Principals.Length == 0;
        foreach (RequestPrincipalPattern p in Principals)
        {
            if (!p.Matches(identity)) continue;
            any = true;
            break;
        }
        if (!any) return false;
        foreach (RequestPrincipalPattern p in NotPrincipals) if (p.Matches(identity)) return false;
        return true;
    }

    private bool MatchString(string? value)
    {
        if (value is null) return Values.Length == 0;
        return (Values.Length == 0 || Any(Values, value)) && !Any(NotValues, value);
    }

    private bool MatchBytes(ReadOnlySpan<byte> value, bool present)
    {
        if (!present) return Values.Length == 0;
        return (Values.Length == 0 || Any(Values, value)) && !Any(NotValues, value);
    }

    private static bool Any(StringPattern[] patterns, string value)
    {
        foreach (StringPattern p in patterns) if (p.Matches(value)) return true;
        return false;
    }

    private static bool Any(StringPattern[] patterns, ReadOnlySpan<byte> value)
    {
        foreach (StringPattern p in patterns) if (p.Matches(value)) return true;
        return false;
    }

    /// <summary>A list attribute (audiences, an array claim): a value matches when any item does.</summary>
    private bool MatchList(IReadOnlyList<string> items)
    {
        bool any = Values.Length == 0;
        for (int i = 0; i < items.Count && !any; i++) any = Any(Values, items[i]);
        if (!any) return false;
        for (int i = 0; i < items.Count; i++) if (Any(NotValues, items[i])) return false;
        return true;
    }

    private bool MatchClaim(RequestIdentity? identity)
    {
        List<string> values = t_claimValues ??= new List<string>(4);
        if (identity is null || !identity.TryGetClaim(ClaimPath, values)) return Values.Length == 0;
        bool matched = MatchList(values);
        values.Clear();
        return matched;
    }

    /// <summary>Hosts compare case-insensitively, with the authority's port or without it (Istio strips the port).</summary>
    private bool MatchHost(ReadOnlySpan<byte> authority)
    {
        if (authority.IsEmpty) return Values.Length == 0;
        ReadOnlySpan<byte> host = StripPort(authority);
        return (Values.Length == 0 || Any(Values, authority) || Any(Values, host)) && !Any(NotValues, authority) && !Any(NotValues, host);
    }

    private static ReadOnlySpan<byte> StripPort(ReadOnlySpan<byte> authority)
    {
        int colon = authority.LastIndexOf((byte)':');
        if (colon < 0) return authority;
        if (authority[0] == '[') return authority[colon - 1] == ']' ? authority[..colon] : authority; // [v6]:port
        return authority[..colon].IndexOf((byte)':') < 0 ? authority[..colon] : authority;
    }

    /// <summary>
    /// Envoy matches a header against all its fields joined with ","; one field (the common case) is compared in
    /// place, several are joined into a pooled buffer.
    /// </summary>
    private bool MatchHeader(HttpHeaderBlock headers)
    {
        int first = -1, count = 0, length = 0;
        for (int i = 0; i < headers.Count; i++)
        {
            ref HeaderEntry e = ref headers[i];
            if (e.Skip || e.NameLength != HeaderName.Length || !System.Text.Ascii.EqualsIgnoreCase(headers.Name(e), HeaderName)) continue;
            if (first < 0) first = i;
            count++;
            length += e.ValueLength + 1;
        }
        if (count == 0) return MatchBytes(default, present: false);
        if (count == 1) return MatchBytes(headers.Value(headers[first]), present: true);
        byte[] joined = ArrayPool<byte>.Shared.Rent(length);
        int at = 0;
        for (int i = first; i < headers.Count; i++)
        {
            ref HeaderEntry e = ref headers[i];
            if (e.Skip || e.NameLength != HeaderName.Length || !System.Text.Ascii.EqualsIgnoreCase(headers.Name(e), HeaderName)) continue;
            if (at > 0) joined[at++] = (byte)',';
            headers.Value(e).CopyTo(joined.AsSpan(at));
            at += e.ValueLength;
        }
        bool matched = MatchBytes(joined.AsSpan(0, at), present: true);
        ArrayPool<byte>.Shared.Return(joined);
        return matched;
    }
}
