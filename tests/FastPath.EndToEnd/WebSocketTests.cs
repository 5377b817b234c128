// Upgrade: a WebSocket handshake and frames in both directions pass through the gateway's 101 tunnel.
using System.Net.WebSockets;
using System.Text;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class WebSocketTests
{
    private static async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveMessageAsync(ClientWebSocket socket, CancellationToken token)
    {
        var message = new MemoryStream();
        byte[] buffer = new byte[16 * 1024];
        while (true)
        {
            WebSocketReceiveResult r = await socket.ReceiveAsync(buffer, token);
            message.Write(buffer, 0, r.Count);
            if (r.EndOfMessage) return (r.MessageType, message.ToArray());
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ClientWebSocket_ThroughGateway_EchoesTextAndBinary()
    {
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(new GatewayYaml().Route("/", "main").Cluster("main", origin.Address));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var socket = new ClientWebSocket();

        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.Port}/ws"), cts.Token);

        Assert.Equal(WebSocketState.Open, socket.State);
        await socket.SendAsync(Encoding.UTF8.GetBytes("hello through fastpath"), WebSocketMessageType.Text, true, cts.Token);
        (WebSocketMessageType type, byte[] data) = await ReceiveMessageAsync(socket, cts.Token);
        Assert.Equal(WebSocketMessageType.Text, type);
        Assert.Equal("hello through fastpath", Encoding.UTF8.GetString(data));

        byte[] binary = new byte[200_000];
        new Random(5).NextBytes(binary);
        await socket.SendAsync(binary, WebSocketMessageType.Binary, true, cts.Token);
        (type, data) = await ReceiveMessageAsync(socket, cts.Token);
        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.Equal(binary, data);

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
        Assert.Equal(WebSocketState.Closed, socket.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        OriginRequest upgrade = Assert.Single(origin.Requests);
        Assert.Equal("/ws", upgrade.PathAndQuery);
    }
}
