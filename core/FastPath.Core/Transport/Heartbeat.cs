// One timer for every deadline in the process (Kestrel's Heartbeat idea): each tick runs the handlers registered at
// start-up (ProxyRuntime checks every connection's deadlines, ClusterManager prunes idle pools), so connections and
// requests pay nothing for having timeouts.
namespace FastPath.Transport;

internal sealed class Heartbeat : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly Lock _registration = new();
    private Action<long>[] _tickHandlers = [];
    private readonly Timer _timer;

    public Heartbeat()
    {
        _timer = new Timer(static s => ((Heartbeat)s!).Tick(), this, Interval, Interval);
    }

    /// <summary>Work done once per tick; registered at start-up only (copy-on-write, so a tick takes no lock).</summary>
    public void OnTick(Action<long> handler)
    {
        lock (_registration) _tickHandlers = [.. _tickHandlers, handler];
    }

    private void Tick()
    {
        long now = Environment.TickCount64;
        foreach (Action<long> h in Volatile.Read(ref _tickHandlers))
        {
            try { h(now); } catch { /* a failing handler must not stop the heartbeat */ }
        }
    }

    public void Dispose() => _timer.Dispose();
}
