// Message bodies whose length is not known up front: chunked uploads (curl -T -), request and response trailers,
// close-delimited origin bodies, and Expect: 100-continue.
using System.Text;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class ChunkedTests
{
    private static byte[] Payload(int length, int seed)
    {
        var random = new Random(seed);
        byte[] b = new byte[length];
        for (int i = 0; i < b.Length; i++) b[i] = (byte)('a' + random.Next(26));
        return b;
    }

    [Fact(Timeout = 60_000)]
    public async Task Curl_ChunkedUploadFromStdin_EchoedByOriginThroughGateway()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        byte[] payload = Payload(300_000, 1);

        // -T - reads stdin of unknown length, so curl sends Transfer-Encoding: chunked.
        ToolResult curl = await ExternalTool.CurlAsync(["-T", "-", "-H", "Content-Type: application/octet-stream", gateway.Url("/echo").ToString()], payload);

        Assert.True(curl.ExitCode == 0, curl.ToString());
        Assert.Equal(payload.Length, curl.Stdout.Length);
        Assert.True(Encoding.ASCII.GetBytes(curl.Stdout).AsSpan().SequenceEqual(payload), "echoed body differs from the upload");
        OriginRequest seen = Assert.Single(origin.Requests);
        Assert.Equal("PUT", seen.Method);
        Assert.Equal(payload.Length, seen.BodyBytes);
        Assert.Contains("chunked", seen.Header("transfer-encoding") ?? "");
    }

    [Fact(Timeout = 60_000)]
    public async Task RawClient_ChunkedUploadWithTrailers_OriginGetsBodyAndTrailers()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        RawResponse r = await client.RoundTripAsync(
            "POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n" +
            "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-sum: 42\r\n\r\n");

        Assert.Equal(200, r.Status);
        Assert.Equal("hello world", r.BodyText);
        OriginRequest seen = Assert.Single(origin.Requests);
        Assert.Equal(11, seen.BodyBytes);
        Assert.Equal("42", seen.Trailers.GetValueOrDefault("x-sum"));
    }

    [Fact(Timeout = 60_000)]
    public async Task RawOrigin_ChunkedResponseWithTrailers_ReachesHttp11ClientIntact()
    {
        await using var origin = new RawOrigin(async c =>
        {
            while (await c.ReadHeadAsync() is not null)
            {
                await c.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum, x-status\r\n\r\n" +
                                   "5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: abc123\r\nx-status: done\r\n\r\n");
            }
        });
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "raw").Cluster("raw", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        for (int i = 0; i < 2; i++)
        {
            RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get("/trailers", "TE: trailers"));
            Assert.Equal(200, r.Status);
            Assert.True(r.Chunked, $"expected a chunked response:\n{r}");
            Assert.Equal("hello world", r.BodyText);
            Assert.Equal("abc123", r.Trailer("x-checksum"));
            Assert.Equal("done", r.Trailer("x-status"));
        }
        Assert.Equal(1, origin.ConnectionCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task RawOrigin_CloseDelimitedBody_ForwardedWholeAsChunked()
    {
        byte[] body = Payload(200_000, 2);
        await using var origin = new RawOrigin(async c =>
        {
            if (await c.ReadHeadAsync() is null) return;
            await c.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
            await c.WriteAsync(body);
            c.Close(); // the end of the body is the end of the connection (RFC 9112 §6.3 rule 8)
        });
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "raw").Cluster("raw", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        RawResponse r = await client.RoundTripAsync(RawHttpConnection.Get("/close-delimited"));

        Assert.Equal(200, r.Status);
        Assert.True(r.Chunked, $"an HTTP/1.1 client should get the close-delimited body re-framed as chunked:\n{r.Version} {r.Status}");
        Assert.Equal(body, r.Body);
        // The client connection survives: the re-chunked response told it where the body ends.
        RawResponse again = await client.RoundTripAsync(RawHttpConnection.Get("/close-delimited"));
        Assert.Equal(body, again.Body);
    }

    [Fact(Timeout = 60_000)]
    public async Task Curl_Expect100Continue_Gets100Then200_OriginGetsWholeBody()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        byte[] payload = Payload(2 * 1024 * 1024, 3);
        string file = Path.Combine(gateway.Directory, "upload.bin");
        await File.WriteAllBytesAsync(file, payload);

        ToolResult curl = await ExternalTool.CurlAsync(["-v", "--data-binary", "@" + file, "-H", "Expect: 100-continue",
            "-H", "Content-Type: application/octet-stream", gateway.Url("/count").ToString()]);

        Assert.True(curl.ExitCode == 0, curl.ToString());
        int continued = curl.Stderr.IndexOf("< HTTP/1.1 100 Continue", StringComparison.Ordinal);
        int ok = curl.Stderr.IndexOf("< HTTP/1.1 200", StringComparison.Ordinal);
        Assert.True(continued >= 0, $"no 100 Continue:\n{curl.Stderr}");
        Assert.True(ok > continued, $"no 200 after the 100 Continue:\n{curl.Stderr}");
        Assert.Equal($"origin=a bytes={payload.Length}\n", curl.Stdout);
        OriginRequest seen = Assert.Single(origin.Requests);
        Assert.Equal(payload.Length, seen.BodyBytes);
    }
}
