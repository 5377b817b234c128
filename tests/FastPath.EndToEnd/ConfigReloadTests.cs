// Hot reload under load: wrk keeps 10 connections busy while the config file is rewritten, first to send the route
// to a second origin, then with an invalid file that must be rejected while the running config stays in force.
// No request may fail across either reload.
using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;
using static FastPath.EndToEnd.Testing.RawHttp2;

namespace FastPath.EndToEnd;

public sealed class ConfigReloadTests
{
    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan limit, string what)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition()) return;
            await Task.Delay(50);
        }
        Assert.Fail($"timed out after {limit.TotalSeconds:0}s waiting for {what}");
    }

    private static async Task<double> MetricAsync(GatewayProcess gateway, string series)
    {
        (_, string text) = await gateway.AdminGetAsync("/stats/prometheus");
        Match m = Regex.Match(text, "(?m)^" + Regex.Escape(series) + @" (\S+)$");
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    [Fact(Timeout = 90_000)]
    public async Task Wrk_WhileRouteSwitchedThenInvalidFileWritten_NoErrors_NewOriginServes_InvalidRejected()
    {
        ExternalTool.Require("wrk");
        await using OriginServer first = await OriginServer.StartAsync("first");
        await using OriginServer second = await OriginServer.StartAsync("second");
        GatewayYaml yaml = new GatewayYaml()
            .Route("/", "first")
            .Cluster("first", first.Address)
            .Cluster("second", second.Address);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        long initialVersion = await gateway.ConfigVersionAsync();

        Task<ToolResult> wrk = ExternalTool.RunAsync("wrk", ["-t1", "-c10", "-d6s", "--timeout", "5s", gateway.Url("/load").ToString()],
            TimeSpan.FromSeconds(30));

        // 1. A valid rewrite: the route now goes to the second origin.
        await Task.Delay(1500);
        Assert.True(first.RequestCount > 0, "wrk traffic did not reach the first origin before the reload");
        gateway.RewriteConfig(yaml.SwitchRoutes("first", "second").Render());
        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > initialVersion, TimeSpan.FromSeconds(5), "the valid reload");
        long reloadedVersion = await gateway.ConfigVersionAsync();
        await WaitUntilAsync(() => Task.FromResult(second.RequestCount > 0), TimeSpan.FromSeconds(3), "traffic on the second origin");

        // 2. An invalid rewrite (a route to a cluster that does not exist): rejected, the running config stays.
        await Task.Delay(1000);
        string invalid = yaml.Render().Replace("cluster: second", "cluster: no-such-cluster", StringComparison.Ordinal);
        gateway.RewriteConfig(invalid);
        await WaitUntilAsync(async () => await MetricAsync(gateway, "fastpath_config_reloads_total{result=\"rejected\"}") >= 1,
            TimeSpan.FromSeconds(5), "the invalid file to be rejected");

        ToolResult result = await wrk;
        Assert.True(result.ExitCode == 0, result.ToString());
        Match requests = Regex.Match(result.Stdout, @"(\d+) requests in");
        Assert.True(requests.Success && long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture) > 100, $"wrk made too few requests:\n{result.Stdout}");
        Match socketErrors = Regex.Match(result.Stdout, @"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)");
        Assert.False(socketErrors.Success && socketErrors.Groups.Values.Skip(1).Any(g => g.Value != "0"), $"wrk saw socket errors:\n{result.Stdout}");
        Assert.DoesNotContain("Non-2xx or 3xx responses", result.Stdout);

        Assert.Equal(reloadedVersion, await gateway.ConfigVersionAsync());
        await gateway.WaitForOutputAsync("rejected", StringComparison.OrdinalIgnoreCase);
        Assert.Contains("rejected", gateway.Stderr, StringComparison.OrdinalIgnoreCase);
        (_, string dump) = await gateway.AdminGetAsync("/config_dump");
        Assert.Contains("\"cluster\": \"second\"", dump);
        RawResponse after = await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/after"));
        Assert.Equal("second", after.Header("x-origin-id"));
    }

    [Fact(Timeout = 60_000)]
    public async Task MalformedYamlWritten_RejectedAndCounted_RunningConfigStays()
    {
        await using OriginServer first = await OriginServer.StartAsync("first");
        GatewayYaml yaml = new GatewayYaml().Route("/", "first").Cluster("first", first.Address);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        long version = await gateway.ConfigVersionAsync();

        // An unclosed flow sequence: a syntax error, not a validation error.
        gateway.RewriteConfig(yaml.Render().Replace("domains: [\"*\"]", "domains: [\"*\"", StringComparison.Ordinal));

        await WaitUntilAsync(async () => await MetricAsync(gateway, "fastpath_config_reloads_total{result=\"rejected\"}") >= 1,
            TimeSpan.FromSeconds(5), "the malformed file to be rejected");
        Assert.Equal(version, await gateway.ConfigVersionAsync());
        await gateway.WaitForOutputAsync(gateway.ConfigPath!);
        Assert.Contains(gateway.ConfigPath!, gateway.Stderr);
        RawResponse r = await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/still"));
        Assert.Equal("first", r.Header("x-origin-id"));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)] // replaced by rename (as deploy tools and ConfigMaps do), then SIGHUP
    [InlineData(true)]  // edited in place (an editor, cat >): the same inode truncated and written, no signal
    public async Task FileChanged_Reloads(bool inPlace)
    {
        await using OriginServer first = await OriginServer.StartAsync("first");
        await using OriginServer second = await OriginServer.StartAsync("second");
        GatewayYaml yaml = new GatewayYaml().Route("/", "first").Cluster("first", first.Address).Cluster("second", second.Address);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        long version = await gateway.ConfigVersionAsync();

        string next = yaml.SwitchRoutes("first", "second").Render();
        if (inPlace)
        {
            File.WriteAllText(gateway.ConfigPath!, next);
        }
        else
        {
            gateway.RewriteConfig(next);
            gateway.Signal(GatewayProcess.SIGHUP);
        }

        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > version, TimeSpan.FromSeconds(5), "the reload");
        RawResponse r = await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/x"));
        Assert.Equal("second", r.Header("x-origin-id"));
        Assert.False(gateway.HasExited, "SIGHUP must reload, not stop the gateway");
    }

    [Fact(Timeout = 60_000)]
    public async Task InotifyLimitReached_GatewayStillServes_WarnsAndReloadsOnSighup()
    {
        // A user namespace of its own whose inotify instance limit is 0: what a node looks like once its other
        // processes of the same user hold all 128 (every Istio-style sidecar on a node runs as one user). The kernel
        // refuses the watch for real; the gateway must say so and keep serving, with SIGHUP as the way to reload.
        await using OriginServer first = await OriginServer.StartAsync("first");
        await using OriginServer second = await OriginServer.StartAsync("second");
        GatewayYaml yaml = new GatewayYaml().Route("/", "first").Cluster("first", first.Address).Cluster("second", second.Address);
        string[] noInotify = ["unshare", "--user", "--map-root-user", "sh", "-c", "echo 0 > /proc/sys/user/max_inotify_instances && exec \"$@\"", "sh"];
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml, launcher: noInotify);
        Assert.Contains("Not watching " + gateway.ConfigPath, gateway.Stderr, StringComparison.Ordinal);
        Assert.Contains("inotify instance limit", gateway.Stderr, StringComparison.Ordinal);
        Assert.Equal("first", (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/x"))).Header("x-origin-id"));

        long version = await gateway.ConfigVersionAsync();
        gateway.RewriteConfig(yaml.SwitchRoutes("first", "second").Render());
        gateway.Signal(GatewayProcess.SIGHUP);
        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > version, TimeSpan.FromSeconds(5), "the reload on SIGHUP");
        Assert.Equal("second", (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/x"))).Header("x-origin-id"));
    }

    [Fact(Timeout = 60_000)]
    public async Task ConfigMapStyleSymlinkSwap_Reloads_WithoutASignal()
    {
        // A Kubernetes ConfigMap volume: the file is a symlink into ..data, itself a symlink to a timestamped
        // directory; an update writes a new directory and renames a new ..data over the old one. No event names the
        // file, so a watcher filtering on its name never saw it (kubelet sends no signal either).
        await using OriginServer first = await OriginServer.StartAsync("first");
        await using OriginServer second = await OriginServer.StartAsync("second");
        GatewayYaml yaml = new GatewayYaml().Route("/", "first").Cluster("first", first.Address).Cluster("second", second.Address);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        string path = gateway.ConfigPath!;
        string dir = Path.GetDirectoryName(path)!;

        // Into the ConfigMap layout (one reload: the path now leads to another file).
        Directory.CreateDirectory(Path.Combine(dir, "..v1"));
        File.Copy(path, Path.Combine(dir, "..v1", "gateway.yaml"));
        File.CreateSymbolicLink(Path.Combine(dir, "..data"), "..v1");
        File.CreateSymbolicLink(path + ".link", Path.Combine("..data", "gateway.yaml"));
        long version = await gateway.ConfigVersionAsync();
        File.Move(path + ".link", path, overwrite: true);
        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > version, TimeSpan.FromSeconds(5), "the reload onto the symlink");
        Assert.Equal("first", (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/x"))).Header("x-origin-id"));

        // The update, as kubelet makes it.
        version = await gateway.ConfigVersionAsync();
        Directory.CreateDirectory(Path.Combine(dir, "..v2"));
        File.WriteAllText(Path.Combine(dir, "..v2", "gateway.yaml"), yaml.SwitchRoutes("first", "second").Render());
        File.CreateSymbolicLink(Path.Combine(dir, "..data_tmp"), "..v2");
        // rename(2) of one symlink over another, as kubelet's atomic writer does (File.Move takes a link to a
        // directory for a directory and refuses).
        using (var mv = System.Diagnostics.Process.Start("mv", ["-T", Path.Combine(dir, "..data_tmp"), Path.Combine(dir, "..data")]))
        {
            await mv.WaitForExitAsync();
            Assert.Equal(0, mv.ExitCode);
        }
        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > version, TimeSpan.FromSeconds(5), "the reload after the ..data swap");
        Assert.Equal("second", (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/x"))).Header("x-origin-id"));

        // A neighbour written to (a log file beside the config) changes nothing.
        version = await gateway.ConfigVersionAsync();
        for (int i = 0; i < 5; i++)
        {
            File.AppendAllText(Path.Combine(dir, "neighbour.log"), "a line\n");
            await Task.Delay(100);
        }
        await Task.Delay(1000);
        Assert.Equal(version, await gateway.ConfigVersionAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task Http2SectionChangedByReload_NewConnectionsGetNewLimits_OpenConnectionKeepsItsOwn()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        GatewayYaml yaml = new GatewayYaml().Route("/", "main").Cluster("main", origin.Address);
        yaml.ListenerYaml.AddRange(["http2:", "  max_concurrent_streams: 50"]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        await using NetworkStream opened = await ConnectAsync(gateway.Port);
        Assert.Equal(50u, (await AcknowledgeServerSettingsAsync(opened))[SETTINGS_MAX_CONCURRENT_STREAMS]);
        long version = await gateway.ConfigVersionAsync();

        yaml.ListenerYaml[1] = "  max_concurrent_streams: 3";
        gateway.RewriteConfig(yaml.Render());
        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > version, TimeSpan.FromSeconds(5), "the reload");

        await using NetworkStream later = await ConnectAsync(gateway.Port);
        Assert.Equal(3u, (await AcknowledgeServerSettingsAsync(later))[SETTINGS_MAX_CONCURRENT_STREAMS]);
        Assert.Equal([7u], await RefusedStreamsAsync(later, streams: 4));
        Assert.Empty(await RefusedStreamsAsync(opened, streams: 4));
    }

    /// <summary>Opens <paramref name="streams"/> requests the origin holds for 1 s at once; once each has ended or
    /// been refused, returns the refused ones.</summary>
    private static async Task<List<uint>> RefusedStreamsAsync(NetworkStream connection, int streams)
    {
        var burst = new MemoryStream();
        for (uint id = 1; id < 2 * streams; id += 2) burst.Write(Frame(HEADERS, EndHeaders | EndStream, id, GetBlock("/delay?ms=1000")));
        await connection.WriteAsync(burst.ToArray());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var refused = new List<uint>();
        for (int ended = 0; ended + refused.Count < streams;)
        {
            RawFrame f = await ReadFrameAsync(connection, cts.Token);
            Assert.True(f.Type is not GOAWAY && (f.Type is not RST_STREAM || f.ErrorCode == REFUSED_STREAM), $"frame type {f.Type} on stream {f.StreamId}");
            if (f.Type == RST_STREAM) refused.Add(f.StreamId);
            else if (f.EndsStream) ended++;
        }
        return refused;
    }

    [Fact(Timeout = 60_000)]
    public async Task ListenerAddedByReload_Serves_RemovedByReload_Refused()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        GatewayYaml yaml = new GatewayYaml().Route("/", "main").Cluster("main", origin.Address);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        long version = await gateway.ConfigVersionAsync();
        int extraPort = Ports.GetFree();

        yaml.ExtraListeners.Add(("extra", extraPort));
        gateway.RewriteConfig(yaml.Render());
        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > version, TimeSpan.FromSeconds(5), "the reload adding a listener");
        RawResponse viaExtra = await RawHttpConnection.SendOnceAsync(extraPort, RawHttpConnection.Get("/extra"));
        Assert.Equal(200, viaExtra.Status);

        version = await gateway.ConfigVersionAsync();
        yaml.ExtraListeners.Clear();
        gateway.RewriteConfig(yaml.Render());
        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > version, TimeSpan.FromSeconds(5), "the reload removing it");
        await WaitUntilAsync(() => Ports.IsRefusedAsync(extraPort, TimeSpan.FromSeconds(1)), TimeSpan.FromSeconds(3), "the removed listener to close");
        Assert.Equal(200, (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/main"))).Status);
    }

    [Fact(Timeout = 60_000)]
    public async Task ListenerRenamedByReload_SamePort_StillRoutes()
    {
        // Renaming a listener keeps its socket (same address and port); its connections must pick up the new
        // listener's routes, not look for the old name's.
        await using OriginServer origin = await OriginServer.StartAsync("a");
        GatewayYaml yaml = new GatewayYaml().Route("/", "main").Cluster("main", origin.Address);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        long version = await gateway.ConfigVersionAsync();

        yaml.ListenerName = "public";
        gateway.RewriteConfig(yaml.Render());
        await WaitUntilAsync(async () => await gateway.ConfigVersionAsync() > version, TimeSpan.FromSeconds(5), "the reload");

        RawResponse r = await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/renamed"));
        Assert.True(r.Status == 200, $"after renaming listener 'main' to 'public' the same port answers:\n{r}");
    }

    [Fact(Timeout = 60_000)]
    public async Task ReloadWithListenerOnBusyPort_Rejected_RunningConfigStays()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        GatewayYaml yaml = new GatewayYaml().Route("/", "main").Cluster("main", origin.Address);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        long version = await gateway.ConfigVersionAsync();

        yaml.ExtraListeners.Add(("clash", origin.Port)); // the origin already listens there
        gateway.RewriteConfig(yaml.Render());

        await WaitUntilAsync(async () => await MetricAsync(gateway, "fastpath_config_reloads_total{result=\"rejected\"}") >= 1,
            TimeSpan.FromSeconds(5), "the reload to be rejected");
        Assert.Equal(version, await gateway.ConfigVersionAsync());
        Assert.Equal(200, (await RawHttpConnection.SendOnceAsync(gateway.Port, RawHttpConnection.Get("/still"))).Status);
    }

    [Fact(Timeout = 60_000)]
    public async Task ReloadRejectedForBusyPort_HasNoSideEffects_PoolStillReused()
    {
        // A rejected reload must leave the running state as it was, connection pools included.
        await using OriginServer first = await OriginServer.StartAsync("first");
        await using OriginServer second = await OriginServer.StartAsync("second");
        GatewayYaml yaml = new GatewayYaml().Route("/", "main").Cluster("main", first.Address);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
        for (int i = 0; i < 5; i++) Assert.Equal(200, (await client.RoundTripAsync(RawHttpConnection.Get($"/before/{i}"))).Status);
        Assert.Equal(1, first.ConnectionCount);

        // Would move cluster main to the second origin, but its extra listener cannot bind (the origin holds the port).
        var rejected = new GatewayYaml { ListenPort = yaml.ListenPort }.Route("/", "main").Cluster("main", second.Address);
        rejected.ExtraListeners.Add(("clash", first.Port));
        gateway.RewriteConfig(rejected.Render());
        await WaitUntilAsync(async () => await MetricAsync(gateway, "fastpath_config_reloads_total{result=\"rejected\"}") >= 1,
            TimeSpan.FromSeconds(5), "the reload to be rejected");

        for (int i = 0; i < 5; i++)
        {
            RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get($"/after/{i}"));
            Assert.Equal("first", r.Header("x-origin-id"));
        }
        Assert.True(first.ConnectionCount == 1,
            $"after a rejected reload the first origin saw {first.ConnectionCount} connections for 10 sequential requests: its pool was drained");
    }
}
