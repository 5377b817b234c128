// A listener's compiled routes: virtual host by authority (exact, then longest "*.suffix", then longest "prefix*",
// then "*", Envoy's order), then the first route whose match holds (RouteIndex). Immutable and lock-free to read.
using System.Text;
using FastPath.Http;

namespace FastPath.Routing;

internal sealed class VirtualHost(string name, Route[] routes)
{
    private readonly RouteIndex _index = new(routes);

    public string Name { get; } = name;
    public byte[] NameUtf8 { get; } = Encoding.UTF8.GetBytes(name);
    public Route[] Routes { get; } = routes;

    /// <summary>The first route, in config order, whose match holds for the request.</summary>
    public Route? Match(HttpRequestHead request) => _index.Match(RouteInput.From(request));

    public Route? Match(in RouteInput input) => _index.Match(in input);
}

internal sealed class RouteTable
{
    private const int MaxHostChars = 255;

    private readonly Dictionary<string, VirtualHost> _exact;
    private readonly Dictionary<string, VirtualHost>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
    private readonly (string Suffix, VirtualHost Host)[] _suffixes;   // "*.example.com" stored as ".example.com"
    private readonly (string Prefix, VirtualHost Host)[] _prefixes;   // "api*" stored as "api"
    private readonly VirtualHost? _any;
    private readonly bool _onlyAny;

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
        _onlyAny = _exact.Count == 0 && _suffixes.Length == 0 && _prefixes.Length == 0;
        _exactLookup = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public VirtualHost? MatchHost(ReadOnlySpan<byte> authority)
    {
        // A table of "*" alone (a sidecar's inbound listener, a one-service gateway) has nothing to compare.
        if (_onlyAny || authority.Length > MaxHostChars) return _any;
        Span<char> host = stackalloc char[authority.Length];
        // Lower-cases ASCII and widens in one vectorised pass; a byte outside ASCII becomes '?', as before.
        if (Ascii.ToLower(authority, host, out int n) != System.Buffers.OperationStatus.Done)
        {
            n = Encoding.ASCII.GetChars(authority, host);
            for (int i = 0; i < n; i++) host[i] = char.ToLowerInvariant(host[i]);
        }
        host = host[..n];

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
