// Command-line contract of the gateway host. The quick-mode flags (--listen, --upstream, --admin) are stable:
// scripts outside the project rely on them.
using FastPath.Config;

namespace FastPath.Gateway;

internal sealed record GatewayOptions
{
    public string? ConfigPath { get; init; }
    public string? Listen { get; init; }
    public IReadOnlyList<string> Upstreams { get; init; } = [];
    public string? Admin { get; init; }
    public string? AccessLog { get; init; }
    public bool CheckOnly { get; init; }
    public bool Help { get; init; }

    public const string Usage = """
        fastpath-gateway: FastPath standalone ingress gateway

        Usage:
          fastpath-gateway                        run examples/gateway.yaml (the demo)
          fastpath-gateway --config FILE          run a gateway YAML file (reloaded on change and on SIGHUP)
          fastpath-gateway --listen ADDR:PORT --upstream HOST:PORT[,HOST:PORT...] [--admin ADDR:PORT]
                                                  quick mode: proxy everything to the upstreams, no file
        Options:
          --access-log PATH|stdout|off            access log destination (default: off, or the file's setting)
          --check                                 validate the configuration and exit (0 valid, 2 invalid)
          -h, --help                              this text

        SIGTERM/SIGINT drain gracefully (stop accepting, finish requests in flight, bounded by drain_timeout).
        Exit codes: 0 after a clean drain, 2 for an invalid configuration or arguments.
        """;

    public static GatewayOptions Parse(IReadOnlyList<string> args, out string? error)
    {
        error = null;
        var o = new GatewayOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            string? Next()
            {
                if (i + 1 < args.Count) return args[++i];
                return null;
            }
            switch (a)
            {
                case "--config" or "-c": o = o with { ConfigPath = Next() ?? Missing(a, ref error) }; break;
                case "--listen": o = o with { Listen = Next() ?? Missing(a, ref error) }; break;
                case "--upstream":
                    string? ups = Next() ?? Missing(a, ref error);
                    o = o with { Upstreams = [.. o.Upstreams, .. (ups ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] };
                    break;
                case "--admin": o = o with { Admin = Next() ?? Missing(a, ref error) }; break;
                case "--access-log": o = o with { AccessLog = Next() ?? Missing(a, ref error) }; break;
                case "--check": o = o with { CheckOnly = true }; break;
                case "-h" or "--help": o = o with { Help = true }; break;
                default: error ??= $"unknown argument '{a}'"; break;
            }
        }
        if (error is null && o.ConfigPath is not null && (o.Listen is not null || o.Upstreams.Count > 0))
            error = "--config cannot be combined with --listen/--upstream";
        if (error is null && (o.Listen is null) != (o.Upstreams.Count == 0))
            error = "quick mode needs both --listen and --upstream";
        return o;
    }

    private static string? Missing(string flag, ref string? error)
    {
        error ??= $"{flag} needs a value";
        return null;
    }

    /// <summary>Quick mode as a config: one listener, one catch-all route, one round-robin cluster.</summary>
    public GatewayConfig ToQuickConfig()
    {
        const string source = "(command line)";
        var errors = new List<ConfigError>();
        if (!HostPort.TryParse(Listen!, out string listenHost, out int listenPort))
            errors.Add(new ConfigError(source, 0, 0, "--listen", $"expected ADDR:PORT, got '{Listen}'"));
        var endpoints = new List<EndpointConfig>();
        foreach (string u in Upstreams)
        {
            if (HostPort.TryParse(u, out string h, out int p)) endpoints.Add(new EndpointConfig { Host = h, Port = p });
            else errors.Add(new ConfigError(source, 0, 0, "--upstream", $"expected HOST:PORT, got '{u}'"));
        }
        var admin = new AdminConfig();
        if (Admin is not null)
        {
            if (HostPort.TryParse(Admin, out string ah, out int ap)) admin = new AdminConfig { Address = ah, Port = ap };
            else errors.Add(new ConfigError(source, 0, 0, "--admin", $"expected ADDR:PORT, got '{Admin}'"));
        }
        if (errors.Count > 0) throw new ConfigException(errors);

        var config = new GatewayConfig
        {
            Admin = admin,
            AccessLog = new AccessLogConfig { Path = AccessLog ?? "off" },
            Listeners =
            [
                new ListenerConfig
                {
                    Name = "quick",
                    Address = listenHost,
                    Port = listenPort,
                    VirtualHosts = [new VirtualHostConfig { Name = "all", Domains = ["*"], Routes = [new RouteConfig { Prefix = "/", Cluster = "upstream" }] }],
                },
            ],
            Clusters = [new ClusterConfig { Name = "upstream", Endpoints = endpoints }],
        };
        List<ConfigError> invalid = GatewayConfigValidator.Validate(config, source);
        if (invalid.Count > 0) throw new ConfigException(invalid);
        return config;
    }

    /// <summary>examples/gateway.yaml, looked up from the working directory and from the binary upwards.</summary>
    public static string? FindDefaultConfig()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "examples", "gateway.yaml");
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }
}
