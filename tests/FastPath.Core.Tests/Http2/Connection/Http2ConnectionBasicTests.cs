// The server engine over a real socket: a request/response round trip, a body echoed with trailers, many streams
// on one connection, flow control of a body larger than the windows, and graceful shutdown (RFC 9113 §6.8).
using FastPath.Http2;
using FastPath.Http2.Frames;

namespace FastPath.Core.Tests.Http2.Connection;

public sealed class Http2ConnectionBasicTests
{
    [Fact]
    public async Task Get_OneStream_ResponseWithStatusAndBody()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, Http2RawClient.Get("/size/5"), endStream: true);
        ReceivedResponse r = await client.ReadResponseAsync(1);
        Assert.Equal(200, r.Status);
        Assert.Equal("1", r.Header("x-stream-id"));
        Assert.Equal("xxxxx", System.Text.Encoding.ASCII.GetString(r.Body.ToArray()));
    }

    [Fact]
    public async Task Post_BodyAndTrailers_EchoedWithTrailers()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, Http2RawClient.Post("/echo", ("te", "trailers")), endStream: false);
        await client.SendDataAsync(1, "hello "u8.ToArray(), endStream: false);
        await client.SendDataAsync(1, "world"u8.ToArray(), endStream: false);
        await client.SendHeadersAsync(1, [("grpc-status", "0")], endStream: true);
        ReceivedResponse r = await client.ReadResponseAsync(1);
        Assert.Equal(200, r.Status);
        Assert.Equal("hello world", System.Text.Encoding.ASCII.GetString(r.Body.ToArray()));
        Assert.Contains(("grpc-status", "0"), r.Trailers);
        Assert.Contains(("x-trailer-echo", "1"), r.Trailers);
    }

    [Fact]
    public async Task Post_BodyLargerThanWindows_FlowsWithWindowUpdates()
    {
        // 3 MiB up and back: more than the stream (256 KiB) and connection (1 MiB) receive windows and the 64 KiB
        // initial send windows, so both directions need WINDOW_UPDATE to finish.
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        byte[] body = new byte[3 << 20];
        new Random(5).NextBytes(body);
        await client.SendHeadersAsync(1, Http2RawClient.Post("/echo"), endStream: false);
        Task<ReceivedResponse> response = client.ReadResponseAsync(1, timeoutMs: 20_000);
        await client.SendBodyAsync(1, body, endStream: true);
        ReceivedResponse r = await response;
        Assert.Equal(body, r.Body.ToArray());
    }

    [Fact]
    public async Task ManyStreams_OnOneConnection_AllAnswered()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        for (uint id = 1; id < 2 * 300; id += 2)
        {
            await client.SendHeadersAsync(id, Http2RawClient.Get("/size/10"), endStream: true);
            ReceivedResponse r = await client.ReadResponseAsync(id);
            Assert.Equal(200, r.Status);
            Assert.Equal(10, r.Body.Length);
        }
    }

    [Fact]
    public async Task GracefulShutdown_TwoGoAwaysAroundPing_OpenStreamFinishes()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, Http2RawClient.Post("/echo"), endStream: false);
        await client.SendDataAsync(1, "a"u8.ToArray(), endStream: false);
        ReceivedFrame? echoed = await client.WaitForAsync(f => f.Type == Http2FrameType.DATA);
        Assert.Equal("a"u8.ToArray(), echoed!.Payload);
        Http2Connection connection = Assert.Single(host.Connections);
        connection.BeginGracefulShutdown();

        ReceivedFrame? first = await client.WaitForAsync(f => f.Type == Http2FrameType.GOAWAY);
        Assert.Equal(Http2ErrorCode.NO_ERROR, first!.ErrorCode);
        Assert.Equal((uint)int.MaxValue, first.Field);
        ReceivedFrame? ping = await client.WaitForAsync(f => f.Type == Http2FrameType.PING);
        await client.SendAsync(w => Http2FrameWriter.WritePing(w, ping!.Opaque, ack: true));
        ReceivedFrame? second = await client.WaitForAsync(f => f.Type == Http2FrameType.GOAWAY);
        Assert.Equal(1u, second!.Field);

        // Stream 1 is below the last stream id: it still finishes; then the server closes.
        await client.SendDataAsync(1, "b"u8.ToArray(), endStream: true);
        ReceivedResponse r = await client.ReadResponseAsync(1);
        Assert.Equal("b", System.Text.Encoding.ASCII.GetString(r.Body.ToArray()));
        Assert.Null(await client.WaitForAsync(_ => false));
        Assert.Equal(Http2ConnectionEndReason.GracefulShutdown, (await host.WaitForEndedConnectionAsync()).EndReason);
    }
}
