// An HTTP/1.1 origin whose answers a test switches while it runs: the status of /healthz (what an active health
// check sees) and the status of every other path (what traffic sees). It counts both, so tests can tell where the
// gateway sent traffic and that health checks arrive on their own connections.
namespace FastPath.EndToEnd.Testing;

public sealed class SwitchableOrigin : IAsyncDisposable
{
    private readonly RawOrigin _origin;
    private int _healthStatus = 200;
    private int _trafficStatus = 200;
    private int _healthChecks;
    private int _requests;

    public SwitchableOrigin(string id)
    {
        Id = id;
        _origin = new RawOrigin(ServeAsync);
    }

    public string Id { get; }
    public string Address => _origin.Address;
    public int HealthStatus { get => Volatile.Read(ref _healthStatus); set => Volatile.Write(ref _healthStatus, value); }
    public int TrafficStatus { get => Volatile.Read(ref _trafficStatus); set => Volatile.Write(ref _trafficStatus, value); }
    public int HealthChecks => Volatile.Read(ref _healthChecks);
    /// <summary>Requests other than /healthz.</summary>
    public int Requests => Volatile.Read(ref _requests);

    private async Task ServeAsync(RawOriginConnection c)
    {
        while (await c.ReadHeadAsync() is { } head)
        {
            string target = head.Split(' ', 3) is [_, var t, ..] ? t : "/";
            bool health = target == "/healthz";
            int status;
            if (health)
            {
                Interlocked.Increment(ref _healthChecks);
                status = HealthStatus;
            }
            else
            {
                Interlocked.Increment(ref _requests);
                status = TrafficStatus;
            }
            string body = $"origin={Id}\n";
            bool close = head.Contains("Connection: close", StringComparison.OrdinalIgnoreCase);
            await c.WriteAsync($"HTTP/1.1 {status} X\r\nContent-Length: {body.Length}\r\nx-origin-id: {Id}\r\n{(close ? "Connection: close\r\n" : "")}\r\n{body}");
            if (close) return;
        }
    }

    public ValueTask DisposeAsync() => _origin.DisposeAsync();
}
