// The admin listener (127.0.0.1 by default): /ready, /stats/prometheus, /config_dump, /clusters, POST /drain.
// It speaks HTTP/1.1 through the same codec as the data path; it is off the hot path, so it favours clarity.
using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using FastPath.Config;
using FastPath.Filters.Network;
using FastPath.Http;
using FastPath.Http1;
using FastPath.LoadBalancing;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Health;
using Microsoft.AspNetCore.Connections;
using Prometheus;

namespace FastPath.Observability.Admin;

internal sealed partial class AdminServer(ProxyRuntime runtime, Action requestDrain)
{
    public async Task HandleAsync(ConnectionContext connection)
    {
        PipeReader input = connection.Transport.Input;
        PipeWriter output = connection.Transport.Output;
        var head = new HttpRequestHead();
        try
        {
            while (true)
            {
                head.Reset();
                var handler = new Http1RequestHandler(head);
                var state = new Http1HeadParseState();
                RequestRejectionReason reason;
                while (true)
                {
                    ReadResult result = await input.ReadAsync().ConfigureAwait(false);
                    ReadOnlySequence<byte> buffer = result.Buffer;
                    Http1ParseResult parsed = Parse(buffer, ref handler, ref state, out SequencePosition consumed, out reason);
                    if (parsed == Http1ParseResult.Complete)
                    {
                        input.AdvanceTo(consumed);
                        reason = handler.Complete();
                        break;
                    }
                    if (parsed == Http1ParseResult.Error) break;
                    input.AdvanceTo(consumed, buffer.End);
                    if (result.IsCompleted) return;
                }
                // Admin requests carry no body; "Content-Length: 0" (what HttpClient sends with an empty POST) is none.
                if (reason != RequestRejectionReason.None || (head.HasBody && head.ContentLength != 0))
                {
                    Http1HeadWriter.WriteLocalResponse(output, 400, "Bad Request"u8, "text/plain"u8, "bad request\n"u8, close: true);
                    await output.FlushAsync().ConfigureAwait(false);
                    return;
                }
                (int status, string contentType, byte[] body) = await RespondAsync(head).ConfigureAwait(false);
                Http1HeadWriter.WriteLocalResponse(output, status, ProxyErrors.Reason(status),
                    Encoding.ASCII.GetBytes(contentType), body, close: !head.KeepAlive, headOnly: head.Method == HttpMethod.Head);
                await output.FlushAsync().ConfigureAwait(false);
                if (!head.KeepAlive) return;
            }
        }
        catch (Exception e) when (e is IOException or ConnectionResetException)
        {
        }
        finally
        {
            head.Headers.Release();
            await input.CompleteAsync().ConfigureAwait(false);
            await output.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static Http1ParseResult Parse(in ReadOnlySequence<byte> buffer, ref Http1RequestHandler handler, ref Http1HeadParseState state,
        out SequencePosition consumed, out RequestRejectionReason reason)
    {
        var reader = new SequenceReader<byte>(buffer);
        Http1ParseResult r = Http1Parser.ParseHead(ref reader, ref handler, ref state, Http1Limits.Default, out reason);
        consumed = reader.Position;
        return r;
    }

    private async Task<(int Status, string ContentType, byte[] Body)> RespondAsync(HttpRequestHead head)
    {
        string path = Encoding.ASCII.GetString(head.PathOnly);
        bool get = head.Method is HttpMethod.Get or HttpMethod.Head;
        switch (path)
        {
            case "/ready" when get:
                return runtime.Draining ? (503, "text/plain", "DRAINING\n"u8.ToArray()) : (200, "text/plain", "LIVE\n"u8.ToArray());
            case "/stats/prometheus" when get:
            {
                using var stream = new MemoryStream();
                await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(stream).ConfigureAwait(false);
                return (200, "text/plain; version=0.0.4; charset=utf-8", stream.ToArray());
            }
            case "/config_dump" when get:
                return (200, "application/json", ConfigDump(runtime.Snapshot));
            case "/clusters" when get:
                return (200, "application/json", ClustersDump(runtime.Snapshot));
            case "/drain" when head.Method == HttpMethod.Post:
                requestDrain();
                return (200, "text/plain", "draining\n"u8.ToArray());
            case "/" when get:
                return (200, "text/plain", "FastPath admin: /ready /stats/prometheus /config_dump /clusters POST /drain\n"u8.ToArray());
            default:
                return (404, "text/plain", "not found\n"u8.ToArray());
        }
    }

    internal static byte[] ConfigDump(ProxySnapshot snapshot)
    {
        GatewayConfig c = snapshot.Config;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("version", snapshot.Version);
            w.WriteString("loaded_at", snapshot.LoadedAt);
            w.WriteString("source", c.SourcePath);
            w.WriteStartObject("admin");
            w.WriteString("address", c.Admin.Address);
            w.WriteNumber("port", c.Admin.Port);
            w.WriteEndObject();
            w.WriteStartObject("limits");
            LimitsConfig l = c.Limits;
            w.WriteNumber("max_request_line_bytes", l.MaxRequestLineBytes);
            w.WriteNumber("max_header_bytes", l.MaxHeaderBytes);
            w.WriteNumber("max_headers", l.MaxHeaders);
            w.WriteString("header_read_timeout", Duration(l.HeaderReadTimeout));
            w.WriteString("request_timeout", Duration(l.RequestTimeout));
            w.WriteString("idle_timeout", Duration(l.IdleTimeout));
            w.WriteString("stream_idle_timeout", Duration(l.StreamIdleTimeout));
            w.WriteNumber("max_connections", l.MaxConnections);
            w.WriteString("drain_timeout", Duration(l.DrainTimeout));
            if (l.Via is not null) w.WriteString("via", l.Via);
            w.WriteEndObject();
            w.WriteStartObject("access_log");
            w.WriteString("path", c.AccessLog.Path);
            w.WriteEndObject();
            SecurityDump.Write(w, c);
            w.WriteStartArray("listeners");
            foreach (ListenerConfig listener in c.Listeners)
            {
                w.WriteStartObject();
                w.WriteString("name", listener.Name);
                w.WriteString("address", listener.Address);
                w.WriteNumber("port", listener.Port);
                WriteHttp2(w, listener.Http2);
                w.WriteStartArray("virtual_hosts");
                foreach (VirtualHostConfig v in listener.VirtualHosts)
                {
                    w.WriteStartObject();
                    w.WriteString("name", v.Name);
                    w.WriteStartArray("domains");
                    foreach (string d in v.Domains) w.WriteStringValue(d);
                    w.WriteEndArray();
                    w.WriteStartArray("routes");
                    foreach (RouteConfig r in v.Routes)
                    {
                        w.WriteStartObject();
                        if (r.Name.Length > 0) w.WriteString("name", r.Name);
                        if (r.Match.Prefix is not null) w.WriteString("prefix", r.Match.Prefix);
                        if (r.Match.Path is not null) w.WriteString("path", r.Match.Path);
                        if (r.Match.Regex is not null) w.WriteString("regex", r.Match.Regex);
                        if (r.Cluster.Length > 0) w.WriteString("cluster", r.Cluster);
                        if (r.WeightedClusters is { } weighted)
                        {
                            w.WriteStartArray("weighted_clusters");
                            foreach (WeightedClusterConfig wc in weighted)
                            {
                                w.WriteStartObject();
                                w.WriteString("cluster", wc.Cluster);
                                w.WriteNumber("weight", wc.Weight);
                                w.WriteEndObject();
                            }
                            w.WriteEndArray();
                        }
                        if (r.Redirect is { } redirect) w.WriteNumber("redirect", redirect.ResponseCode);
                        if (r.DirectResponse is { } direct) w.WriteNumber("direct_response", direct.Status);
                        w.WriteString("timeout", Duration(r.Timeout));
                        WriteRetries(w, r);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                FilterChainDump.Write(w, listener);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("clusters");
            foreach (ClusterConfig cl in c.Clusters)
            {
                w.WriteStartObject();
                w.WriteString("name", cl.Name);
                w.WriteString("lb_policy", cl.LbPolicy);
                w.WriteString("connect_timeout", Duration(cl.ConnectTimeout));
                w.WriteString("idle_timeout", Duration(cl.IdleTimeout));
                w.WriteNumber("max_connections_per_endpoint", cl.MaxConnectionsPerEndpoint);
                w.WriteNumber("max_pending_requests", cl.MaxPendingRequests);
                w.WriteNumber("max_requests_per_connection", cl.MaxRequestsPerConnection);
                WriteCircuitBreakers(w, cl);
                w.WriteStartArray("endpoints");
                foreach (EndpointConfig e in cl.Endpoints)
                {
                    w.WriteStartObject();
                    w.WriteString("address", e.ToString());
                    w.WriteNumber("weight", e.Weight);
                    w.WriteNumber("priority", e.Priority);
                    if (e.Locality.Length > 0) w.WriteString("locality", e.Locality);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                WriteHealthConfig(w, cl);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            AuthorizationDump.Write(w, c);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    internal static byte[] ClustersDump(ProxySnapshot snapshot)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("clusters");
            foreach (Cluster cluster in snapshot.Clusters.Values)
            {
                w.WriteStartObject();
                w.WriteString("name", cluster.Name);
                w.WriteString("lb_policy", cluster.LoadBalancer.Name);
                WriteBalancerState(w, cluster);
                WriteBreakerState(w, cluster.Breakers);
                w.WriteStartArray("endpoints");
                foreach (UpstreamEndpoint e in cluster.Endpoints)
                {
                    w.WriteStartObject();
                    w.WriteString("address", e.Name);
                    w.WriteNumber("weight", e.Weight);
                    w.WriteString("health", e.Healthy ? "healthy" : "unhealthy");
                    WriteEndpointHealth(w, e);
                    w.WriteNumber("connections_open", e.Pool.OpenConnections);
                    w.WriteNumber("connections_idle", e.Pool.IdleConnections);
                    w.WriteNumber("connections_opened_total", e.Pool.ConnectionsOpened);
                    w.WriteNumber("connect_failures_total", e.Pool.ConnectFailures);
                    if (e.Pool.Http2 is { } h2)
                    {
                        // protocol: http2 - the HTTP/1.1 counts above stay zero; the multiplexed connections are here.
                        w.WriteStartObject("http2");
                        w.WriteNumber("connections_open", h2.OpenConnections);
                        w.WriteNumber("connections_opened_total", h2.ConnectionsOpened);
                        w.WriteNumber("connect_failures_total", h2.ConnectFailures);
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteHealthConfig(Utf8JsonWriter w, ClusterConfig c)
    {
        w.WriteNumber("healthy_panic_threshold", c.HealthyPanicThreshold);
        if (c.HealthCheck is { } hc)
        {
            w.WriteStartObject("health_check");
            if (hc.Http is { } http)
            {
                w.WriteStartObject("http");
                w.WriteString("path", http.Path);
                if (http.Host is not null) w.WriteString("host", http.Host);
                w.WriteStartArray("expected_statuses");
                foreach (StatusRange r in http.ExpectedStatuses) w.WriteStringValue(r.ToString());
                w.WriteEndArray();
                if (http.Codec is { } codec) w.WriteString("codec_client_type", codec == HealthCheckCodec.Http2 ? "HTTP2" : "HTTP1");
                w.WriteEndObject();
            }
            else if (hc.Grpc is { } grpc)
            {
                w.WriteStartObject("grpc");
                w.WriteString("service_name", grpc.ServiceName);
                if (grpc.Authority is not null) w.WriteString("authority", grpc.Authority);
                w.WriteEndObject();
            }
            else
            {
                w.WriteStartObject("tcp");
                w.WriteEndObject();
            }
            w.WriteString("interval", Duration(hc.Interval));
            w.WriteString("timeout", Duration(hc.Timeout));
            w.WriteString("interval_jitter", Duration(hc.IntervalJitter));
            w.WriteNumber("healthy_threshold", hc.HealthyThreshold);
            w.WriteNumber("unhealthy_threshold", hc.UnhealthyThreshold);
            w.WriteEndObject();
        }
        if (c.OutlierDetection is { } od)
        {
            w.WriteStartObject("outlier_detection");
            w.WriteNumber("consecutive_5xx", od.Consecutive5xx);
            w.WriteNumber("consecutive_gateway_errors", od.ConsecutiveGatewayErrors);
            w.WriteString("interval", Duration(od.Interval));
            w.WriteString("base_ejection_time", Duration(od.BaseEjectionTime));
            w.WriteNumber("max_ejection_percent", od.MaxEjectionPercent);
            w.WriteNumber("min_health_percent", od.MinHealthPercent);
            w.WriteEndObject();
        }
        if (c.SlowStart is { } ss)
        {
            w.WriteStartObject("slow_start");
            w.WriteString("window", Duration(ss.Window));
            w.WriteNumber("aggression", ss.Aggression);
            w.WriteNumber("min_weight_percent", ss.MinWeightPercent);
            w.WriteEndObject();
        }
    }

    /// <summary>Priority levels with their current load and panic state (Envoy's /clusters shows the same).</summary>
    private static void WriteBalancerState(Utf8JsonWriter w, Cluster cluster)
    {
        if (cluster.LoadBalancer is not ClusterLoadBalancer balancer) return;
        w.WriteNumber("healthy_panic_threshold", cluster.Config.HealthyPanicThreshold);
        w.WriteNumber("panic_picks_total", balancer.PanicPicks);
        w.WriteStartArray("priorities");
        foreach ((int priority, int load, bool panic) in balancer.Levels())
        {
            w.WriteStartObject();
            w.WriteNumber("priority", priority);
            w.WriteNumber("load_percent", load);
            w.WriteBoolean("panic", panic);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteEndpointHealth(Utf8JsonWriter w, UpstreamEndpoint e)
    {
        w.WriteStartArray("health_flags");
        foreach (string flag in EndpointHealthFlagNames.Names(Volatile.Read(ref e.HealthFlags))) w.WriteStringValue(flag);
        w.WriteEndArray();
        w.WriteNumber("ejections_total", e.EjectionCount);
        w.WriteNumber("priority", e.Priority);
        w.WriteString("locality", e.Locality);
    }

    /// <summary>A listener's effective HTTP/2 limits (defaults included), under the names of its http2 section.</summary>
    private static void WriteHttp2(Utf8JsonWriter w, Http2ProtocolConfig h)
    {
        w.WriteStartObject("http2");
        w.WriteNumber("max_concurrent_streams", h.MaxConcurrentStreams);
        w.WriteNumber("initial_stream_window_size", h.InitialStreamWindowSize);
        w.WriteNumber("initial_connection_window_size", h.InitialConnectionWindowSize);
        w.WriteNumber("max_header_list_size", h.MaxHeaderListSize);
        w.WriteNumber("hpack_table_size", h.HpackTableSize);
        w.WriteString("rate_interval", Duration(h.RateInterval));
        w.WriteNumber("max_resets_per_interval", h.MaxResetsPerInterval);
        w.WriteNumber("max_inbound_control_frames_per_interval", h.MaxInboundControlFramesPerInterval);
        w.WriteNumber("max_inbound_window_update_frames_per_interval", h.MaxInboundWindowUpdateFramesPerInterval);
        w.WriteNumber("max_consecutive_inbound_frames_with_empty_payload", h.MaxConsecutiveInboundFramesWithEmptyPayload);
        w.WriteString("send_stall_timeout", Duration(h.SendStallTimeout));
        w.WriteEndObject();
    }

    private static string Duration(TimeSpan t) => t.TotalMilliseconds % 1000 == 0 ? $"{(long)t.TotalSeconds}s" : $"{(long)t.TotalMilliseconds}ms";
}
