// A listener's compiled routes: virtual host by authority (exact, then longest "*.suffix", then longest "prefix*",
// then "*", Envoy's order), then the first route whose path prefix matches. Immutable and lock-free to read.
using System.Text;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Retry;

namespace FastPath.Routing;

internal sealed class Route(byte[] prefix, Cluster cluster, long timeoutMs)
{
    public byte[] Prefix { get; } = prefix;
    public Cluster Cluster { get; } = cluster;
    /// <summary>Route timeout in ms (0 = none): from forwarding the request to the response head.</summary>
    public long TimeoutMs { get; } = timeoutMs;
    /// <summary>The route's retry policy; null: no retries beyond the safe one on a dead reused connection.</summary>
    public RetryPolicy? Retry { get; init; }
}

internal sealed class VirtualHost(string name, Route[] routes)
{
    public string Name { get; } = name;
    public byte[] NameUtf8 { get; } = Encoding.UTF8.GetBytes(name);
    public Route[] Routes { get; } = routes;

    public Route? Match(ReadOnlySpan<byte> path)
    {
        foreach (Route r in Routes)
            if (path.StartsWith(r.Prefix)) return r;
        return null;
    }
}

internal sealed class RouteTable
{
    private const int MaxHostChars = 255;

    private readonly Dictionary<string, VirtualHost> _exact;
    private readonly Dictionary<string, VirtualHost>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
    private readonly (string Suffix, VirtualHost Host)[] _suffixes;   // "*.example.com" stored as ".example.com"
    private readonly (string Prefix, VirtualHost Host)[] _prefixes;   // "api*" stored as "api"
    private readonly VirtualHost? _any;

    public RouteTable(IEnumerable<(string Domain, VirtualHost Host)> domains)
    {
        _exact = new Dictionary<string, VirtualHost>(StringComparer.Ordinal);
        var suffixes = new List<(string, VirtualHost)>();
        var prefixes = new List<(string, VirtualHost)>();
        foreach ((string domain, VirtualHost host) in domains)
        {
            string d = domain.ToLowerInvariant();
            if (d == "*") _any ??= host;
            else if (d.StartsWith('*')) suffixes.Add((d[1..], host));
            else if (d.EndsWith('*')) prefixes.Add((d[..^1], host));
            else _exact.TryAdd(d, host);
        }
        _suffixes = suffixes.OrderByDescending(s => s.Item1.Length).ToArray();
        _prefixes = prefixes.OrderByDescending(p => p.Item1.Length).ToArray();
        _exactLookup = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public VirtualHost? MatchHost(ReadOnlySpan<byte> authority)
    {
        if (authority.Length > MaxHostChars) return _any;
        Span<char> host = stackalloc char[authority.Length];
        int n = Encoding.ASCII.GetChars(authority, host);
        host = host[..n];
        for (int i = 0; i < host.Length; i++) host[i] = char.ToLowerInvariant(host[i]);

        // Envoy's tier order holds with or without a port: in each tier the authority as sent (a port-qualified
        // domain such as "example.com:8080") is tried first, then the host without its port.
        int colon = host.LastIndexOf(':');
        ReadOnlySpan<char> bare = colon > 0 && host.IndexOf(']') < colon ? host[..colon] : default;
        if (_exactLookup.TryGetValue(host, out VirtualHost? v)) return v;
        if (!bare.IsEmpty && _exactLookup.TryGetValue(bare, out v)) return v;
        if ((v = MatchSuffix(host) ?? (bare.IsEmpty ? null : MatchSuffix(bare))) is not null) return v;
        if ((v = MatchPrefix(host) ?? (bare.IsEmpty ? null : MatchPrefix(bare))) is not null) return v;
        return _any;
    }

    private VirtualHost? MatchSuffix(ReadOnlySpan<char> host)
    {
        foreach ((string suffix, VirtualHost h) in _suffixes)
            if (host.Length > suffix.Length && host.EndsWith(suffix, StringComparison.Ordinal)) return h;
        return null;
    }

    private VirtualHost? MatchPrefix(ReadOnlySpan<char> host)
    {
        foreach ((string prefix, VirtualHost h) in _prefixes)
            if (host.Length > prefix.Length && host.StartsWith(prefix, StringComparison.Ordinal)) return h;
        return null;
    }
}
