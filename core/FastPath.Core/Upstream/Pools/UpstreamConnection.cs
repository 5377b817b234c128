// One pooled HTTP/1.1 connection to an upstream endpoint, seen as an IDuplexPipe like the downstream side.
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using FastPath.Transport;

namespace FastPath.Upstream.Pools;

internal sealed class UpstreamConnection(ConnectionContext context, Http1ConnectionPool pool)
{
    private int _closed;

    public ConnectionContext Context { get; } = context;
    public Http1ConnectionPool Pool { get; } = pool;
    public PipeReader Input => Context.Transport.Input;
    public PipeWriter Output => Context.Transport.Output;

    /// <summary>Environment.TickCount64 when it went back to the pool.</summary>
    public long IdleSince;

    /// <summary>Exchanges completed on it (counted when it is released), for max_requests_per_connection.</summary>
    public int Requests;

    /// <summary>The circuit breakers whose cluster-wide connection count this connection holds (released on close).</summary>
    public Clusters.CircuitBreakers? CountedBy { get; init; }

    private ISocketBacklogFeature? _backlog;

    /// <summary>Whether more response bytes are already here (see <see cref="SocketBacklog.MoreWaiting"/>).</summary>
    public bool MoreWaiting(long observed, ref long knownUntil) =>
        SocketBacklog.MoreWaiting(_backlog ??= SocketBacklog.Of(Context), observed, ref knownUntil);

    /// <summary>
    /// Whether an idle connection can take another request: the origin has neither closed it nor sent bytes no
    /// request asked for. The socket transport reads in the background, so a FIN is already visible here.
    /// </summary>
    public bool IsReusable()
    {
        if (Volatile.Read(ref _closed) != 0) return false;
        if (!Input.TryRead(out ReadResult result)) return true;
        bool usable = !result.IsCompleted && !result.IsCanceled && result.Buffer.IsEmpty;
        Input.AdvanceTo(result.Buffer.Start);
        return usable;
    }

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        Pool.OnClosed(this);
        _ = DisposeAsync();
    }

    private async Task DisposeAsync()
    {
        try
        {
            await Input.CompleteAsync().ConfigureAwait(false);
            await Output.CompleteAsync().ConfigureAwait(false);
            await Context.DisposeAsync().ConfigureAwait(false);
        }
        catch
        {
            // The socket is going away either way.
        }
    }
}
