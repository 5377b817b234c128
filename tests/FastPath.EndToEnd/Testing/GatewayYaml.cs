// Builds gateway YAML files for tests: one listener with a catch-all virtual host, routes by prefix, clusters, limits
// and an access log. The listener port is filled in by GatewayProcess when it starts the process.
using System.Text;

namespace FastPath.EndToEnd.Testing;

public sealed class GatewayYaml
{
    private readonly List<(string Prefix, string Cluster, string? Timeout, string[] Extra)> _routes = [];
    private readonly List<string> _rawRoutes = [];
    private readonly List<(string Name, string[] Endpoints, string[] Extra)> _clusters = [];
    private readonly List<(string Key, string Value)> _limits = [];
    private readonly List<string> _hostFields = [];
    private readonly Dictionary<int, string[]> _routeFields = [];

    /// <summary>Set by GatewayProcess before the file is written; rewrites of the file keep it.</summary>
    public int ListenPort { get; set; }
    /// <summary>0 lets the gateway pick; the tests read the bound port from its start-up line.</summary>
    public int AdminPort { get; set; }
    public string? AccessLogPath { get; set; }
    public string ListenerName { get; set; } = "main";
    /// <summary>More listeners (same routes) on fixed ports, besides the main one.</summary>
    public List<(string Name, int Port)> ExtraListeners { get; } = [];
    /// <summary>Raw top-level YAML lines (mesh, peer_authentication, path_normalization, request_authentication, ...).</summary>
    public List<string> RootYaml { get; } = [];
    /// <summary>Raw YAML lines under the main listener (indented by the caller relative to its fields), e.g. filter_chains.</summary>
    public List<string> ListenerYaml { get; } = [];

    /// <param name="extra">Additional route fields as "key: value" lines (e.g. "retries: {attempts: 2}").</param>
    public GatewayYaml Route(string prefix, string cluster, string? timeout = null, params string[] extra)
    {
        _routes.Add((prefix, cluster, timeout, extra));
        return this;
    }

    /// <summary>
    /// A route written as YAML: its fields as block lines ("match: {path: /x}\ncluster: a"), for the match kinds and
    /// actions Route cannot express. Raw routes come before the Route ones, in the order added.
    /// </summary>
    public GatewayYaml RawRoute(string yaml)
    {
        _rawRoutes.Add(yaml);
        return this;
    }

    /// <param name="endpoints">"host:port", or a flow mapping such as "{address: 127.0.0.1:9000, weight: 3}".</param>
    /// <param name="extra">Additional cluster fields as "key: value" lines (e.g. "connect_timeout: 1s").</param>
    public GatewayYaml Cluster(string name, string[] endpoints, params string[] extra)
    {
        _clusters.Add((name, endpoints, extra));
        return this;
    }

    public GatewayYaml Cluster(string name, string endpoint) => Cluster(name, [endpoint]);

    /// <summary>More fields of the last added route, as YAML lines (e.g. "fault: {abort: {http_status: 503}}").</summary>
    public GatewayYaml RouteFields(params string[] lines)
    {
        _routeFields[_routes.Count - 1] = lines;
        return this;
    }

    /// <summary>More fields of the virtual host, as YAML lines (e.g. "rate_limit: {max_tokens: 10, fill_interval: 1s}").</summary>
    public GatewayYaml HostFields(params string[] lines)
    {
        _hostFields.AddRange(lines);
        return this;
    }

    public GatewayYaml Limit(string key, string value)
    {
        _limits.Add((key, value));
        return this;
    }

    /// <summary>Repoints every route to another cluster (what an operator does in a reload).</summary>
    public GatewayYaml SwitchRoutes(string fromCluster, string toCluster)
    {
        for (int i = 0; i < _routes.Count; i++)
            if (_routes[i].Cluster == fromCluster) _routes[i] = _routes[i] with { Cluster = toCluster };
        return this;
    }

    public string Render()
    {
        var s = new StringBuilder();
        s.Append("admin:\n  address: 127.0.0.1\n  port: ").Append(AdminPort).Append('\n');
        if (_limits.Count > 0)
        {
            s.Append("limits:\n");
            foreach ((string k, string v) in _limits) s.Append("  ").Append(k).Append(": ").Append(v).Append('\n');
        }
        if (AccessLogPath is not null) s.Append("access_log:\n  path: ").Append(AccessLogPath).Append('\n');
        foreach (string line in RootYaml) s.Append(line).Append('\n');
        s.Append("listeners:\n");
        foreach ((string name, int port) in ExtraListeners.Prepend((ListenerName, ListenPort)))
        {
            s.Append("  - name: ").Append(name).Append("\n    address: 127.0.0.1\n    port: ").Append(port).Append('\n');
            if (name == ListenerName)
                foreach (string line in ListenerYaml) s.Append("    ").Append(line).Append('\n');
            // A listener with filter chains may have no virtual hosts (no default chain).
            if (_routes.Count == 0 && ListenerYaml.Count > 0) continue;
            s.Append("    virtual_hosts:\n      - name: all\n        domains: [\"*\"]\n");
            foreach (string line in _hostFields) s.Append("        ").Append(line).Append('\n');
            s.Append("        routes:\n");
            foreach (string raw in _rawRoutes)
                s.Append("          - ").Append(raw.Trim().Replace("\n", "\n            ", StringComparison.Ordinal)).Append('\n');
            for (int r = 0; r < _routes.Count; r++)
            {
                (string prefix, string cluster, string? timeout, string[] extra) = _routes[r];
                s.Append("          - prefix: ").Append(prefix).Append("\n            cluster: ").Append(cluster).Append('\n');
                if (timeout is not null) s.Append("            timeout: ").Append(timeout).Append('\n');
                foreach (string line in _routeFields.GetValueOrDefault(r, [])) s.Append("            ").Append(line).Append('\n');
                foreach (string line in extra) s.Append("            ").Append(line).Append('\n');
            }
        }
        s.Append("clusters:\n");
        foreach ((string name, string[] endpoints, string[] extra) in _clusters)
        {
            s.Append("  - name: ").Append(name).Append('\n');
            s.Append("    endpoints: [").Append(string.Join(", ", endpoints.Select(e => e.StartsWith('{') ? e : $"\"{e}\""))).Append("]\n");
            foreach (string line in extra) s.Append("    ").Append(line).Append('\n');
        }
        return s.ToString();
    }

    public override string ToString() => Render();
}
