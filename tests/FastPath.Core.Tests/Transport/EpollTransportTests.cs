// The epoll transport over real loopback sockets: bytes both ways under back-pressure, FIN, reset and abort as
// Kestrel's socket transport reports them, connect failures, and work deferred to the end of a loop's pass.
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using FastPath.Http2;
using FastPath.Transport.Epoll;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace FastPath.Core.Tests.Transport;

public sealed class EpollTransportTests
{
    private static EpollTransport Transport => EpollTransport.Shared;

    private static async Task<(IConnectionListener Listener, ConnectionContext Client, ConnectionContext Server)> PairAsync()
    {
        IConnectionListener listener = await Transport.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        ConnectionContext client = await Transport.ConnectAsync((IPEndPoint)listener.EndPoint, TimeSpan.FromSeconds(5));
        ConnectionContext server = (await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)))!;
        return (listener, client, server);
    }

    /// <summary>Runs <paramref name="body"/> on a connected pair (and the listener), disposing all three after.</summary>
    private static async Task WithPairAsync(Func<IConnectionListener, ConnectionContext, ConnectionContext, Task> body)
    {
        (IConnectionListener listener, ConnectionContext client, ConnectionContext server) = await PairAsync();
        await using (listener)
        await using (client)
        await using (server)
        {
            await body(listener, client, server);
        }
    }

    private static async Task<byte[]> ReadAllAsync(PipeReader reader, int expected)
    {
        var received = new MemoryStream();
        while (true)
        {
            ReadResult result = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
            foreach (ReadOnlyMemory<byte> segment in result.Buffer) received.Write(segment.Span);
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted || received.Length >= expected) break;
        }
        return received.ToArray();
    }

    private static async Task WriteInPiecesAsync(PipeWriter writer, byte[] data)
    {
        // Pieces of odd sizes, flushed one by one: the sender meets a full socket and a full pipe many times over.
        for (int at = 0; at < data.Length;)
        {
            int n = Math.Min(37_000, data.Length - at);
            await writer.WriteAsync(data.AsMemory(at, n));
            at += n;
        }
    }

    [Fact]
    public async Task EightMiBEachWay_AtOnce_ArriveWholeAndInOrder()
    {
        await WithPairAsync(async (listener, client, server) =>
        {
            byte[] up = new byte[8 << 20], down = new byte[8 << 20];
            new Random(1).NextBytes(up);
            new Random(2).NextBytes(down);
            Task<byte[]> serverGot = ReadAllAsync(server.Transport.Input, up.Length);
            Task<byte[]> clientGot = ReadAllAsync(client.Transport.Input, down.Length);
            await Task.WhenAll(WriteInPiecesAsync(client.Transport.Output, up), WriteInPiecesAsync(server.Transport.Output, down));
            Assert.Equal(up, await serverGot);
            Assert.Equal(down, await clientGot);
        });
    }

    [Fact]
    public async Task CompletingTheOutput_SendsWhatWasWritten_ThenTheEnd()
    {
        await WithPairAsync(async (listener, client, server) =>
        {
            await client.Transport.Output.WriteAsync("last words"u8.ToArray());
            await client.Transport.Output.CompleteAsync();
            byte[] got = await ReadAllAsync(server.Transport.Input, int.MaxValue); // returns on the FIN only
            Assert.Equal("last words"u8.ToArray(), got);
        });
    }

    [Fact]
    public async Task PeerReset_EndsTheInputWithConnectionReset()
    {
        await using IConnectionListener listener = await Transport.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(listener.EndPoint);
        await using ConnectionContext server = (await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)))!;
        peer.LingerState = new LingerOption(true, 0);
        peer.Close(); // RST

        await Assert.ThrowsAsync<ConnectionResetException>(async () =>
        {
            while (true)
            {
                ReadResult r = await server.Transport.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                server.Transport.Input.AdvanceTo(r.Buffer.End);
                if (r.IsCompleted) return; // a FIN would be the wrong answer
            }
        });
    }

    [Fact]
    public async Task Abort_EndsTheInputWithConnectionAborted_AndThePeerSeesTheConnectionEnd()
    {
        await WithPairAsync(async (listener, client, server) =>
        {
            ValueTask<ReadResult> pending = server.Transport.Input.ReadAsync();
            server.Abort(new ConnectionAbortedException("test abort"));
            await Assert.ThrowsAsync<ConnectionAbortedException>(async () => await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));

            ReadResult peer = await client.Transport.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.True(peer.IsCompleted);
        });
    }

    [Fact]
    public async Task Connect_ToAPortNobodyListensOn_FailsWithConnectionRefused()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        SocketException e = await Assert.ThrowsAsync<SocketException>(() =>
            Transport.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TimeSpan.FromSeconds(5)).AsTask());
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    [Fact]
    public async Task Connections_CarryTheirEndpointsAndSocket()
    {
        await WithPairAsync(async (listener, client, server) =>
        {
            Assert.Equal(listener.EndPoint, client.RemoteEndPoint);
            Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
            Socket socket = server.Features.Get<IConnectionSocketFeature>()!.Socket;
            await client.Transport.Output.WriteAsync(new byte[1000]);
            ReadResult r = await server.Transport.Input.ReadAsync();
            server.Transport.Input.AdvanceTo(r.Buffer.End);
            Assert.Equal(1000, r.Buffer.Length);
            Assert.Equal(0, socket.Available); // what arrived was read, in one receive
        });
    }

    [Fact]
    public async Task UpstreamConnect_FromALoopThread_JoinsThatLoop()
    {
        await WithPairAsync(async (listener, client, server) =>
        {
            EpollLoop loop = ((EpollConnection)server).Loop;
            var opened = new TaskCompletionSource<ValueTask<ConnectionContext>>();
            loop.Post(_ => opened.SetResult(Transport.ConnectAsync((IPEndPoint)listener.EndPoint, TimeSpan.FromSeconds(5))), null);
            await using ConnectionContext second = await await opened.Task;
            Assert.Same(loop, ((EpollConnection)second).Loop);
            await using ConnectionContext accepted = (await listener.AcceptAsync())!;
        });
    }

    [Fact]
    public async Task UpstreamConnect_FromALoopThread_ResumesTheCallerOnThatLoop_AndCarriesBytesBothWays()
    {
        await WithPairAsync(async (listener, client, server) =>
        {
            EpollLoop loop = ((EpollConnection)server).Loop;
            var resumedOnLoop = new TaskCompletionSource<(ConnectionContext Connection, bool OnLoop)>();
            loop.Post(_ => _ = ConnectThenReportAsync(), null);
            (ConnectionContext second, bool onLoop) = await resumedOnLoop.Task.WaitAsync(TimeSpan.FromSeconds(5));
            await using (second)
            {
                // The connect's completion ran the caller on in that pass, on the loop (no thread-pool hop), and the
                // registration it waited on now serves the connection: the reply's readable edge reaches it.
                Assert.True(onLoop);
                await using ConnectionContext accepted = (await listener.AcceptAsync())!;
                await second.Transport.Output.WriteAsync("ping"u8.ToArray());
                Assert.Equal("ping"u8.ToArray(), await ReadAllAsync(accepted.Transport.Input, 4));
                await accepted.Transport.Output.WriteAsync("pong"u8.ToArray());
                Assert.Equal("pong"u8.ToArray(), await ReadAllAsync(second.Transport.Input, 4));
            }

            async Task ConnectThenReportAsync()
            {
                ConnectionContext c = await Transport.ConnectAsync((IPEndPoint)listener.EndPoint, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                resumedOnLoop.SetResult((c, EpollLoop.Current == loop));
            }
        });
    }

    [Fact]
    public async Task UpstreamConnect_ToAServerThatSpeaksFirst_ReadsWhatCameWithTheConnect()
    {
        // The server's greeting is already in the kernel when the loop next polls, so one edge-triggered event
        // reports "connected" and "readable" together; the connection must still see those bytes.
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        server.Listen(1);
        Socket? accepted = null;
        await WithPairAsync(async (listener, client, pairServer) =>
        {
            EpollLoop loop = ((EpollConnection)pairServer).Loop;
            var opened = new TaskCompletionSource<ValueTask<ConnectionContext>>();
            loop.Post(_ =>
            {
                opened.SetResult(Transport.ConnectAsync((IPEndPoint)server.LocalEndPoint!, TimeSpan.FromSeconds(5)));
                loop.Defer(_ =>
                {
                    accepted = server.Accept(); // the kernel completed the handshake already: returns at once
                    accepted.Send("hello"u8);
                }, null);
            }, null);
            await using ConnectionContext upstream = await (await opened.Task).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal("hello"u8.ToArray(), await ReadAllAsync(upstream.Transport.Input, 5));
        });
        accepted?.Dispose();
    }

    [Fact]
    public async Task Dispose_StartedOnTheLoop_FinishesThere_AndThePeerSeesTheEnd()
    {
        // Disposal waits for the send side to finish; that happens on the loop at the end of the pass, and the
        // disposal carries on there (no thread-pool hop per closed connection).
        await WithPairAsync(async (listener, client, server) =>
        {
            var c = (EpollConnection)server;
            var finishedOnLoop = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            c.Loop.Post(_ => _ = DisposeThenReportAsync(), null);
            Assert.True(await finishedOnLoop.Task.WaitAsync(TimeSpan.FromSeconds(5)));
            ReadResult end = await client.Transport.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.True(end.IsCompleted);
            client.Transport.Input.AdvanceTo(end.Buffer.End);

            async Task DisposeThenReportAsync()
            {
                await server.DisposeAsync().ConfigureAwait(false);
                finishedOnLoop.SetResult(EpollLoop.Current == c.Loop);
            }
        });
    }

    [Fact]
    public async Task Backlog_IsAnsweredByTheConnection_FromWhatTheKernelHolds()
    {
        await WithPairAsync(async (listener, client, server) =>
        {
            var backlog = server.Features.Get<FastPath.Transport.ISocketBacklogFeature>();
            Assert.Same(server, backlog); // FIONREAD on its own descriptor: no Socket object is made for it
            Assert.Equal(0, backlog!.BufferedBytes);
            // Nobody reads the server's input: its pipe fills (1 MiB) and receiving stops; the rest stays in the kernel.
            Task writing = client.Transport.Output.WriteAsync(new byte[3 * 1024 * 1024]).AsTask();
            DateTime deadline = DateTime.UtcNow.AddSeconds(10);
            while (backlog.BufferedBytes == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the kernel never held unread bytes");
                await Task.Delay(10);
            }
            Assert.InRange(backlog.BufferedBytes, 1, 3 * 1024 * 1024);
            _ = await ReadAllAsync(server.Transport.Input, 3 * 1024 * 1024);
            await writing.WaitAsync(TimeSpan.FromSeconds(10));
        });
    }

    /// <summary>Awaits as the proxy does (no captured context), registering before it returns.</summary>
    private static async Task ParkAsync(ValueTask wait, Action then)
    {
        await wait.ConfigureAwait(false);
        then();
    }

    [Fact]
    public async Task DeferredSignal_SetOnALoop_WakesTheWaiterAfterTheSetterReturns_OnTheLoopThread()
    {
        await WithPairAsync(async (listener, client, server) =>
        {
            EpollLoop loop = ((EpollConnection)server).Loop;
            var signal = new Http2AsyncSignal(deferOnLoop: true);
            bool setterReturned = false;
            int loopThread = 0;
            ValueTask wait = signal.WaitAsync();
            var woke = new TaskCompletionSource<(bool SetterReturned, int Thread)>(TaskCreationOptions.RunContinuationsAsynchronously);
            _ = ParkAsync(wait, () => woke.SetResult((Volatile.Read(ref setterReturned), Environment.CurrentManagedThreadId)));
            loop.Post(_ =>
            {
                loopThread = Environment.CurrentManagedThreadId;
                signal.Set();
                Assert.False(woke.Task.IsCompleted); // not inline in Set
                Volatile.Write(ref setterReturned, true);
            }, null);
            (bool returned, int thread) = await woke.Task.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.True(returned);
            Assert.Equal(loopThread, thread);
        });
    }
    [Fact]
    public async Task APass_HandlesDownstreamEventsFirst_AndSendsWhatTheyWroteUpstream_BeforeItsUpstreamEvents()
    {
        // One pass finds an upstream connection readable (a response) before a downstream one (a request). The
        // downstream event is handled first; what its handler wrote to another upstream connection is with that
        // connection's peer by the time the upstream event is handled (sent in between, so the origin works while the
        // responses are handled), and what it wrote to a downstream connection is not yet: it leaves at the end of the
        // pass, with everything else the pass wrote to that connection.
        using var origin = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        origin.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        origin.Listen(8);
        IConnectionListener listener = await Transport.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var sockets = new List<Socket>();
        var connections = new List<ConnectionContext>();
        try
        {
            // Two accepted (downstream) connections on one loop: accepted ones are spread over the loops.
            EpollLoop? loop = null;
            var downstream = new List<(Socket Client, EpollConnection Server)>();
            for (int i = 0; i < 16 && downstream.Count < 2; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(client);
                client.Connect(listener.EndPoint);
                var server = (EpollConnection)(await listener.AcceptAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)))!;
                connections.Add(server);
                loop ??= server.Loop;
                if (server.Loop == loop) downstream.Add((client, server));
            }
            Assert.Equal(2, downstream.Count);
            (Socket requester, EpollConnection downIn) = downstream[0];
            (Socket responseReader, EpollConnection downOut) = downstream[1];

            var seen = new TaskCompletionSource<(string Order, int Upstream, int Downstream)>(TaskCreationOptions.RunContinuationsAsynchronously);
            var peers = new List<Socket>();
            loop!.Post(_ => _ = OnLoopAsync(), null);
            (string order, int upstreamBytes, int downstreamBytes) = await seen.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("downstream,upstream", order);
            Assert.Equal(3, upstreamBytes);
            Assert.Equal(0, downstreamBytes);
            // The downstream bytes were not lost: they left when the pass ended.
            var buffer = new byte[8];
            responseReader.ReceiveTimeout = 5000;
            Assert.Equal(3, responseReader.Receive(buffer));
            sockets.AddRange(peers);

            async Task OnLoopAsync()
            {
                try
                {
                    ConnectionContext upIn = await ConnectAsync();
                    ConnectionContext upOut = await ConnectAsync();
                    Assert.Same(loop, EpollLoop.Current);
                    string order = "";
                    _ = WatchAsync(upIn, upstream: true);
                    _ = WatchAsync(downIn, upstream: false);
                    // Both become readable before the loop next polls, the upstream one first: one pass has both.
                    peers[0].Send("rsp"u8);
                    requester.Send("req"u8);

                    async Task WatchAsync(ConnectionContext c, bool upstream)
                    {
                        ReadResult read = await c.Transport.Input.ReadAsync();
                        c.Transport.Input.AdvanceTo(read.Buffer.End);
                        order += order.Length == 0 ? Side(upstream) : "," + Side(upstream);
                        if (!upstream)
                        {
                            await upOut.Transport.Output.WriteAsync("out"u8.ToArray());
                            await downOut.Transport.Output.WriteAsync("rsp"u8.ToArray());
                            return;
                        }
                        seen.TrySetResult((order, peers[1].Available, responseReader.Available));
                    }
                }
                catch (Exception e)
                {
                    seen.TrySetException(e);
                }
            }

            static string Side(bool upstream) => upstream ? "upstream" : "downstream";

            async Task<ConnectionContext> ConnectAsync()
            {
                ConnectionContext c = await Transport.ConnectAsync((IPEndPoint)origin.LocalEndPoint!, TimeSpan.FromSeconds(5));
                connections.Add(c);
                peers.Add(origin.Accept()); // the handshake is complete: returns at once
                return c;
            }
        }
        finally
        {
            foreach (ConnectionContext c in connections) await c.DisposeAsync();
            foreach (Socket s in sockets) s.Dispose();
            await listener.DisposeAsync();
        }
    }
}
