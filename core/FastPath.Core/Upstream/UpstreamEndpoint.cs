// One upstream host in a cluster: its address, weight, health and the connection pool that reaches it.
using System.Net;
using System.Text;
using FastPath.LoadBalancing;
using FastPath.Upstream.Pools;

namespace FastPath.Upstream;

internal sealed class UpstreamEndpoint
{
    public UpstreamEndpoint(string host, int port, int weight, IPEndPoint address, Http1ConnectionPool pool)
    {
        Host = host;
        Port = port;
        Weight = weight;
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

    /// <summary>Health as last observed; active health checks and outlier detection (a later issue) write it.</summary>
    public volatile bool Healthy = true;

    /// <summary>
    /// Requests in flight to this endpoint, for least_request and peak_ewma; the request path changes it with
    /// Interlocked.Increment/Decrement around each forwarded request. A field so it can be passed by ref.
    /// </summary>
    public int ActiveRequests;

    /// <summary>Peak-EWMA of response latency, for peak_ewma; the request path records each response's latency.</summary>
    public readonly EwmaLatency Latency = new();
}
