// SocketBacklog over a real loopback TCP pair: FIONREAD answers, and MoreWaiting asking the kernel once per burst.
using System.Net;
using System.Net.Sockets;
using FastPath.Transport;

namespace FastPath.Core.Tests.Transport;

public sealed class SocketBacklogTests
{
    private static async Task<(Socket Sender, Socket Receiver, Socket Listener)> PairAsync()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Task<Socket> accepted = listener.AcceptAsync();
        await sender.ConnectAsync(listener.LocalEndPoint!);
        return (sender, await accepted, listener);
    }

    private static async Task ArrivedAsync(Socket receiver, int bytes)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(5);
        while (receiver.Available < bytes)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {receiver.Available} of {bytes} bytes arrived");
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task MoreWaiting_RemembersWhatTheKernelHeld_UntilTheReaderHasSeenIt()
    {
        (Socket sender, Socket receiver, Socket listener) = await PairAsync();
        using (sender)
        using (receiver)
        using (listener)
        {
            await sender.SendAsync(new byte[10_000]);
            await ArrivedAsync(receiver, 10_000);
            long knownUntil = 0;
            ISocketBacklogFeature backlog = SocketBacklog.Of(receiver);

            Assert.True(SocketBacklog.MoreWaiting(backlog, observed: 0, ref knownUntil));
            Assert.Equal(10_000, knownUntil);

            // The transport moves the bytes out of the kernel; the reader has seen only part of them.
            byte[] sink = new byte[10_000];
            int read = 0;
            while (read < 10_000) read += receiver.Receive(sink.AsSpan(read));
            Assert.Equal(0, backlog.BufferedBytes);
            Assert.True(SocketBacklog.MoreWaiting(backlog, observed: 4_096, ref knownUntil)); // known, not asked
            Assert.Equal(10_000, knownUntil);

            // All seen and the kernel is empty: nothing more is here.
            Assert.False(SocketBacklog.MoreWaiting(backlog, observed: 10_000, ref knownUntil));

            // A new burst is asked for again.
            await sender.SendAsync(new byte[100]);
            await ArrivedAsync(receiver, 100);
            Assert.True(SocketBacklog.MoreWaiting(backlog, observed: 10_000, ref knownUntil));
            Assert.Equal(10_100, knownUntil);
        }
    }

    [Fact]
    public void NoSocket_NothingWaiting()
    {
        long knownUntil = 0;
        Assert.False(SocketBacklog.MoreWaiting(null, 0, ref knownUntil));
    }

    [Fact]
    public async Task DisposedSocket_ReadsAsEmpty()
    {
        (Socket sender, Socket receiver, Socket listener) = await PairAsync();
        sender.Dispose();
        listener.Dispose();
        receiver.Dispose();
        Assert.Equal(0, SocketBacklog.Of(receiver).BufferedBytes);
    }
}
