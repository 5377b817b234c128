// Protocol negotiation the HTTP/1.1 gateway does not take part in: an h2c upgrade offer (curl --http2) is answered
// over HTTP/1.1, and an HTTP/2 prior-knowledge preface gets 505 rather than a hang.
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class ProtocolTests
{
    [Fact(Timeout = 60_000)]
    public async Task CurlHttp2UpgradeOffer_AnsweredOverHttp11()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));

        ToolResult curl = await ExternalTool.CurlAsync(["--http2", "-w", "\nversion=%{http_version} code=%{http_code}", gateway.Url("/h2c").ToString()]);

        Assert.True(curl.ExitCode == 0, curl.ToString());
        Assert.Contains("origin=a GET /h2c\n", curl.Stdout);
        Assert.Contains("version=1.1 code=200", curl.Stdout);
        Assert.Null(origin.LastRequest?.Header("http2-settings")); // named in Connection: hop-by-hop
    }

    [Fact(Timeout = 60_000)]
    public async Task Http2PriorKnowledgePreface_AnsweredWithServerSettings()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);

        // h2c with prior knowledge (RFC 9113 §3.3): the preface makes this an HTTP/2 connection, and the server's
        // own preface is a SETTINGS frame (9-byte frame header, type 0x4 at offset 3, stream 0).
        await client.SendAsync("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        byte[] header = await client.ReadExactAsync(9, TimeSpan.FromSeconds(5));

        Assert.Equal(0x4, header[3]);
        Assert.Equal(0, header[5] | header[6] | header[7] | header[8]);
        Assert.Equal(0, origin.RequestCount);
    }

    [Fact(Timeout = 60_000)]
    public async Task AbsoluteFormTarget_OriginGetsOriginFormAndAuthorityAsHost()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));

        RawResponse r = await RawHttpConnection.SendOnceAsync(gateway.Port,
            "GET http://service.example:8080/abs/path?q=1 HTTP/1.1\r\nHost: ignored.example\r\n\r\n");

        Assert.Equal(200, r.Status);
        Assert.Equal("origin=a GET /abs/path?q=1\n", r.BodyText);
        Assert.Equal("service.example:8080", origin.LastRequest?.Header("host"));
    }
}
