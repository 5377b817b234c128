// The command line: a bad config stops the gateway at start with exit code 2 and errors naming file, line and field;
// quick mode (--listen/--upstream/--admin) proxies everything to its upstreams round-robin.
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class StartupTests : IDisposable
{
    private static readonly TimeSpan ExitLimit = TimeSpan.FromSeconds(30);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastpath-e2e", Guid.NewGuid().ToString("N")[..12]);

    public StartupTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string WriteTemp(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    // Line numbers matter: the assertions below point at them.
    private const string BadConfig =
        "admin:\n" +                                   // 1
        "  address: 127.0.0.1\n" +                     // 2
        "  port: 0\n" +                                // 3
        "listeners:\n" +                               // 4
        "  - name: main\n" +                           // 5
        "    address: 127.0.0.1\n" +                   // 6
        "    port: 70000\n" +                          // 7  out of range
        "    virtual_hosts:\n" +                       // 8
        "      - name: all\n" +                        // 9
        "        domains: [\"*\"]\n" +                 // 10
        "        routes:\n" +                          // 11
        "          - prefix: /\n" +                    // 12
        "            cluster: missing\n" +             // 13 unknown cluster
        "clusters:\n" +                                // 14
        "  - name: main\n" +                           // 15
        "    endpoints: [\"127.0.0.1:9000\"]\n" +      // 16
        "    conect_timeout: 2s\n";                    // 17 typo'd field

    [Fact(Timeout = 60_000)]
    public async Task BadConfig_ExitCode2_StderrNamesFileLineAndFieldOfEveryError()
    {
        string path = WriteTemp("bad.yaml", BadConfig);

        ToolResult run = await GatewayProcess.RunToExitAsync(["--config", path], ExitLimit);

        Assert.True(run.ExitCode == 2, run.ToString());
        string file = Regex.Escape(path);
        Assert.Matches(new Regex(file + @":7:\d+: listeners\[0\]\.port: "), run.Stderr);
        Assert.Matches(new Regex(file + @":13:\d+: listeners\[0\]\.virtual_hosts\[0\]\.routes\[0\]\.cluster: .*missing"), run.Stderr);
        Assert.Matches(new Regex(file + @":17:\d+: clusters\[0\]\.conect_timeout: unknown field"), run.Stderr);
    }

    [Fact(Timeout = 60_000)]
    public async Task YamlSyntaxError_ExitCode2_StderrNamesFileAndLine()
    {
        string path = WriteTemp("broken.yaml", "listeners:\n  - name: main\n    port: [8080\nclusters: []\n");

        ToolResult run = await GatewayProcess.RunToExitAsync(["--config", path], ExitLimit);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Matches(new Regex(Regex.Escape(path) + @":\d+:\d+: "), run.Stderr);
    }

    [Fact(Timeout = 60_000)]
    public async Task MissingConfigFile_ExitCode2_StderrNamesFile()
    {
        string path = Path.Combine(_dir, "does-not-exist.yaml");

        ToolResult run = await GatewayProcess.RunToExitAsync(["--config", path], ExitLimit);

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(path, run.Stderr);
    }

    [Fact(Timeout = 60_000)]
    public async Task Check_ValidConfig_ExitsZero_BadConfig_ExitsTwo()
    {
        string good = WriteTemp("good.yaml", new GatewayYaml { ListenPort = 18080 }.Route("/", "main").Cluster("main", "127.0.0.1:9000").Render());
        string bad = WriteTemp("bad.yaml", BadConfig);

        ToolResult ok = await GatewayProcess.RunToExitAsync(["--config", good, "--check"], ExitLimit);
        ToolResult fail = await GatewayProcess.RunToExitAsync(["--config", bad, "--check"], ExitLimit);

        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Contains("configuration OK", ok.Stdout);
        Assert.True(fail.ExitCode == 2, fail.ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task QuickMode_BadUpstream_ExitCode2()
    {
        ToolResult run = await GatewayProcess.RunToExitAsync(["--listen", "127.0.0.1:18081", "--upstream", "not-a-host-port"], ExitLimit);
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("--upstream", run.Stderr);
    }

    [Fact(Timeout = 60_000)]
    public async Task QuickMode_TwoUpstreams_RoundRobinsHalfEach()
    {
        await using OriginServer a = await OriginServer.StartAsync("a");
        await using OriginServer b = await OriginServer.StartAsync("b");
        await using GatewayProcess gateway = await GatewayProcess.StartQuickAsync([a.Address, b.Address]);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        var servedBy = new Dictionary<string, int>();
        for (int i = 0; i < 100; i++)
        {
            RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/rr/{i}"));
            Assert.Equal(200, r.Status);
            string id = r.Header("x-origin-id") ?? "(none)";
            servedBy[id] = servedBy.GetValueOrDefault(id) + 1;
        }

        Assert.Equal(100, a.RequestCount + b.RequestCount);
        Assert.InRange(a.RequestCount, 40, 60);
        Assert.InRange(b.RequestCount, 40, 60);
        Assert.Equal(a.RequestCount, servedBy.GetValueOrDefault("a"));
    }

    [Fact(Timeout = 60_000)]
    public async Task SocketTransport_IsEpollUnlessKestrelIsAskedFor_AndSaysWhichAtStart()
    {
        // The whole end-to-end suite runs once on each transport (scripts/test.sh); this checks which one it got.
        bool kestrel = Environment.GetEnvironmentVariable("FASTPATH_TRANSPORT") == "kestrel";
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartQuickAsync([origin.Address]);
        await gateway.WaitForOutputAsync(kestrel ? "Socket transport: kestrel sockets" : "Socket transport: epoll, ");

        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get("/t"))).Status);
        string[] threads = Directory.GetDirectories($"/proc/{gateway.Pid}/task")
            .Select(t => File.ReadAllText(Path.Combine(t, "comm")).Trim()).ToArray();
        Assert.Equal(!kestrel, threads.Any(t => t.StartsWith("FastPath epoll", StringComparison.Ordinal)));
    }
}
