// Semantic checks for listeners' filter chains: names, match criteria (server names, transport, ALPN, CIDR ranges),
// no two chains claiming the same connections, and a tcp_proxy or virtual hosts that refer to real clusters.
using FastPath.Filters.Network;
using YamlDotNet.Core;

namespace FastPath.Config;

public static partial class GatewayConfigValidator
{
    private static void ValidateFilterChains(GatewayConfig config, string file, IReadOnlyDictionary<string, Mark>? positions,
        HashSet<string> clusterNames, List<ConfigError> errors)
    {
        void Error(string path, string message)
        {
            (int line, int column) = Position(positions, path);
            errors.Add(new ConfigError(file, line, column, path, message));
        }

        for (int i = 0; i < config.Listeners.Count; i++)
        {
            ListenerConfig l = config.Listeners[i];
            string lp = $"listeners[{i}]";
            if (l.ListenerFiltersTimeout <= TimeSpan.Zero) Error($"{lp}.listener_filters_timeout", "must be greater than zero");
            var names = new HashSet<string>(StringComparer.Ordinal);
            var validMatches = new List<int>();
            for (int j = 0; j < l.FilterChains.Count; j++)
            {
                FilterChainConfig c = l.FilterChains[j];
                string p = $"{lp}.filter_chains[{j}]";
                if (string.IsNullOrWhiteSpace(c.Name)) Error($"{p}.name", "a filter chain needs a name");
                else if (!names.Add(c.Name)) Error($"{p}.name", $"duplicate filter chain name '{c.Name}' on this listener");
                if (ValidateMatch(c.Match, $"{p}.match", Error)) validMatches.Add(j);

                if (c.TcpProxy is null && c.VirtualHosts.Count == 0) Error(p, "a filter chain needs tcp_proxy or virtual_hosts");
                else if (c.TcpProxy is not null && c.VirtualHosts.Count > 0) Error($"{p}.tcp_proxy", "a filter chain has tcp_proxy or virtual_hosts, not both");
                if (c.TcpProxy is { } t) ValidateTcpProxy(t, $"{p}.tcp_proxy", clusterNames, Error);
                if (c.VirtualHosts.Count > 0) ValidateChainVirtualHosts(config, c, $"{p}.virtual_hosts", file, positions, errors);
            }
            // Overlaps among the chains whose criteria are valid (an invalid one is reported already).
            if (validMatches.Count < 2) continue;
            FilterChainMatcher.Build([.. validMatches.Select(j => l.FilterChains[j].Match)], out List<(int Chain, int Other)> conflicts);
            foreach ((int c, int o) in conflicts)
            {
                (int chain, int other) = (validMatches[c], validMatches[o]);
                Error($"{lp}.filter_chains[{chain}].match",
                    $"matches the same connections as filter chain '{l.FilterChains[other].Name}' (filter_chains[{other}]): one of them could never be chosen");
            }
        }
    }

    private static bool ValidateMatch(FilterChainMatchConfig m, string p, Action<string, string> error)
    {
        int before = 0, problems = 0;
        void Error(string path, string message)
        {
            problems++;
            error(path, message);
        }

        for (int k = 0; k < m.ServerNames.Count; k++)
        {
            string n = m.ServerNames[k];
            string name = n.StartsWith("*.", StringComparison.Ordinal) ? n[2..] : n;
            if (name.Length == 0 || name.Length > 253 || name.Contains('*') || Uri.CheckHostName(name) != UriHostNameType.Dns)
                Error($"{p}.server_names[{k}]", $"invalid server name '{n}' (an exact DNS name or '*.suffix')");
        }
        if (m.TransportProtocol is { } t && t != FilterChainMatcher.TransportTls && t != FilterChainMatcher.TransportRaw)
            Error($"{p}.transport_protocol", $"unknown transport protocol '{t}' (tls or raw_buffer)");
        for (int k = 0; k < m.ApplicationProtocols.Count; k++)
        {
            string a = m.ApplicationProtocols[k];
            if (a.Length is 0 or > 255 || a.Any(ch => ch is <= ' ' or > '~'))
                Error($"{p}.application_protocols[{k}]", $"invalid ALPN protocol '{a}'");
        }
        for (int k = 0; k < m.SourcePrefixRanges.Count; k++)
        {
            if (!FilterChainMatcher.TryParseRange(m.SourcePrefixRanges[k], out _))
                Error($"{p}.source_prefix_ranges[{k}]", $"invalid CIDR range '{m.SourcePrefixRanges[k]}' (such as 10.0.0.0/8 or 2001:db8::/32)");
        }
        return problems == before;
    }

    private static void ValidateTcpProxy(TcpProxyConfig t, string p, HashSet<string> clusterNames, Action<string, string> error)
    {
        bool single = !string.IsNullOrEmpty(t.Cluster);
        if (single == t.WeightedClusters.Count > 0) error(p, "tcp_proxy needs exactly one of cluster or weighted_clusters");
        if (single && !clusterNames.Contains(t.Cluster!)) error($"{p}.cluster", $"unknown cluster '{t.Cluster}'");
        for (int k = 0; k < t.WeightedClusters.Count; k++)
        {
            TcpProxyClusterWeight w = t.WeightedClusters[k];
            if (string.IsNullOrEmpty(w.Cluster)) error($"{p}.weighted_clusters[{k}].cluster", "a weighted cluster needs a cluster");
            else if (!clusterNames.Contains(w.Cluster)) error($"{p}.weighted_clusters[{k}].cluster", $"unknown cluster '{w.Cluster}'");
            if (w.Weight < 1) error($"{p}.weighted_clusters[{k}].weight", "must be at least 1");
        }
        if (t.IdleTimeout < TimeSpan.Zero) error($"{p}.idle_timeout", "must not be negative (0 disables it)");
    }

    // An HTTP chain's virtual hosts obey exactly the rules of a listener's, whatever those grow to: they are checked
    // by validating a listener that holds them and moving the errors to the chain's path.
    private static void ValidateChainVirtualHosts(GatewayConfig config, FilterChainConfig chain, string path, string file,
        IReadOnlyDictionary<string, Mark>? positions, List<ConfigError> errors)
    {
        const string Probe = "listeners[0].virtual_hosts";
        var probe = config with
        {
            Listeners = [new ListenerConfig { Name = "probe", Address = "127.0.0.1", Port = 1, VirtualHosts = chain.VirtualHosts }],
        };
        // Positions seen from the probe, so rules that look at how a field was written (a route's prefix shorthand)
        // judge the chain's own YAML.
        Dictionary<string, Mark>? probePositions = null;
        if (positions is not null)
        {
            probePositions = new Dictionary<string, Mark>(StringComparer.Ordinal);
            foreach ((string key, Mark mark) in positions)
                if (key.StartsWith(path, StringComparison.Ordinal)) probePositions[Probe + key[path.Length..]] = mark;
        }
        foreach (ConfigError e in Validate(probe, file, probePositions))
        {
            if (!e.Path.StartsWith(Probe, StringComparison.Ordinal)) continue;
            string moved = path + e.Path[Probe.Length..];
            (int line, int column) = Position(positions, moved);
            errors.Add(e with { Path = moved, Line = line, Column = column });
        }
    }
}
