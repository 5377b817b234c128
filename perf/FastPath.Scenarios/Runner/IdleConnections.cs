// `idle`: what an idle keep-alive downstream connection costs the gateway. Opens N connections, each sends one
// request and then stays open doing nothing; the gateway's RSS growth divided by N is the per-connection cost
// (the budget: under 3 KiB, i.e. an idle connection holds no buffer).
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;

namespace FastPath.Scenarios.Runner;

internal static class IdleConnections
{
    public static Task<int> RunAsync(ReadOnlySpan<string> args) =>
        RunAsync(CommandLine.Parse(args, ["gateway", "connections", "gate-bytes"], []));

    private static async Task<int> RunAsync(Dictionary<string, string> flags)
    {
        if (!flags.TryGetValue("gateway", out var gatewayPath) || gatewayPath.Length == 0)
            throw new UsageException("idle needs --gateway PATH");
        int count = CommandLine.Int(flags, "connections", 10_000, 1, 50_000);
        double? gate = flags.TryGetValue("gate-bytes", out var g) ? double.Parse(g, CultureInfo.InvariantCulture) : null;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcess.KillAll();
        var sockets = new List<Socket>(count);
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
            int originPort = ScenarioRunner.FreePort();
            var (self, selfPrefix) = Tools.Self();
            var origin = ChildProcess.Start("origin", self, [.. selfPrefix, "origin", "--port", Text(originPort), "--body", "64"]);
            await ScenarioRunner.WaitFor200Async(http, $"http://127.0.0.1:{originPort}/small", origin, TimeSpan.FromSeconds(15), CancellationToken.None);

            (ChildProcess gateway, int port, _) = await ScenarioRunner.StartGatewayProcessAsync(
                Path.GetFullPath(gatewayPath), originPort, core: null, http, CancellationToken.None);

            // Warm the path (JIT, pools) with a few connections' worth of requests, then take the baseline.
            for (int i = 0; i < 200; i++) (await http.GetAsync($"http://127.0.0.1:{port}/small")).Dispose();
            await Task.Delay(1000);
            double before = ProcessMetrics.RssMegabytes(gateway.Id);

            byte[] request = Encoding.ASCII.GetBytes($"GET /small HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
            var buffer = new byte[4096];
            for (int i = 0; i < count; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(IPAddress.Loopback, port);
                sockets.Add(s);
                await s.SendAsync(request);
                int got = 0;
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                while (got == 0 || !Encoding.ASCII.GetString(buffer, 0, got).Contains("\r\n\r\n", StringComparison.Ordinal) || !EndsBody(buffer, got))
                {
                    int n = await s.ReceiveAsync(buffer.AsMemory(got), cts.Token);
                    if (n == 0) throw new ScenarioException($"connection {i} closed by the gateway");
                    got += n;
                }
            }
            await Task.Delay(2000);
            double after = ProcessMetrics.RssMegabytes(gateway.Id);
            double perConnection = (after - before) * 1024 * 1024 / count;
            Console.WriteLine($"idle keep-alive connections: {count}");
            Console.WriteLine($"gateway RSS: {before:F1} MB before, {after:F1} MB after");
            Console.WriteLine($"per idle connection: {perConnection:F0} bytes ({perConnection / 1024:F2} KiB)");
            if (gate is { } limit)
            {
                bool ok = perConnection <= limit;
                Console.WriteLine(ok ? $"GATE OK: {perConnection:F0} <= {limit:F0} bytes per idle connection"
                                     : $"GATE FAILED: {perConnection:F0} > {limit:F0} bytes per idle connection");
                return ok ? 0 : 1;
            }
            return 0;
        }
        finally
        {
            foreach (Socket s in sockets) s.Dispose();
            ChildProcess.KillAll();
        }
    }

    // The origin's small body is 64 'a' bytes with Content-Length: the response is complete when it ends with them.
    private static bool EndsBody(byte[] buffer, int length) => length >= 64 && buffer[length - 1] == (byte)'a'
        && Encoding.ASCII.GetString(buffer, 0, length).IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4 + 64 <= length;

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
