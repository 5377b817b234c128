// JSON-lines access log written off the request path: the request formats its line into a pooled buffer and hands
// it to a bounded queue; one background task writes. When the writer falls behind, lines are dropped and counted,
// never waited for.
using System.Buffers;
using System.Buffers.Text;
using System.Threading.Channels;
using FastPath.Observability.Stats;
using FastPath.Upstream;

namespace FastPath.Observability.Logging;

internal ref struct AccessLogRecord
{
    public DateTime StartUtc;
    public ReadOnlySpan<byte> Method;
    public ReadOnlySpan<byte> Path;
    public ReadOnlySpan<byte> Authority;
    public int Status;
    public ResponseFlags Flags;
    public long BytesReceived;
    public long BytesSent;
    public double DurationMs;
    public ReadOnlySpan<byte> UpstreamHost;
    public ReadOnlySpan<byte> Cluster;
    public ReadOnlySpan<byte> VirtualHost;
    public ReadOnlySpan<byte> Route;
    public ReadOnlySpan<byte> RequestId;
    public ReadOnlySpan<byte> ClientAddress;
    /// <summary>The verified client certificate's principal (SPIFFE ID without scheme, Istio's source.principal).</summary>
    public ReadOnlySpan<byte> PeerPrincipal;
    /// <summary>Envoy's response_code_details when set (an authorization denial names its policy); omitted when empty.</summary>
    public ReadOnlySpan<byte> ResponseCodeDetails;
    /// <summary>The AUDIT AuthorizationPolicy the request matched; omitted when none.</summary>
    public ReadOnlySpan<byte> AuditPolicy;
    /// <summary>A gRPC call's grpc-status (Envoy's %GRPC_STATUS%), with <see cref="HasGrpcStatus"/>; omitted otherwise.</summary>
    public int GrpcStatus;
    public bool HasGrpcStatus;
}

internal sealed class AccessLogger : IAsyncDisposable
{
    private const int QueueCapacity = 16 * 1024;
    private readonly Channel<(byte[] Buffer, int Length)> _queue;
    private readonly Stream _output;
    private readonly bool _ownsOutput;
    private readonly Task _writer;

    private AccessLogger(Stream output, bool ownsOutput)
    {
        _output = output;
        _ownsOutput = ownsOutput;
        _queue = Channel.CreateBounded<(byte[], int)>(new BoundedChannelOptions(QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails instead of waiting; we count the drop
        });
        _writer = Task.Run(WriteLoopAsync);
    }

    public string Target { get; private init; } = "";

    /// <summary>Creates a logger for "stdout" or a file path; null for "off".</summary>
    public static AccessLogger? Create(string path)
    {
        if (string.Equals(path, "off", StringComparison.OrdinalIgnoreCase)) return null;
        if (string.Equals(path, "stdout", StringComparison.OrdinalIgnoreCase))
            return new AccessLogger(Console.OpenStandardOutput(), ownsOutput: false) { Target = "stdout" };
        var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 64 * 1024);
        return new AccessLogger(file, ownsOutput: true) { Target = path };
    }

    public void Log(in AccessLogRecord r)
    {
        int max = 400 + 6 * (r.Method.Length + r.Path.Length + r.Authority.Length + r.UpstreamHost.Length
                             + r.Cluster.Length + r.VirtualHost.Length + r.Route.Length + r.RequestId.Length + r.ClientAddress.Length
                             + r.PeerPrincipal.Length + r.ResponseCodeDetails.Length + r.AuditPolicy.Length);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(max);
        int n = Format(buffer, in r);
        if (!_queue.Writer.TryWrite((buffer, n)))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            ProxyMetrics.AccessLogDropped.Inc();
        }
    }

    internal static int Format(Span<byte> dest, in AccessLogRecord r)
    {
        int at = 0;
        Raw(dest, ref at, "{\"start_time\":\""u8);
        r.StartUtc.TryFormat(dest[at..], out int w, "O");
        at += w;
        Raw(dest, ref at, "\",\"method\":"u8); Str(dest, ref at, r.Method);
        Raw(dest, ref at, ",\"path\":"u8); Str(dest, ref at, r.Path);
        Raw(dest, ref at, ",\"authority\":"u8); Str(dest, ref at, r.Authority);
        Raw(dest, ref at, ",\"status\":"u8); Num(dest, ref at, r.Status);
        Raw(dest, ref at, ",\"response_flags\":\""u8);
        ProxyErrors.AppendFlags(r.Flags, dest[at..], out w);
        at += w;
        Raw(dest, ref at, "\",\"bytes_received\":"u8); Num(dest, ref at, r.BytesReceived);
        Raw(dest, ref at, ",\"bytes_sent\":"u8); Num(dest, ref at, r.BytesSent);
        Raw(dest, ref at, ",\"duration_ms\":"u8);
        Utf8Formatter.TryFormat(Math.Round(r.DurationMs, 3), dest[at..], out w);
        at += w;
        Raw(dest, ref at, ",\"upstream_host\":"u8); Str(dest, ref at, r.UpstreamHost);
        Raw(dest, ref at, ",\"upstream_cluster\":"u8); Str(dest, ref at, r.Cluster);
        Raw(dest, ref at, ",\"virtual_host\":"u8); Str(dest, ref at, r.VirtualHost);
        Raw(dest, ref at, ",\"route\":"u8); Str(dest, ref at, r.Route);
        Raw(dest, ref at, ",\"request_id\":"u8); Str(dest, ref at, r.RequestId);
        Raw(dest, ref at, ",\"downstream_remote_address\":"u8); Str(dest, ref at, r.ClientAddress);
        Raw(dest, ref at, ",\"downstream_peer_principal\":"u8); Str(dest, ref at, r.PeerPrincipal);
        Optional(dest, ref at, ",\"response_code_details\":"u8, r.ResponseCodeDetails);
        Optional(dest, ref at, ",\"rbac_audit_policy\":"u8, r.AuditPolicy);
        if (r.HasGrpcStatus)
        {
            Raw(dest, ref at, ",\"grpc_status\":"u8);
            Num(dest, ref at, r.GrpcStatus);
        }
        Raw(dest, ref at, "}\n"u8);
        return at;
    }

    private static void Raw(Span<byte> dest, ref int at, ReadOnlySpan<byte> s)
    {
        s.CopyTo(dest[at..]);
        at += s.Length;
    }

    /// <summary>A field written only when it has a value, so lines of requests without it stay as they were.</summary>
    private static void Optional(Span<byte> dest, ref int at, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty) return;
        Raw(dest, ref at, name);
        Str(dest, ref at, value);
    }

    private static void Num(Span<byte> dest, ref int at, long v)
    {
        Utf8Formatter.TryFormat(v, dest[at..], out int w);
        at += w;
    }

    // Request bytes are attacker-controlled: everything outside printable ASCII, and the JSON metacharacters, is
    // escaped so a log line can never be broken or forged.
    private static void Str(Span<byte> dest, ref int at, ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty)
        {
            Raw(dest, ref at, "null"u8);
            return;
        }
        dest[at++] = (byte)'"';
        foreach (byte b in s)
        {
            if (b >= 0x20 && b < 0x7f && b != '"' && b != '\\')
            {
                dest[at++] = b;
                continue;
            }
            Raw(dest, ref at, "\\u00"u8);
            dest[at++] = (byte)"0123456789abcdef"[b >> 4];
            dest[at++] = (byte)"0123456789abcdef"[b & 0xf];
        }
        dest[at++] = (byte)'"';
    }

    private async Task WriteLoopAsync()
    {
        ChannelReader<(byte[] Buffer, int Length)> reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out (byte[] Buffer, int Length) item))
            {
                try { await _output.WriteAsync(item.Buffer.AsMemory(0, item.Length)).ConfigureAwait(false); }
                catch (IOException) { ProxyMetrics.AccessLogDropped.Inc(); }
                finally { ArrayPool<byte>.Shared.Return(item.Buffer); }
            }
            try { await _output.FlushAsync().ConfigureAwait(false); } catch (IOException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        if (_ownsOutput) await _output.DisposeAsync().ConfigureAwait(false);
    }
}
