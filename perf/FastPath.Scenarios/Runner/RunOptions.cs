// Flags of the `run` subcommand, with --quick supplying CI defaults that explicit flags still override.

namespace FastPath.Scenarios.Runner;

internal sealed record RunOptions(
    string GatewayPath,
    int DurationSeconds,
    int Repeats,
    int Connections,
    string OutDirectory,
    IReadOnlyList<string> Peers,
    IReadOnlyList<Scenario> Scenarios,
    double GateRatio,
    bool Routed,
    double RoutedGateRatio,
    bool PeerForwarding = true,
    string? BaselinePath = null)
{
    /// <summary>The target name of --baseline, another FastPath build measured in the same repeats.</summary>
    public const string BaselineTarget = "baseline";

    public const string HaProxy = "haproxy";
    public const string Nginx = "nginx";
    public const string H2o = "h2o";

    /// <summary>--bare-peers: HAProxy, nginx and h2o at their own defaults, adding none of the forwarding fields
    /// FastPath adds (the default has them add the same, so every target does the same work).</summary>
    public static bool BarePeers(Dictionary<string, string> flags) => flags.TryGetValue("bare-peers", out var bare) && bare != "false";

    public static RunOptions Parse(ReadOnlySpan<string> args)
    {
        var flags = CommandLine.Parse(
            args,
            ["gateway", "duration", "repeats", "connections", "out", "peers", "scenarios", "gate-ratio", "routed-gate-ratio", "baseline"],
            ["quick", "no-routed", "bare-peers"]);

        var quick = flags.TryGetValue("quick", out var q) && q != "false";
        if (!flags.TryGetValue("gateway", out var gateway) || gateway.Length == 0)
        {
            throw new UsageException("run needs --gateway PATH (executable, or .dll run with dotnet)");
        }

        var peers = flags.TryGetValue("peers", out var peerText)
            ? (peerText is "none" ? [] : CommandLine.List(peerText))
            : (quick ? [] : [HaProxy, Nginx]);
        foreach (var peer in peers)
        {
            if (peer is not (HaProxy or Nginx))
            {
                throw new UsageException($"unknown peer '{peer}' (known: {HaProxy}, {Nginx}, none)");
            }
        }

        var scenarioNames = flags.TryGetValue("scenarios", out var scenarioText)
            ? CommandLine.List(scenarioText)
            : (quick ? [Scenario.KeepAliveSmall.Name] : Scenario.All.Select(s => s.Name).ToArray());
        var scenarios = new List<Scenario>();
        foreach (var name in scenarioNames.Distinct(StringComparer.Ordinal))
        {
            scenarios.Add(Scenario.All.FirstOrDefault(s => s.Name == name)
                ?? throw new UsageException($"unknown scenario '{name}' (known: {string.Join(", ", Scenario.All.Select(s => s.Name))})"));
        }

        if (scenarios.Count == 0)
        {
            throw new UsageException("--scenarios is empty");
        }

        return new RunOptions(
            Path.GetFullPath(gateway),
            CommandLine.Int(flags, "duration", quick ? 3 : 10, 1, 3600),
            CommandLine.Int(flags, "repeats", 3, 1, 100),
            CommandLine.Int(flags, "connections", 50, 1, 10_000),
            Path.GetFullPath(flags.TryGetValue("out", out var output) ? output : "perf-results"),
            peers.Distinct(StringComparer.Ordinal).ToArray(),
            scenarios,
            CommandLine.Double(flags, "gate-ratio", 0.5, 0, 100),
            !(flags.TryGetValue("no-routed", out var noRouted) && noRouted != "false"),
            CommandLine.Double(flags, "routed-gate-ratio", 0.9, 0, 100),
            !BarePeers(flags),
            flags.TryGetValue("baseline", out var baseline) && baseline.Length > 0 ? Path.GetFullPath(baseline) : null);
    }
}

/// <summary>One load shape: the origin path wrk asks for and whether each request opens a new connection.</summary>
internal sealed record Scenario(string Name, string Path, bool NewConnectionPerRequest)
{
    public static readonly Scenario KeepAliveSmall = new("keepalive-small", "/small", false);
    public static readonly Scenario KeepAlive16K = new("keepalive-16k", "/16k", false);

    // `Connection: close` makes every response end its connection and wrk reconnect, so this measures the
    // per-connection cost (accept, setup, close) that keep-alive load hides.
    public static readonly Scenario NewConnectionSmall = new("newconn-small", "/small", true);

    public static readonly Scenario[] All = [KeepAliveSmall, KeepAlive16K, NewConnectionSmall];

    /// <summary>Connection-per-request load needs fewer sockets: more only fills TIME_WAIT, not the proxy.</summary>
    public int ConnectionsFor(int requested) => NewConnectionPerRequest ? Math.Min(16, requested) : requested;
}
