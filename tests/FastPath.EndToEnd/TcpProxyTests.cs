// tcp_proxy filter chains through the real gateway: bytes both ways to an echo origin (small and 8 MiB), half-close
// in each direction, Istio TCP counters, the access-log line, idle timeout, connect failure, and drain; weighted
// clusters, source-IP hashing, and reload (TcpProxyChainTests).
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class TcpProxyTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>Echoes everything; on the client's FIN answers "bye N" (N bytes echoed) and closes.</summary>
    internal static RawOrigin EchoOrigin() => new(async c =>
    {
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        while (true)
        {
            int n = await c.Socket.ReceiveAsync(buffer, SocketFlags.None, c.Token);
            if (n == 0) break;
            total += n;
            await c.WriteAsync(buffer[..n]);
        }
        await c.WriteAsync($"bye {total}\n");
        c.Close();
    });

    private static GatewayYaml TcpOnly(string cluster, string origin, string? idleTimeout = null, params string[] clusterExtra)
    {
        var yaml = new GatewayYaml().Cluster(cluster, [origin], clusterExtra);
        yaml.ListenerYaml.AddRange([
            "filter_chains:",
            "  - name: tcp",
            "    tcp_proxy:",
            $"      cluster: {cluster}",
            .. idleTimeout is null ? Array.Empty<string>() : [$"      idle_timeout: {idleTimeout}"],
        ]);
        return yaml;
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return socket;
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        using var cts = new CancellationTokenSource(Limit);
        byte[] data = new byte[count];
        for (int at = 0; at < count;)
        {
            int n = await socket.ReceiveAsync(data.AsMemory(at), SocketFlags.None, cts.Token);
            if (n == 0) throw new IOException($"closed after {at} of {count} bytes");
            at += n;
        }
        return data;
    }

    /// <summary>Reads until the peer closes (FIN, or a reset after FIN was seen as end).</summary>
    private static async Task<byte[]> ReadToEndAsync(Socket socket, TimeSpan? limit = null)
    {
        using var cts = new CancellationTokenSource(limit ?? Limit);
        var all = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                return all.ToArray();
            }
            if (n == 0) return all.ToArray();
            all.Write(buffer, 0, n);
        }
    }

    internal static async Task<double> MetricAsync(GatewayProcess gateway, string series)
    {
        (_, string text) = await gateway.AdminGetAsync("/stats/prometheus");
        Match m = Regex.Match(text, "(?m)^" + Regex.Escape(series) + @" (\S+)$");
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    internal static async Task WaitForMetricAsync(GatewayProcess gateway, string series, double atLeast)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        double value = 0;
        while (DateTime.UtcNow < deadline)
        {
            if ((value = await MetricAsync(gateway, series)) >= atLeast) return;
            await Task.Delay(50);
        }
        Assert.Fail($"{series} stayed at {value}, expected at least {atLeast}");
    }

    [Fact(Timeout = 60_000)]
    public async Task TcpProxy_EchoOrigin_BytesBothWaysThenHalfClose_CountersAndAccessLog()
    {
        await using RawOrigin echo = EchoOrigin();
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(TcpOnly("echo", echo.Address), accessLog: true);
        using Socket client = await ConnectAsync(gateway.Port);

        await client.SendAsync("hello\n"u8.ToArray());
        Assert.Equal("hello\n", Encoding.ASCII.GetString(await ReadExactlyAsync(client, 6)));

        // 8 MiB up while reading the echo: back-pressure both ways, nothing lost or reordered.
        byte[] big = new byte[8 * 1024 * 1024];
        new Random(3).NextBytes(big);
        Task<byte[]> echoed = ReadExactlyAsync(client, big.Length);
        for (int at = 0; at < big.Length; at += 100_000)
            await client.SendAsync(big.AsMemory(at, Math.Min(100_000, big.Length - at)));
        byte[] back = await echoed;
        Assert.True(big.AsSpan().SequenceEqual(back), "the echoed 8 MiB differ from what was sent");

        // Half-close: the client's FIN reaches the origin, whose answer still comes back before its own FIN.
        client.Shutdown(SocketShutdown.Send);
        long total = 6 + big.Length;
        Assert.Equal($"bye {total}\n", Encoding.ASCII.GetString(await ReadToEndAsync(client)));

        await WaitForMetricAsync(gateway, "istio_tcp_connections_closed_total{cluster=\"echo\"}", 1);
        Assert.Equal(1, await MetricAsync(gateway, "istio_tcp_connections_opened_total{cluster=\"echo\"}"));
        Assert.Equal(total, await MetricAsync(gateway, "istio_tcp_received_bytes_total{cluster=\"echo\"}"));
        Assert.Equal(total + $"bye {total}\n".Length, await MetricAsync(gateway, "istio_tcp_sent_bytes_total{cluster=\"echo\"}"));
        var line = await gateway.WaitForAccessLogAsync(e => e.GetProperty("upstream_cluster").GetString() == "echo");
        Assert.Equal(total, line.GetProperty("bytes_received").GetInt64());
        Assert.Equal(echo.Address, line.GetProperty("upstream_host").GetString());
        Assert.Equal("tcp", line.GetProperty("virtual_host").GetString());
        Assert.Equal("-", line.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task TcpProxy_OriginClosesItsSideFirst_ClientCanStillSend()
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = new RawOrigin(async c =>
        {
            await c.WriteAsync("greeting\n");
            c.Socket.Shutdown(SocketShutdown.Send); // FIN towards the client; still reading
            byte[] buffer = new byte[1024];
            var got = new StringBuilder();
            int n;
            while ((n = await c.Socket.ReceiveAsync(buffer, SocketFlags.None, c.Token)) > 0) got.Append(Encoding.ASCII.GetString(buffer, 0, n));
            received.TrySetResult(got.ToString());
        });
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(TcpOnly("origin", origin.Address));
        using Socket client = await ConnectAsync(gateway.Port);

        Assert.Equal("greeting\n", Encoding.ASCII.GetString(await ReadToEndAsync(client)));
        await client.SendAsync("late data after the origin's FIN\n"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);

        Assert.Equal("late data after the origin's FIN\n", await received.Task.WaitAsync(Limit));
    }

    [Fact(Timeout = 60_000)]
    public async Task TcpProxy_ClientResets_OriginClosed_LoggedAsDownstreamReset()
    {
        var originSawEnd = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = new RawOrigin(async c =>
        {
            byte[] buffer = new byte[1024];
            try
            {
                while (await c.Socket.ReceiveAsync(buffer, SocketFlags.None, c.Token) > 0) { }
            }
            catch (SocketException)
            {
            }
            originSawEnd.TrySetResult();
        });
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(TcpOnly("origin", origin.Address), accessLog: true);
        var client = await ConnectAsync(gateway.Port);
        await client.SendAsync("half a message"u8.ToArray());
        await TcpProxyTests.WaitForMetricAsync(gateway, "istio_tcp_received_bytes_total{cluster=\"origin\"}", 14);

        client.LingerState = new LingerOption(true, 0);
        client.Close(); // RST

        await originSawEnd.Task.WaitAsync(Limit);
        var line = await gateway.WaitForAccessLogAsync(e => e.GetProperty("upstream_cluster").GetString() == "origin");
        Assert.Equal("DC", line.GetProperty("response_flags").GetString());
        Assert.Equal(14, line.GetProperty("bytes_received").GetInt64());
    }

    [Fact(Timeout = 60_000)]
    public async Task TcpProxy_IdleTunnel_ClosedByIdleTimeout()
    {
        await using RawOrigin echo = EchoOrigin();
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(TcpOnly("echo", echo.Address, idleTimeout: "700ms"));
        using Socket client = await ConnectAsync(gateway.Port);
        await client.SendAsync("x"u8.ToArray());
        Assert.Equal("x", Encoding.ASCII.GetString(await ReadExactlyAsync(client, 1)));

        var idle = System.Diagnostics.Stopwatch.StartNew();
        byte[] rest = await ReadToEndAsync(client, TimeSpan.FromSeconds(10));

        Assert.Empty(rest);
        Assert.InRange(idle.Elapsed, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5));
        await WaitForMetricAsync(gateway, "fastpath_tcp_idle_timeouts_total{cluster=\"echo\"}", 1);
    }

    [Fact(Timeout = 60_000)]
    public async Task TcpProxy_UpstreamRefuses_ClientClosed_ConnectFailureCounted()
    {
        int closed = Ports.GetClosed();
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(TcpOnly("dead", $"127.0.0.1:{closed}", null, "connect_timeout: 1s"), accessLog: true);
        using Socket client = await ConnectAsync(gateway.Port);
        await client.SendAsync("anyone?\n"u8.ToArray());

        Assert.Empty(await ReadToEndAsync(client, TimeSpan.FromSeconds(10)));
        await WaitForMetricAsync(gateway, "fastpath_tcp_upstream_connect_failures_total{cluster=\"dead\"}", 1);
        Assert.Equal(0, await MetricAsync(gateway, "istio_tcp_connections_opened_total{cluster=\"dead\"}"));
        var line = await gateway.WaitForAccessLogAsync(e => e.GetProperty("upstream_cluster").GetString() == "dead");
        Assert.Equal("UF", line.GetProperty("response_flags").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task TcpProxy_Drain_OpenTunnelClosedAtDrainTimeout()
    {
        await using RawOrigin echo = EchoOrigin();
        GatewayYaml yaml = TcpOnly("echo", echo.Address).Limit("drain_timeout", "1s");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        using Socket client = await ConnectAsync(gateway.Port);
        await client.SendAsync("x"u8.ToArray());
        Assert.Equal("x", Encoding.ASCII.GetString(await ReadExactlyAsync(client, 1)));

        var draining = System.Diagnostics.Stopwatch.StartNew();
        gateway.Signal(GatewayProcess.SIGTERM);
        // Still open while the drain waits: the tunnel keeps working.
        await client.SendAsync("y"u8.ToArray());
        Assert.Equal("y", Encoding.ASCII.GetString(await ReadExactlyAsync(client, 1)));
        Assert.Empty(await ReadToEndAsync(client, TimeSpan.FromSeconds(10)));

        Assert.InRange(draining.Elapsed, TimeSpan.FromMilliseconds(700), TimeSpan.FromSeconds(8));
        Assert.Equal(0, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }
}

public sealed class TcpProxyChainTests
{
    private static RawOrigin NamedEcho(string name) => new(async c =>
    {
        await c.WriteAsync($"{name}\n");
        byte[] buffer = new byte[4096];
        int n;
        while ((n = await c.Socket.ReceiveAsync(buffer, SocketFlags.None, c.Token)) > 0) await c.WriteAsync(buffer[..n]);
    });

    private static async Task<string> ReadLineAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var line = new StringBuilder();
        byte[] one = new byte[1];
        while (await socket.ReceiveAsync(one, SocketFlags.None, cts.Token) == 1 && one[0] != '\n') line.Append((char)one[0]);
        return line.ToString();
    }

    [Fact(Timeout = 60_000)]
    public async Task WeightedClusters_3To1_ConnectionsSplitByWeight_SourceIpHash_SticksToOneEndpoint()
    {
        await using RawOrigin heavy = NamedEcho("heavy");
        await using RawOrigin light = NamedEcho("light");
        await using RawOrigin ring1 = NamedEcho("ring1");
        await using RawOrigin ring2 = NamedEcho("ring2");
        await using RawOrigin ring3 = NamedEcho("ring3");
        GatewayYaml yaml = new GatewayYaml().Cluster("heavy", heavy.Address).Cluster("light", light.Address)
            .Cluster("ring", [ring1.Address, ring2.Address, ring3.Address], "lb_policy: ring_hash", "hash_policy: {source_ip: true}");
        yaml.ListenerYaml.AddRange([
            "filter_chains:",
            "  - name: split",
            "    match: {destination_port: 1}",
            "    tcp_proxy: {weighted_clusters: [{cluster: heavy, weight: 3}, {cluster: light, weight: 1}]}",
            "  - name: sticky",
            "    tcp_proxy: {cluster: ring}",
        ]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        // destination_port 1 is never this listener's port: every connection takes the chain without a port.
        var seen = new HashSet<string>();
        for (int i = 0; i < 12; i++)
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gateway.Port));
            seen.Add(await ReadLineAsync(s));
        }
        Assert.Single(seen); // one client address: ring_hash on the source IP always picks the same endpoint
        Assert.StartsWith("ring", seen.Single());

        yaml.ListenerYaml[2] = "    match: {destination_port: " + gateway.Port + "}";
        long version = await gateway.ConfigVersionAsync();
        gateway.RewriteConfig(yaml.Render());
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await gateway.ConfigVersionAsync() == version && DateTime.UtcNow < deadline) await Task.Delay(50);
        var counts = new Dictionary<string, int> { ["heavy"] = 0, ["light"] = 0 };
        for (int i = 0; i < 80; i++)
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gateway.Port));
            counts[await ReadLineAsync(s)]++;
        }
        Assert.InRange(counts["heavy"], 45, 75);
        Assert.Equal(80, counts["heavy"] + counts["light"]);
    }

    [Fact(Timeout = 60_000)]
    public async Task Reload_OpenTunnelKeepsItsChain_NewConnectionsUseTheNewOne()
    {
        await using RawOrigin first = NamedEcho("first");
        await using RawOrigin second = NamedEcho("second");
        GatewayYaml yaml = new GatewayYaml().Cluster("first", first.Address).Cluster("second", second.Address);
        yaml.ListenerYaml.AddRange(["filter_chains:", "  - name: tcp", "    tcp_proxy: {cluster: first}"]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        using var before = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await before.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gateway.Port));
        Assert.Equal("first", await ReadLineAsync(before));
        long version = await gateway.ConfigVersionAsync();

        yaml.ListenerYaml[2] = "    tcp_proxy: {cluster: second}";
        gateway.RewriteConfig(yaml.Render());
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await gateway.ConfigVersionAsync() == version && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.NotEqual(version, await gateway.ConfigVersionAsync());

        using var after = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await after.ConnectAsync(new IPEndPoint(IPAddress.Loopback, gateway.Port));
        Assert.Equal("second", await ReadLineAsync(after));
        await before.SendAsync("still first\n"u8.ToArray());
        Assert.Equal("still first", await ReadLineAsync(before));
        Assert.Equal(1, first.ConnectionCount);
        Assert.Equal(1, second.ConnectionCount);
    }
}
