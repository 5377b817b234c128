// Chooses a listener's filter chain for a connection the way Envoy does: level by level (destination port, server
// name, transport protocol, application protocol, source range), keeping at each level only the most specific
// candidates (an exact server name before the longest "*.suffix" before chains that name none; the longest source
// prefix before chains that name none). Like Envoy it never backtracks: a connection whose SNI matched a chain that
// then rejects it on ALPN is not given to a chain without server names. Built once per config; a selection is a few
// dictionary lookups with no allocation.
using System.Net;
using FastPath.Config;

namespace FastPath.Filters.Network;

/// <summary>What a connection shows the chain selection.</summary>
internal readonly ref struct FilterChainQuery
{
    public int DestinationPort { get; init; }
    /// <summary>Lower-cased SNI; empty without TLS or without the extension.</summary>
    public ReadOnlySpan<byte> ServerName { get; init; }
    public bool IsTls { get; init; }
    /// <summary>ALPN list in wire form (length byte before each name), the client's order.</summary>
    public ReadOnlySpan<byte> ApplicationProtocols { get; init; }
    public IPAddress? Source { get; init; }
}

internal sealed class FilterChainMatcher
{
    public const string TransportTls = "tls";
    public const string TransportRaw = "raw_buffer";
    private const int MaxNameChars = 255;

    private readonly Dictionary<int, NameLevel> _ports = [];
    private NameLevel? _anyPort;

    private FilterChainMatcher()
    {
    }

    /// <summary>
    /// Builds the matcher over chains' criteria (assumed valid); <paramref name="conflicts"/> lists pairs of chain
    /// indexes that claim the same combination (a config error: the second could never be chosen).
    /// </summary>
    public static FilterChainMatcher Build(IReadOnlyList<FilterChainMatchConfig> matches, out List<(int Chain, int Other)> conflicts)
    {
        var matcher = new FilterChainMatcher();
        conflicts = [];
        for (int i = 0; i < matches.Count; i++)
        {
            FilterChainMatchConfig m = matches[i];
            var seen = new HashSet<int>();
            foreach (int? port in m.DestinationPort is { } dp ? [dp] : new int?[] { null })
            foreach (string? name in OrAny(m.ServerNames))
            foreach (string? alpn in OrAny(m.ApplicationProtocols))
            foreach (string? source in OrAny(m.SourcePrefixRanges))
            {
                NameLevel names = port is { } p
                    ? matcher._ports.TryGetValue(p, out NameLevel? n) ? n : matcher._ports[p] = new NameLevel()
                    : matcher._anyPort ??= new NameLevel();
                TransportLevel transports = names.Get(name);
                AlpnLevel alpns = transports.Get(m.TransportProtocol);
                SourceLevel sources = alpns.Get(alpn);
                int existing = sources.Add(source, i);
                if (existing >= 0 && existing != i && seen.Add(existing)) conflicts.Add((i, existing));
            }
        }
        matcher.Freeze();
        return matcher;
    }

    private static IEnumerable<string?> OrAny(IReadOnlyList<string> values) => values.Count == 0 ? new string?[] { null } : (IEnumerable<string?>)values;

    private void Freeze()
    {
        _anyPort?.Freeze();
        foreach (NameLevel n in _ports.Values) n.Freeze();
    }

    /// <summary>The chosen chain's index, or -1 when none matches (the default chain, if any, then serves).</summary>
    public int Select(in FilterChainQuery query)
    {
        NameLevel? names = _ports.Count > 0 && _ports.TryGetValue(query.DestinationPort, out NameLevel? n) ? n : _anyPort;
        if (names is null) return -1;
        TransportLevel? transports = names.Match(query.ServerName);
        if (transports is null) return -1;
        AlpnLevel? alpns = query.IsTls ? transports.Tls ?? transports.Any : transports.Raw ?? transports.Any;
        if (alpns is null) return -1;
        SourceLevel? sources = alpns.Match(query.ApplicationProtocols);
        return sources is null ? -1 : sources.Match(query.Source);
    }

    private static int Widen(ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        for (int i = 0; i < bytes.Length; i++) chars[i] = (char)bytes[i];
        return bytes.Length;
    }

    private sealed class NameLevel
    {
        private readonly Dictionary<string, TransportLevel> _exact = new(StringComparer.Ordinal);
        // "*.example.com" stored as ".example.com": a name matches through its suffix after any of its dots.
        private readonly Dictionary<string, TransportLevel> _wildcard = new(StringComparer.Ordinal);
        private TransportLevel? _any;
        private Dictionary<string, TransportLevel>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
        private Dictionary<string, TransportLevel>.AlternateLookup<ReadOnlySpan<char>> _wildcardLookup;

        public TransportLevel Get(string? name)
        {
            if (name is null) return _any ??= new TransportLevel();
            string n = name.ToLowerInvariant();
            Dictionary<string, TransportLevel> map = n.StartsWith("*.", StringComparison.Ordinal) ? _wildcard : _exact;
            string key = map == _wildcard ? n[1..] : n;
            return map.TryGetValue(key, out TransportLevel? t) ? t : map[key] = new TransportLevel();
        }

        public void Freeze()
        {
            _exactLookup = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
            _wildcardLookup = _wildcard.GetAlternateLookup<ReadOnlySpan<char>>();
            _any?.Freeze();
            foreach (TransportLevel t in _exact.Values) t.Freeze();
            foreach (TransportLevel t in _wildcard.Values) t.Freeze();
        }

        public TransportLevel? Match(ReadOnlySpan<byte> serverName)
        {
            if (serverName.IsEmpty || serverName.Length > MaxNameChars || (_exact.Count == 0 && _wildcard.Count == 0)) return _any;
            Span<char> name = stackalloc char[MaxNameChars];
            name = name[..Widen(serverName, name)];
            if (_exact.Count > 0 && _exactLookup.TryGetValue(name, out TransportLevel? t)) return t;
            if (_wildcard.Count > 0)
            {
                // Longest suffix first: a.b.example.com tries .b.example.com, then .example.com, then .com.
                for (int dot = name.IndexOf('.'); dot >= 0; dot = NextDot(name, dot))
                    if (dot > 0 && _wildcardLookup.TryGetValue(name[dot..], out t)) return t;
            }
            return _any;
        }

        private static int NextDot(ReadOnlySpan<char> name, int dot)
        {
            int next = name[(dot + 1)..].IndexOf('.');
            return next < 0 ? -1 : dot + 1 + next;
        }
    }

    private sealed class TransportLevel
    {
        public AlpnLevel? Tls { get; private set; }
        public AlpnLevel? Raw { get; private set; }
        public AlpnLevel? Any { get; private set; }

        public AlpnLevel Get(string? transport) => transport switch
        {
            TransportTls => Tls ??= new AlpnLevel(),
            TransportRaw => Raw ??= new AlpnLevel(),
            _ => Any ??= new AlpnLevel(),
        };

        public void Freeze()
        {
            Tls?.Freeze();
            Raw?.Freeze();
            Any?.Freeze();
        }
    }

    private sealed class AlpnLevel
    {
        private readonly Dictionary<string, SourceLevel> _protocols = new(StringComparer.Ordinal);
        private Dictionary<string, SourceLevel>.AlternateLookup<ReadOnlySpan<char>> _lookup;
        private SourceLevel? _any;

        public SourceLevel Get(string? protocol)
        {
            if (protocol is null) return _any ??= new SourceLevel();
            return _protocols.TryGetValue(protocol, out SourceLevel? s) ? s : _protocols[protocol] = new SourceLevel();
        }

        public void Freeze()
        {
            _lookup = _protocols.GetAlternateLookup<ReadOnlySpan<char>>();
            _any?.Freeze();
            foreach (SourceLevel s in _protocols.Values) s.Freeze();
        }

        /// <summary>The first of the client's protocols some chain names wins (Envoy walks the client's list in order).</summary>
        public SourceLevel? Match(ReadOnlySpan<byte> wire)
        {
            if (_protocols.Count == 0) return _any;
            Span<char> name = stackalloc char[255];
            while (!wire.IsEmpty)
            {
                int length = wire[0];
                if (length + 1 > wire.Length) break;
                int n = Widen(wire.Slice(1, length), name);
                if (_lookup.TryGetValue(name[..n], out SourceLevel? s)) return s;
                wire = wire[(1 + length)..];
            }
            return _any;
        }
    }

    private sealed class SourceLevel
    {
        private readonly List<(IPNetwork Range, int Chain)> _ranges = [];
        private (IPNetwork Range, int Chain)[] _sorted = [];
        private int _any = -1;

        /// <summary>Adds a leaf; returns the chain already there (a duplicate match) or -1.</summary>
        public int Add(string? range, int chain)
        {
            if (range is null)
            {
                if (_any >= 0) return _any;
                _any = chain;
                return -1;
            }
            IPNetwork network = ParseRange(range);
            foreach ((IPNetwork r, int c) in _ranges)
                if (r.Equals(network)) return c;
            _ranges.Add((network, chain));
            return -1;
        }

        public void Freeze() => _sorted = [.. _ranges.OrderByDescending(r => r.Range.PrefixLength)];

        public int Match(IPAddress? source)
        {
            if (_sorted.Length > 0 && source is not null)
            {
                if (source.IsIPv4MappedToIPv6) source = source.MapToIPv4();
                foreach ((IPNetwork range, int chain) in _sorted)
                    if (range.Contains(source)) return chain;
            }
            return _any;
        }
    }

    /// <summary>Parses "10.0.0.0/8" (a bare address is a /32 or /128); false for anything else.</summary>
    public static bool TryParseRange(string s, out IPNetwork network)
    {
        network = default;
        if (string.IsNullOrWhiteSpace(s)) return false;
        if (!s.Contains('/') && IPAddress.TryParse(s, out IPAddress? single))
        {
            network = new IPNetwork(single, single.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }
        return IPNetwork.TryParse(s, out network);
    }

    private static IPNetwork ParseRange(string s) =>
        TryParseRange(s, out IPNetwork n) ? n : throw new ArgumentException($"invalid CIDR range '{s}'", nameof(s));
}
