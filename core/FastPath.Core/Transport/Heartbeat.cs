// One timer for every deadline in the process (Kestrel's Heartbeat idea): a tick walks the registered deadlines, so
// connections and requests pay nothing for having timeouts.
using System.Collections.Concurrent;

namespace FastPath.Transport;

internal sealed class Heartbeat : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<ReadDeadline, byte> _deadlines = new();
    private readonly List<Action<long>> _tickHandlers = [];
    private readonly Timer _timer;

    public Heartbeat()
    {
        _timer = new Timer(static s => ((Heartbeat)s!).Tick(), this, Interval, Interval);
    }

    public void Register(ReadDeadline deadline) => _deadlines.TryAdd(deadline, 0);

    public void Unregister(ReadDeadline deadline) => _deadlines.TryRemove(deadline, out _);

    /// <summary>Work done once per tick besides deadlines (pool pruning); registered at start-up only.</summary>
    public void OnTick(Action<long> handler)
    {
        lock (_tickHandlers) _tickHandlers.Add(handler);
    }

    private void Tick()
    {
        long now = Environment.TickCount64;
        foreach (KeyValuePair<ReadDeadline, byte> pair in _deadlines) pair.Key.Check(now);
        Action<long>[] handlers;
        lock (_tickHandlers) handlers = [.. _tickHandlers];
        foreach (Action<long> h in handlers)
        {
            try { h(now); } catch { /* a failing handler must not stop the heartbeat */ }
        }
    }

    public void Dispose() => _timer.Dispose();
}
