// One timer for every deadline in the process (Kestrel's Heartbeat idea): each tick runs the handlers registered at
// start-up (ProxyRuntime checks every connection's deadlines, ClusterManager prunes idle pools), so connections and
// requests pay nothing for having timeouts.
//
// The ticks come from a dedicated thread that sleeps between them, as Kestrel's do. A System.Threading.Timer would
// hand every tick to the thread pool: the timer thread wakes a worker, the worker wakes a second one and both spin
// before sleeping again, so an idle gateway woke ~68 times a second; on a node running a sidecar per pod that idle
// cost is paid by every pod.
namespace FastPath.Transport;

internal sealed class Heartbeat : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly Lock _registration = new();
    private Action<long>[] _tickHandlers = [];
    private readonly Clock _clock = new();

    public Heartbeat()
    {
        // The thread holds the heartbeat weakly: one that is dropped without Dispose (a test's) stops at its next tick
        // instead of keeping a thread forever.
        var thread = new Thread(static state => Run((ClockStart)state!)) { IsBackground = true, Name = "FastPath heartbeat" };
        thread.Start(new ClockStart(new WeakReference<Heartbeat>(this), _clock));
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

    private static void Run(ClockStart start)
    {
        while (start.Clock.WaitForNextTick() && TickIfAlive(start.Owner)) { }
    }

    /// <summary>A frame of its own, so no strong reference outlives the tick on the thread's stack.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static bool TickIfAlive(WeakReference<Heartbeat> owner)
    {
        if (!owner.TryGetTarget(out Heartbeat? heartbeat)) return false;
        heartbeat.Tick();
        return true;
    }

    public void Dispose() => _clock.Stop();

    /// <summary>The sleep between ticks, cut short by Stop (a monitor wait: no spinning at each tick).</summary>
    private sealed class Clock
    {
        private readonly object _gate = new();
        private bool _stopped;

        /// <summary>Sleeps one interval; false once stopped.</summary>
        public bool WaitForNextTick()
        {
            lock (_gate)
            {
                if (!_stopped) Monitor.Wait(_gate, Interval);
                return !_stopped;
            }
        }

        public void Stop()
        {
            lock (_gate)
            {
                _stopped = true;
                Monitor.PulseAll(_gate);
            }
        }
    }

    private sealed record ClockStart(WeakReference<Heartbeat> Owner, Clock Clock);
}
