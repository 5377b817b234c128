// gRPC end to end: a real Grpc.AspNetCore service called with Grpc.Net.Client. Each case runs against the origin
// directly, the baseline every proxied run is compared with; the proxied targets join the same theories as the
// HTTP/2 downstream and upstream roles land in FastPath (issue 5).
using System.Net;
using System.Net.Http;
using FastPath.EndToEnd.Grpc;
using FastPath.EndToEnd.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace FastPath.EndToEnd;

public sealed class GrpcTests : IAsyncLifetime
{
    private GrpcOrigin _origin = null!;

    public async Task InitializeAsync() => _origin = await GrpcOrigin.StartAsync("g1");

    public async Task DisposeAsync() => await _origin.DisposeAsync();

    private GrpcChannel Channel() => GrpcChannel.ForAddress($"http://{_origin.Address}", new GrpcChannelOptions
    {
        MaxReceiveMessageSize = 16 * 1024 * 1024,
        MaxSendMessageSize = 16 * 1024 * 1024,
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false },
    });

    [Fact]
    public async Task Unary_Direct_RepliesWithHeadersAndTrailers()
    {
        using GrpcChannel channel = Channel();
        var client = new Echo.EchoClient(channel);
        using AsyncUnaryCall<EchoReply> call = client.UnaryAsync(new EchoRequest { Message = "hi" }, new Metadata { { "x-meta", "v1" } });
        EchoReply reply = await call;
        Assert.Equal("hi", reply.Message);
        Assert.Equal("g1", (await call.ResponseHeadersAsync).GetValue("x-origin-id"));
        Assert.Equal("g1", call.GetTrailers().GetValue("x-origin-trailer"));
        Assert.Equal("v1", _origin.LastRequestHeaders["x-meta"]);
        Assert.Equal("trailers", _origin.LastRequestHeaders["te"]);
    }

    [Fact]
    public async Task ServerStreaming_Direct_AllMessagesInOrder()
    {
        using GrpcChannel channel = Channel();
        var client = new Echo.EchoClient(channel);
        using AsyncServerStreamingCall<EchoReply> call = client.ServerStream(new EchoRequest { Message = "s", Count = 50 });
        int expected = 0;
        await foreach (EchoReply reply in call.ResponseStream.ReadAllAsync()) Assert.Equal(expected++, reply.Index);
        Assert.Equal(50, expected);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStreaming_Direct_SumsEveryMessage()
    {
        using GrpcChannel channel = Channel();
        var client = new Echo.EchoClient(channel);
        using AsyncClientStreamingCall<EchoRequest, EchoReply> call = client.ClientStream();
        for (int i = 0; i < 20; i++) await call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[1000]) });
        await call.RequestStream.CompleteAsync();
        EchoReply reply = await call;
        Assert.Equal(20_000, reply.ReceivedBytes);
        Assert.Equal("20 messages", reply.Message);
    }

    [Fact]
    public async Task Bidi_Direct_EchoesEachMessageAsItArrives()
    {
        using GrpcChannel channel = Channel();
        var client = new Echo.EchoClient(channel);
        using AsyncDuplexStreamingCall<EchoRequest, EchoReply> call = client.Bidi();
        for (int i = 0; i < 10; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Message = "m" + i });
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.Equal("m" + i, call.ResponseStream.Current.Message);
        }
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task Deadline_Direct_ShorterThanDelay_DeadlineExceeded()
    {
        using GrpcChannel channel = Channel();
        var client = new Echo.EchoClient(channel);
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.UnaryAsync(new EchoRequest { DelayMs = 5000 }, deadline: DateTime.UtcNow.AddMilliseconds(300)));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
    }

    [Fact]
    public async Task FailKey_Direct_FailsFirstCallsThenSucceeds()
    {
        using GrpcChannel channel = Channel();
        var client = new Echo.EchoClient(channel);
        var request = new EchoRequest { FailCode = (int)StatusCode.Unavailable, FailTimes = 2, FailKey = "k" };
        for (int i = 1; i <= 2; i++)
        {
            RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await client.UnaryAsync(request));
            Assert.Equal(StatusCode.Unavailable, e.StatusCode);
            Assert.Contains($"attempt {i}", e.Status.Detail);
        }
        Assert.Equal(3, (await client.UnaryAsync(request)).Attempt);
    }

    [Fact]
    public async Task LargeMessage_Direct_FourMiBEachWay()
    {
        using GrpcChannel channel = Channel();
        var client = new Echo.EchoClient(channel);
        byte[] payload = new byte[4 * 1024 * 1024];
        Random.Shared.NextBytes(payload);
        EchoReply reply = await client.UnaryAsync(new EchoRequest { Payload = ByteString.CopyFrom(payload), ReplyBytes = 4 * 1024 * 1024 });
        Assert.Equal(payload.Length, reply.ReceivedBytes);
        Assert.Equal(4 * 1024 * 1024, reply.Payload.Length);
    }
}
