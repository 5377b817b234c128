// Request mirroring (Istio mirror + mirrorPercentage, Envoy request_mirror_policies). A share of requests is copied
// to another cluster with its Host suffixed "-shadow" (before any port, as Envoy does); the copy's answer is read up
// to its status line and dropped. The copy is fire-and-forget: it never delays or fails the main request, and at most
// max_in_flight copies per scope are outstanding — beyond that they are dropped and counted.
//
// Only requests without a body are mirrored: bodies stream to the main upstream without being buffered, so a copy of
// one would need buffering or a tee; requests with a body are counted as skipped_body instead.
using System.Buffers;
using System.IO.Pipelines;
using FastPath.Http;
using FastPath.Http1;
using FastPath.LoadBalancing;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Pools;
using Prometheus;

namespace FastPath.Filters.Http;

internal sealed class MirrorFilterFactory : PooledHttpFilterFactory<MirrorFilter>
{
    private static readonly Counter Mirrored = Metrics.CreateCounter("fastpath_mirror_requests_total",
        "Mirrored request copies by target cluster and result (sent, dropped, skipped_body, failed, timeout).",
        new CounterConfiguration { LabelNames = ["cluster", "result"] });

    private int _inFlight;

    public MirrorFilterFactory(Cluster cluster, double percentage, int maxInFlight, TimeSpan timeout, IRandomSource random)
    {
        Cluster = cluster;
        Ppm = (uint)Math.Round(Math.Clamp(percentage, 0, 100) * 10_000);
        MaxInFlight = maxInFlight;
        Timeout = timeout;
        Random = random;
        Sent = Mirrored.WithLabels(cluster.Name, "sent");
        Dropped = Mirrored.WithLabels(cluster.Name, "dropped");
        SkippedBody = Mirrored.WithLabels(cluster.Name, "skipped_body");
        Failed = Mirrored.WithLabels(cluster.Name, "failed");
        TimedOut = Mirrored.WithLabels(cluster.Name, "timeout");
    }

    public Cluster Cluster { get; }
    public uint Ppm { get; }
    public int MaxInFlight { get; }
    public TimeSpan Timeout { get; }
    public IRandomSource Random { get; }
    public int InFlight => Volatile.Read(ref _inFlight);

    internal Counter.Child Sent { get; }
    internal Counter.Child Dropped { get; }
    internal Counter.Child SkippedBody { get; }
    internal Counter.Child Failed { get; }
    internal Counter.Child TimedOut { get; }

    public bool Draw() => Ppm >= FaultFilterFactory.Million || (Ppm > 0 && XorShift.Below(Random.NextUInt64(), FaultFilterFactory.Million) < Ppm);

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _inFlight) <= MaxInFlight) return true;
        Interlocked.Decrement(ref _inFlight);
        Dropped.Inc();
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    protected override MirrorFilter Create() => new(this);
}

internal sealed class MirrorFilter(MirrorFilterFactory factory) : HttpFilter
{
    private static ReadOnlySpan<byte> ShadowSuffix => "-shadow"u8;

    public override FilterHeadersStatus OnRequestHeaders(HttpFilterManager stream)
    {
        if (!factory.Draw()) return FilterHeadersStatus.Continue;
        if (stream.Request.HasBody)
        {
            factory.SkippedBody.Inc();
            return FilterHeadersStatus.Continue;
        }
        UpstreamEndpoint? endpoint = factory.Cluster.LoadBalancer.Pick(default);
        if (endpoint is null)
        {
            factory.Failed.Inc();
            return FilterHeadersStatus.Continue;
        }
        if (!factory.TryEnter()) return FilterHeadersStatus.Continue;
        // The head is copied now: the request's buffers go back to their pool when the main exchange ends.
        byte[] head = FormatHead(stream, endpoint, out int length);
        _ = RequestMirror.SendAsync(factory, endpoint, head, length);
        return FilterHeadersStatus.Continue;
    }

    private static byte[] FormatHead(HttpFilterManager stream, UpstreamEndpoint endpoint, out int length)
    {
        HttpRequestHead request = stream.Request;
        ReadOnlySpan<byte> authority = request.AuthorityStart >= 0 ? request.Authority : endpoint.NameUtf8;
        Span<byte> host = stackalloc byte[authority.Length + ShadowSuffix.Length];
        ShadowHost(authority, host);

        Span<byte> generatedId = stackalloc byte[RequestIdGenerator.Length];
        scoped ReadOnlySpan<byte> requestId;
        if (request.RequestIdIndex >= 0)
        {
            requestId = request.Headers.Value(request.Headers[request.RequestIdIndex]);
        }
        else
        {
            RequestIdGenerator.Write(generatedId);
            requestId = generatedId;
        }
        var fwd = new ForwardedFields
        {
            ClientAddress = stream.ClientAddress,
            Scheme = "http"u8,
            RequestId = requestId,
            FallbackHost = endpoint.NameUtf8,
            Host = host,
        };
        var writer = new ArrayBufferWriter<byte>(1024);
        Http1HeadWriter.WriteRequestHead(writer, request, BodyFraming.None, in fwd);
        byte[] copy = ArrayPool<byte>.Shared.Rent(writer.WrittenCount);
        writer.WrittenSpan.CopyTo(copy);
        length = writer.WrittenCount;
        return copy;
    }

    /// <summary>Envoy's shadow host: the suffix goes after the host name and before any port, so
    /// "example.com:8080" becomes "example.com-shadow:8080".</summary>
    internal static int ShadowHost(ReadOnlySpan<byte> authority, Span<byte> destination)
    {
        int colon = authority.LastIndexOf((byte)':');
        // A colon inside an IPv6 literal is not a port separator.
        if (colon >= 0 && authority.LastIndexOf((byte)']') > colon) colon = -1;
        int hostLength = colon >= 0 ? colon : authority.Length;
        authority[..hostLength].CopyTo(destination);
        ShadowSuffix.CopyTo(destination[hostLength..]);
        authority[hostLength..].CopyTo(destination[(hostLength + ShadowSuffix.Length)..]);
        return authority.Length + ShadowSuffix.Length;
    }

    public override void Release() => factory.Return(this);
}

/// <summary>Sends one mirrored copy and waits for its status line, off the request path.</summary>
internal static class RequestMirror
{
    public static async Task SendAsync(MirrorFilterFactory factory, UpstreamEndpoint endpoint, byte[] head, int length)
    {
        UpstreamConnection? connection = null;
        using var timeout = new CancellationTokenSource(factory.Timeout);
        try
        {
            PoolLease lease = await endpoint.Pool.AcquireAsync().ConfigureAwait(false);
            if (lease.Connection is null)
            {
                factory.Failed.Inc();
                return;
            }
            connection = lease.Connection;
            connection.Output.Write(head.AsSpan(0, length));
            FlushResult flushed = await connection.Output.FlushAsync(timeout.Token).ConfigureAwait(false);
            if (flushed.IsCompleted)
            {
                factory.Failed.Inc();
                return;
            }
            PipeReader input = connection.Input;
            while (true)
            {
                ReadResult read = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
                bool gotStatusLine = read.Buffer.PositionOf((byte)'\n') is not null;
                input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                if (gotStatusLine)
                {
                    factory.Sent.Inc();
                    return;
                }
                if (read.IsCompleted || read.IsCanceled)
                {
                    factory.Failed.Inc();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            factory.TimedOut.Inc();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException
                                      or Microsoft.AspNetCore.Connections.ConnectionResetException or Microsoft.AspNetCore.Connections.ConnectionAbortedException)
        {
            factory.Failed.Inc();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
            // The rest of the answer is not wanted: the connection closes instead of being drained for reuse.
            connection?.Close();
            factory.Exit();
        }
    }
}
