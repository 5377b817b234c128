// One upstream host in a cluster: its address, weight, health and the connection pool that reaches it.
using System.Net;
using System.Text;
using FastPath.LoadBalancing;
using FastPath.Upstream.Health;
using FastPath.Upstream.Pools;

namespace FastPath.Upstream;

internal sealed class UpstreamEndpoint
{
    public UpstreamEndpoint(string host, int port, int weight, IPEndPoint address, Http1ConnectionPool pool, int priority = 0, string locality = "")
    {
        Host = host;
        Port = port;
        Weight = weight;
        Priority = priority;
        Locality = locality;
        Address = address;
        Pool = pool;
        Name = pool.Name;
        NameUtf8 = Encoding.ASCII.GetBytes(Name);
    }

    public string Host { get; }
    public int Port { get; }
    public int Weight { get; }
    public IPEndPoint Address { get; }
    public string Name { get; }
    /// <summary>host:port as bytes, for the Host fallback and the access log without formatting per request.</summary>
    public byte[] NameUtf8 { get; }
    public Http1ConnectionPool Pool { get; }
    /// <summary>Priority level, 0 the highest; the cluster's balancer spills load to lower levels as health drops.</summary>
    public int Priority { get; }
    /// <summary>"region/zone/subzone" or "".</summary>
    public string Locality { get; }

    /// <summary>
    /// Why the endpoint is unavailable (<see cref="EndpointHealthFlags"/> bits: failed active check, ejected as an
    /// outlier); 0 when available. Written with Interlocked by the health checker and the outlier detector.
    /// </summary>
    public int HealthFlags;

    /// <summary>
    /// Available to the balancers: passing active health checks and not ejected. Setting true clears every flag;
    /// setting false marks a failed active check (what tests and tools that force health mean).
    /// </summary>
    public bool Healthy
    {
        get => Volatile.Read(ref HealthFlags) == 0;
        set
        {
            if (value) SetHealthFlag(EndpointHealthFlags.All, false, 0);
            else SetHealthFlag(EndpointHealthFlags.FailedActiveHealthCheck, true, 0);
        }
    }

    /// <summary>Bumped whenever any endpoint's availability flags change: balancers recompute priority loads lazily.</summary>
    public static int HealthVersion => Volatile.Read(ref s_healthVersion);
    private static int s_healthVersion;

    /// <summary>
    /// TimeProvider timestamp from which slow start ramps this endpoint's weight: set when it joins by a reload or
    /// becomes available again; 0 when it has been available since its cluster started.
    /// </summary>
    public long AvailableSince;

    /// <summary>Sets or clears flag bits at <paramref name="now"/>; true when the endpoint's availability changed.</summary>
    public bool SetHealthFlag(EndpointHealthFlags flags, bool set, long now)
    {
        int old = set ? Interlocked.Or(ref HealthFlags, (int)flags) : Interlocked.And(ref HealthFlags, ~(int)flags);
        int current = set ? old | (int)flags : old & ~(int)flags;
        if (old == current) return false;
        Interlocked.Increment(ref s_healthVersion);
        if (current == 0 && now != 0) Volatile.Write(ref AvailableSince, now);
        return (old == 0) != (current == 0);
    }

    // Active health check state, written only by the cluster's checker (one probe per endpoint at a time).
    internal int CheckSuccesses;
    internal int CheckFailures;
    internal bool Checked;

    // Outlier detection state: consecutive failures counted by the request path, ejections by the detector.
    internal int Consecutive5xx;
    internal int ConsecutiveGatewayErrors;
    internal int EjectionCount;
    internal int EjectionMultiplier;
    internal long EjectedUntil;
    /// <summary>The detector of this endpoint's cluster, one per cluster name for the life of the process.</summary>
    internal OutlierDetector? Outlier;

    /// <summary>
    /// Reports one upstream attempt's outcome to outlier detection: the response status, or the error that ended the
    /// attempt before one (connect failure, reset, timeout count as gateway errors, as Envoy maps them). No allocation.
    /// </summary>
    public void ReportOutcome(ProxyError error, int status) => Outlier?.Report(this, error, status);

    /// <summary>
    /// Takes over the health of the endpoint this one replaces (same address, changed weight, priority or locality),
    /// so a reload that only re-weights does not forget an ejection or a failing check.
    /// </summary>
    public void CopyHealthFrom(UpstreamEndpoint old)
    {
        HealthFlags = Volatile.Read(ref old.HealthFlags);
        AvailableSince = Volatile.Read(ref old.AvailableSince);
        CheckSuccesses = old.CheckSuccesses;
        CheckFailures = old.CheckFailures;
        Checked = old.Checked;
        EjectionCount = old.EjectionCount;
        EjectionMultiplier = old.EjectionMultiplier;
        EjectedUntil = old.EjectedUntil;
    }

    /// <summary>
    /// Requests in flight to this endpoint, for least_request and peak_ewma; the request path changes it with
    /// Interlocked.Increment/Decrement around each forwarded request. A field so it can be passed by ref.
    /// </summary>
    public int ActiveRequests;

    /// <summary>Peak-EWMA of response latency, for peak_ewma; the request path records each response's latency.</summary>
    public readonly EwmaLatency Latency = new();
}
