// 1 GiB bodies stream through the gateway in both directions with flat memory: the gateway's RSS is sampled from
// /proc during the transfer and must stay far below the body size (back-pressure, no buffering of whole bodies).
using System.Diagnostics;
using System.Net;
using System.Net.Http;
using FastPath.EndToEnd.Testing;
using Xunit.Abstractions;

namespace FastPath.EndToEnd;

public sealed class LargeBodyTests(ITestOutputHelper output)
{
    private const long OneGiB = 1L << 30;
    private const long RssLimitBytes = 200L * 1024 * 1024;
    private static readonly TimeSpan TransferLimit = TimeSpan.FromSeconds(120);

    /// <summary>A body of the given length generated on the fly (never held in memory).</summary>
    private sealed class GeneratedContent(long length) : HttpContent
    {
        private static readonly byte[] Block = CreateBlock();

        private static byte[] CreateBlock()
        {
            byte[] b = new byte[256 * 1024];
            for (int i = 0; i < b.Length; i++) b[i] = (byte)(i * 31);
            return b;
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            for (long left = length; left > 0;)
            {
                int n = (int)Math.Min(left, Block.Length);
                await stream.WriteAsync(Block.AsMemory(0, n), cancellationToken);
                left -= n;
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override bool TryComputeLength(out long computed)
        {
            computed = length;
            return true;
        }
    }

    /// <summary>Samples the gateway's VmRSS every 100 ms until stopped; returns the peak.</summary>
    private static async Task<long> SamplePeakRssAsync(GatewayProcess gateway, CancellationToken stop)
    {
        long peak = 0;
        while (!stop.IsCancellationRequested)
        {
            if (gateway.ReadRssBytes() is { } rss) peak = Math.Max(peak, rss);
            try { await Task.Delay(100, stop); } catch (OperationCanceledException) { }
        }
        return peak;
    }

    private static HttpClient NewClient() => new(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { Timeout = TransferLimit };

    [Fact(Timeout = 150_000)]
    public async Task Upload1GiB_StreamsToOrigin_GatewayMemoryStaysFlat()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address),
            accessLog: true, lifetime: TimeSpan.FromSeconds(160));
        using HttpClient client = NewClient();
        using var stopSampling = new CancellationTokenSource();
        Task<long> peak = SamplePeakRssAsync(gateway, stopSampling.Token);
        var sw = Stopwatch.StartNew();

        using (HttpResponseMessage r = await client.PostAsync(gateway.Url("/count"), new GeneratedContent(OneGiB)))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal($"origin=a bytes={OneGiB}\n", await r.Content.ReadAsStringAsync());
        }
        stopSampling.Cancel();
        long peakRss = await peak;

        Assert.Equal(OneGiB, Assert.Single(origin.Requests).BodyBytes);
        System.Text.Json.JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString() == "/count");
        Assert.Equal(OneGiB, log.GetProperty("bytes_received").GetInt64());
        output.WriteLine($"1 GiB upload: {sw.Elapsed.TotalSeconds:0.0}s, gateway peak RSS {peakRss / (1024 * 1024)} MiB");
        Assert.True(peakRss > 0, "could not read the gateway's VmRSS");
        Assert.True(peakRss < RssLimitBytes, $"gateway RSS peaked at {peakRss / (1024 * 1024)} MiB during a 1 GiB upload ({sw.Elapsed.TotalSeconds:0.0}s)");
    }

    [Fact(Timeout = 150_000)]
    public async Task Download1GiB_StreamsToClient_GatewayMemoryStaysFlat()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address),
            accessLog: true, lifetime: TimeSpan.FromSeconds(160));
        using HttpClient client = NewClient();
        using var stopSampling = new CancellationTokenSource();
        Task<long> peak = SamplePeakRssAsync(gateway, stopSampling.Token);
        var sw = Stopwatch.StartNew();
        using var limit = new CancellationTokenSource(TransferLimit);

        long received = 0;
        using (HttpResponseMessage r = await client.GetAsync(gateway.Url($"/download?bytes={OneGiB}"), HttpCompletionOption.ResponseHeadersRead, limit.Token))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal(OneGiB, r.Content.Headers.ContentLength);
            await using Stream body = await r.Content.ReadAsStreamAsync(limit.Token);
            byte[] buffer = new byte[256 * 1024];
            int n;
            while ((n = await body.ReadAsync(buffer, limit.Token)) > 0) received += n;
        }
        stopSampling.Cancel();
        long peakRss = await peak;

        Assert.Equal(OneGiB, received);
        System.Text.Json.JsonElement log = await gateway.WaitForAccessLogAsync(e => e.GetProperty("path").GetString()!.StartsWith("/download", StringComparison.Ordinal));
        Assert.Equal(OneGiB, log.GetProperty("bytes_sent").GetInt64());
        output.WriteLine($"1 GiB download: {sw.Elapsed.TotalSeconds:0.0}s, gateway peak RSS {peakRss / (1024 * 1024)} MiB");
        Assert.True(peakRss > 0, "could not read the gateway's VmRSS");
        Assert.True(peakRss < RssLimitBytes, $"gateway RSS peaked at {peakRss / (1024 * 1024)} MiB during a 1 GiB download ({sw.Elapsed.TotalSeconds:0.0}s)");
    }
}
