// Reads the gateway YAML into GatewayConfig and validates it, collecting every error (file, line, field path) before
// reporting, as YARP's ConfigValidator does. Uses YamlDotNet's node model, which keeps positions and needs no
// reflection (Native AOT safe).
using System.Globalization;
using System.Net;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    public static GatewayConfig LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([new ConfigError(path, 0, 0, "(file)", e.Message)]);
        }
        return Parse(text, path);
    }

    public static GatewayConfig Parse(string yaml, string fileName)
    {
        var ctx = new Reader(fileName);
        var stream = new YamlStream();
        var scanner = new Scanner(new StringReader(yaml));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException e)
        {
            throw new ConfigException([new ConfigError(fileName, (int)e.Start.Line, (int)e.Start.Column, "(document)", e.InnerException?.Message ?? e.Message)]);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 16 throws this instead of a YamlException for some malformed input (an unclosed flow
            // sequence such as "port: [8080"); the scanner still knows where it stopped.
            Mark at = scanner.CurrentPosition;
            throw new ConfigException([new ConfigError(fileName, (int)at.Line, (int)at.Column, "(document)", "malformed YAML (unclosed bracket or quote?)")]);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ConfigException([new ConfigError(fileName, 1, 1, "(document)", "expected a mapping at the top level")]);
        }

        GatewayConfig config = ctx.ReadRoot(root) with { SourcePath = Path.GetFullPath(fileName) };
        // A field that could not be read is reported once: the semantic check of its placeholder value adds nothing.
        var unreadable = ctx.Errors.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
        ctx.Errors.AddRange(GatewayConfigValidator.Validate(config, fileName, ctx.Positions).Where(e => !unreadable.Contains(e.Path)));
        if (ctx.Errors.Count > 0) throw new ConfigException(ctx.Errors);
        return config;
    }

    private sealed partial class Reader(string file)
    {
        public readonly List<ConfigError> Errors = [];
        /// <summary>Where each field path was read, so semantic checks can point at a line too.</summary>
        public readonly Dictionary<string, Mark> Positions = [];

        public GatewayConfig ReadRoot(YamlMappingNode root)
        {
            var config = new GatewayConfig();
            foreach ((string key, YamlNode value) in Fields(root, "", "admin", "limits", "access_log", "listeners", "clusters",
                         "mesh", "peer_authentication", "path_normalization", "request_authentication",
                         "authorization_policies", "num_trusted_proxies"))
            {
                switch (key)
                {
                    case "admin": config = config with { Admin = ReadAdmin(value, "admin") }; break;
                    case "limits": config = config with { Limits = ReadLimits(value, "limits") }; break;
                    case "access_log": config = config with { AccessLog = ReadAccessLog(value, "access_log") }; break;
                    case "listeners": config = config with { Listeners = List(value, "listeners", ReadListener) }; break;
                    case "clusters": config = config with { Clusters = List(value, "clusters", ReadCluster) }; break;
                    case "mesh": config = config with { Mesh = ReadMesh(value, "mesh") }; break;
                    case "peer_authentication": config = config with { PeerAuthentication = ReadPeerAuthentication(value, "peer_authentication") }; break;
                    case "path_normalization" or "request_authentication": config = ReadSecurityField(config, key, value); break;
                    case "authorization_policies": config = config with { AuthorizationPolicies = List(value, key, ReadAuthorizationPolicy) }; break;
                    case "num_trusted_proxies": config = config with { NumTrustedProxies = Int(value, key, 0, 64) }; break;
                }
            }
            return config;
        }

        private AdminConfig ReadAdmin(YamlNode node, string path)
        {
            var admin = new AdminConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "address", "port"))
            {
                string p = $"{path}.{key}";
                admin = key switch
                {
                    "address" => admin with { Address = ReadAddressOrHostPort(value, p, admin.Address, out int? port) , Port = port ?? admin.Port },
                    _ => admin with { Port = Int(value, p, -1, 65535) },
                };
            }
            return admin;
        }

        private LimitsConfig ReadLimits(YamlNode node, string path)
        {
            var l = new LimitsConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "max_request_line_bytes", "max_header_bytes", "max_headers",
                         "header_read_timeout", "request_timeout", "idle_timeout", "stream_idle_timeout", "max_connections", "drain_timeout", "via"))
            {
                string p = $"{path}.{key}";
                l = key switch
                {
                    "max_request_line_bytes" => l with { MaxRequestLineBytes = Int(value, p, 64, 1 << 20) },
                    "max_header_bytes" => l with { MaxHeaderBytes = Int(value, p, 256, 1 << 20) },
                    "max_headers" => l with { MaxHeaders = Int(value, p, 1, 10_000) },
                    "header_read_timeout" => l with { HeaderReadTimeout = Duration(value, p) },
                    "request_timeout" => l with { RequestTimeout = Duration(value, p) },
                    "idle_timeout" => l with { IdleTimeout = Duration(value, p) },
                    "stream_idle_timeout" => l with { StreamIdleTimeout = Duration(value, p) },
                    "max_connections" => l with { MaxConnections = Int(value, p, 1, 10_000_000) },
                    "drain_timeout" => l with { DrainTimeout = Duration(value, p) },
                    _ => l with { Via = Scalar(value, p) },
                };
            }
            return l;
        }

        private AccessLogConfig ReadAccessLog(YamlNode node, string path)
        {
            var a = new AccessLogConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "path"))
                a = a with { Path = Scalar(value, $"{path}.{key}") ?? "off" };
            return a;
        }

        private IEnumerable<(string Key, YamlNode Value)> Fields(YamlNode node, string path, params string[] allowed)
        {
            Remember(path, node);
            if (node is not YamlMappingNode map)
            {
                Error(node, path == "" ? "(document)" : path, "expected a mapping");
                yield break;
            }
            foreach (KeyValuePair<YamlNode, YamlNode> pair in map.Children)
            {
                string key = (pair.Key as YamlScalarNode)?.Value ?? "";
                string fieldPath = path == "" ? key : $"{path}.{key}";
                if (Array.IndexOf(allowed, key) < 0)
                {
                    // Unknown fields are errors, never ignored: a typo must not silently change behaviour.
                    Error(pair.Key, fieldPath, $"unknown field (expected one of: {string.Join(", ", allowed)})");
                    continue;
                }
                Remember(fieldPath, pair.Value);
                yield return (key, pair.Value);
            }
        }

        private IReadOnlyList<T> List<T>(YamlNode node, string path, Func<YamlNode, string, T> read)
        {
            if (node is not YamlSequenceNode seq)
            {
                Error(node, path, "expected a list");
                return [];
            }
            var list = new List<T>(seq.Children.Count);
            for (int i = 0; i < seq.Children.Count; i++)
            {
                string p = $"{path}[{i}]";
                Remember(p, seq.Children[i]);
                list.Add(read(seq.Children[i], p));
            }
            return list;
        }

        private string? Scalar(YamlNode node, string path)
        {
            if (node is YamlScalarNode s) return s.Value;
            Error(node, path, "expected a single value");
            return null;
        }

        private int Int(YamlNode node, string path, int min, int max)
        {
            string? s = Scalar(node, path);
            if (s is null) return min;
            if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
            {
                Error(node, path, $"expected an integer from {min} to {max}, got '{s}'");
                return min;
            }
            return v;
        }

        private bool Bool(YamlNode node, string path)
        {
            string? s = Scalar(node, path);
            if (s is "true" or "True" or "TRUE") return true;
            if (s is null or "false" or "False" or "FALSE") return false;
            Error(node, path, $"expected true or false, got '{s}'");
            return false;
        }

        private TimeSpan Duration(YamlNode node, string path)
        {
            string? s = Scalar(node, path);
            if (s is not null && DurationParser.TryParse(s, out TimeSpan d)) return d;
            if (s is not null) Error(node, path, $"expected a duration such as 500ms, 10s or 2m, got '{s}'");
            return TimeSpan.Zero;
        }

        /// <summary>Reads "host", "host:port" or "[v6]:port".</summary>
        private string ReadAddressOrHostPort(YamlNode node, string path, string fallback, out int? port)
        {
            port = null;
            string? s = Scalar(node, path);
            if (string.IsNullOrWhiteSpace(s))
            {
                Error(node, path, "expected an address");
                return fallback;
            }
            if (HostPort.TryParse(s, out string host, out int p))
            {
                port = p;
                return host;
            }
            if (s.Contains(']') || (s.Count(c => c == ':') == 1))
            {
                Error(node, path, $"invalid address '{s}'");
                return fallback;
            }
            return s.Trim('[', ']');
        }

        private void Remember(string path, YamlNode node) => Positions[path] = node.Start;

        private void Error(YamlNode node, string path, string message) =>
            Errors.Add(new ConfigError(file, (int)node.Start.Line, (int)node.Start.Column, path, message));
    }
}

public static class DurationParser
{
    /// <summary>Parses "250ms", "10s", "2m", "1h" or a plain number of seconds.</summary>
    public static bool TryParse(string s, out TimeSpan value)
    {
        value = default;
        s = s.Trim();
        (string number, double scale) = s switch
        {
            _ when s.EndsWith("ms", StringComparison.Ordinal) => (s[..^2], 1.0),
            _ when s.EndsWith('s') => (s[..^1], 1000.0),
            _ when s.EndsWith('m') => (s[..^1], 60_000.0),
            _ when s.EndsWith('h') => (s[..^1], 3_600_000.0),
            _ => (s, 1000.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double n)
            || !double.IsFinite(n) || n < 0 || n * scale > TimeSpan.MaxValue.TotalMilliseconds) return false;
        value = TimeSpan.FromMilliseconds(n * scale);
        return true;
    }
}

public static class HostPort
{
    /// <summary>Splits "host:port" or "[v6]:port"; false when there is no valid port.</summary>
    public static bool TryParse(string s, out string host, out int port)
    {
        host = "";
        port = 0;
        s = s.Trim();
        int colon = s.LastIndexOf(':');
        if (colon <= 0) return false;
        string h = s[..colon];
        if (h.StartsWith('[')) { if (!h.EndsWith(']')) return false; h = h[1..^1]; }
        else if (h.Contains(':')) return false;
        if (!int.TryParse(s[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535) return false;
        host = h;
        return h.Length > 0;
    }

    public static bool IsIpOrHostName(string host) =>
        IPAddress.TryParse(host, out _) || Uri.CheckHostName(host) == UriHostNameType.Dns;
}
