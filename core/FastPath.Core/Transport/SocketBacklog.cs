// Asks the kernel whether a connection has bytes the transport has not read yet. The socket transport reads at most
// one 4 KiB pool block per receive, so a body that arrived whole is seen in pieces; knowing more is already here
// lets a forwarder send what arrived together in one write instead of one per block (every send wakes the peer:
// on 16 KiB responses that was the profile's largest kernel cost, and coalescing took FastPath from 11k to 27k
// req/s on one core). One FIONREAD ioctl costs far less than a send.
using System.Buffers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace FastPath.Transport;

/// <summary>The bytes the kernel holds for a connection that its transport has not read yet.</summary>
internal interface ISocketBacklogFeature
{
    /// <summary>0 when unknown or the connection is gone.</summary>
    int BufferedBytes { get; }
}

internal static class SocketBacklog
{
    /// <summary>Bytes held back from a send while more is known to be waiting: one large write, not a buffer.</summary>
    public const long MaxUnflushedBytes = 64 * 1024;

    public static Socket? SocketOf(ConnectionContext context) => context.Features.Get<IConnectionSocketFeature>()?.Socket;

    /// <summary>
    /// How to ask about a connection's backlog: FastPath's epoll transport answers with FIONREAD on its descriptor
    /// itself; on Kestrel's transport the connection's Socket does (Socket.Available). Null when neither can.
    /// </summary>
    public static ISocketBacklogFeature? Of(ConnectionContext context) =>
        context.Features.Get<ISocketBacklogFeature>() ?? (SocketOf(context) is { } socket ? Of(socket) : null);

    /// <summary>A Socket's backlog (Socket.Available; 0 once it is disposed).</summary>
    public static ISocketBacklogFeature Of(Socket socket) => new SocketAvailable(socket);

    /// <summary>
    /// For a reader that consumed up to <paramref name="consumed"/> of <paramref name="buffer"/>: the bytes it has seen
    /// in all (what <see cref="MoreWaiting"/> takes), with <paramref name="consumedSoFar"/> moved past this read.
    /// </summary>
    public static long Observed(ref long consumedSoFar, in ReadOnlySequence<byte> buffer, SequencePosition consumed)
    {
        long observed = consumedSoFar + buffer.Length;
        consumedSoFar += buffer.Slice(buffer.Start, consumed).Length;
        return observed;
    }

    /// <summary>
    /// Whether more input is known to have reached this host already, asking the kernel only once per burst: a reader
    /// that has seen <paramref name="observed"/> bytes in all still has bytes coming while that is below
    /// <paramref name="knownUntil"/>, which an answer of N bytes moves to N past what had been seen. A 16 KiB response
    /// read in 4 KiB blocks then costs one FIONREAD instead of four.
    /// </summary>
    public static bool MoreWaiting(ISocketBacklogFeature? backlog, long observed, ref long knownUntil)
    {
        if (observed < knownUntil) return true;
        int buffered = backlog?.BufferedBytes ?? 0;
        if (buffered <= 0) return false;
        knownUntil = observed + buffered;
        return true;
    }

    private sealed class SocketAvailable(Socket socket) : ISocketBacklogFeature
    {
        public int BufferedBytes
        {
            get
            {
                try
                {
                    return socket.Available;
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return 0;
                }
            }
        }
    }
}
