// The engine's stream pool and the body-block pool: a connection keeps as many streams as it once ran at the same
// time (so a busy upstream connection allocates none per request), and lets them go when they sit unused.
using FastPath.Http2;
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Connection.Http2ConformanceKit;

namespace FastPath.Core.Tests.Http2.Connection;

public sealed class Http2StreamPoolTests
{
    [Fact]
    public async Task StreamPool_KeepsPeakConcurrency_ThenDropsIdleStreamsOnTick()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync(autoTick: false);
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        host.Tick(1_000); // the connection's clock starts here
        const int Streams = 40; // more than the old fixed pool of 16
        for (uint id = 1; id < Streams * 2; id += 2) await client.SendHeadersAsync(id, Http2RawClient.Get("/hold"), endStream: true);
        Http2Connection connection = host.Connections.Single();
        await WaitUntilAsync(() => connection.LiveStreams == Streams);
        for (uint id = 1; id < Streams * 2; id += 2) await client.SendRawAsync(Http2FrameType.RST_STREAM, 0, id, U32((uint)Http2ErrorCode.CANCEL));
        await WaitUntilAsync(() => connection.LiveStreams == 0);
        Assert.Equal(Streams, connection.PooledStreams);

        // Reused, not replaced: a new stream takes one from the pool.
        await AssertServesAsync(client, Streams * 2 + 1);
        Assert.Equal(Streams, connection.PooledStreams);

        host.Tick(1_000 + Http2ConnectionLimits.Default.StreamPoolIdleMs - 100);
        Assert.Equal(Streams, connection.PooledStreams);
        host.Tick(1_000 + Http2ConnectionLimits.Default.StreamPoolIdleMs + 100);
        Assert.Equal(0, connection.PooledStreams);
        await AssertServesAsync(client, Streams * 2 + 3); // and the connection still serves
    }

    [Fact]
    public async Task PooledStream_AlternatingBodilessAndBodyRequests_EachSeesItsOwnBody()
    {
        // A request that ends with its head never touches its stream's body pipe (the reader answers "empty" at once),
        // so recycling skips the pipe's reset. The same pooled stream then carries a request with a body: its pipe
        // must still be fresh, and the next bodiless request must not see the last one's bytes or its end.
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        uint id = 1;
        for (int round = 0; round < 6; round++, id += 2)
        {
            if (round % 2 == 0)
            {
                await client.SendHeadersAsync(id, Http2RawClient.Get("/echo"), endStream: true);
                ReceivedResponse empty = await client.ReadResponseAsync(id);
                Assert.Equal(200, empty.Status);
                Assert.Equal(0, empty.Body.Length);
            }
            else
            {
                byte[] body = System.Text.Encoding.ASCII.GetBytes($"round {round} body");
                await client.SendHeadersAsync(id, Http2RawClient.Post("/echo"), endStream: false);
                await client.SendDataAsync(id, body, endStream: true);
                ReceivedResponse echoed = await client.ReadResponseAsync(id);
                Assert.Equal(200, echoed.Status);
                Assert.Equal(body, echoed.Body.ToArray());
            }
            // Released before the next request arrives, so the next one takes this stream from the pool.
            Http2Connection connection = host.Connections.Single();
            await WaitUntilAsync(() => connection.LiveStreams == 0);
            Assert.Equal(1, connection.PooledStreams);
        }
    }

    [Fact]
    public void BlockPool_ReusesBlocks_BoundsWhatItKeeps_AndIgnoresASecondDispose()
    {
        var pool = new FastPath.Transport.BlockPool(blockSize: 4096, maxRetained: 2);
        var a = pool.Rent();
        var b = pool.Rent();
        var c = pool.Rent();
        Assert.Equal(4096, a.Memory.Length);
        a.Dispose();
        a.Dispose(); // a second Dispose must not hand the same block out twice
        Assert.Equal(1, pool.Retained);
        b.Dispose();
        c.Dispose(); // over the bound: left to the GC
        Assert.Equal(2, pool.Retained);
        var d = pool.Rent();
        var e = pool.Rent();
        Assert.NotSame(d, e);
        Assert.True(ReferenceEquals(d, b) || ReferenceEquals(d, a));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(4096 + 1));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        long deadline = Environment.TickCount64 + 10_000;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline) throw new TimeoutException("condition not met within 10 s");
            await Task.Delay(10);
        }
    }
}
