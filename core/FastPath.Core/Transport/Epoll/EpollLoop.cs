// One event loop thread: epoll_wait, then each ready socket's handler, then the work deferred during that pass.
// Deferring is what lets a pass end with one send per connection however many responses it produced: a connection
// flushed by several streams is written once, after all of them, on this thread (HAProxy's and Envoy's shape), with
// no hand-off to the thread pool. Work posted from other threads arrives through an eventfd.
//
// A pass handles its downstream events (accepted connections: new requests) before its upstream ones (connections
// this process opened: responses), and sends what the downstream ones wrote upstream in between. The origins start on
// the pass's requests while the loop handles its responses, instead of idling until the pass ends: with the origin's
// core the bottleneck (h2load -c10 -m10 to an HTTP/1.1 origin on this VM's slower spells), holding every request to
// the end of the pass left both cores idle at once (a bubble in the pipeline). It is one burst of sends per pass, as
// before, not one per event: sending when each event was handled filled the bubbles too, but woke the origin more
// often and cost both cores more per request (tried and reverted, see the README).
//
// A pass that leaves output looks once more, without blocking, before sending: what arrived while it ran (the next
// requests, the next responses) is handled too and leaves in the same burst. A send to a peer asleep on another core
// wakes it, and a cross-core wake-up is the most expensive thing a proxy does on a VM (~10 us here): fewer, fuller
// bursts wake the origin and the client less often, for both of them and for this loop. Under h2load -c10 -m10 it
// gave +9% req/s at -9% CPU per request and a lower p99 (10 paired starts). At light load the second look finds
// nothing and costs one epoll_wait.
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using static FastPath.Transport.Epoll.EpollNative;

namespace FastPath.Transport.Epoll;

internal interface IEpollHandler
{
    /// <summary>Called on the loop thread with the epoll event bits.</summary>
    void OnEvents(uint events);
}

internal sealed class EpollLoop : IDisposable
{
    private const int MaxEvents = 256;

    [ThreadStatic] private static EpollLoop? t_current;

    private readonly int _epfd;
    private readonly int _eventFd;
    private readonly Thread _thread;
    private readonly Lock _slotsLock = new();
    private IEpollHandler?[] _handlers = new IEpollHandler?[64];
    private uint[] _generations = new uint[64];
    private bool[] _upstream = new bool[64]; // the slot's events are handled after the downstream ones
    private readonly Stack<int> _free = new();
    private int _nextSlot = 1; // slot 0 is the eventfd

    private readonly Queue<(Action<object?> Action, object? State)> _deferred = new(64); // loop thread only
    private readonly Queue<(Action<object?> Action, object? State)> _upstreamSends = new(64); // loop thread only
    private bool _downstreamRound; // loop thread only: the pass is handling its downstream events

    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _posted = new();
    private int _wakePending;
    private volatile bool _stopping;

    public EpollLoop(int index)
    {
        _epfd = epoll_create1(EPOLL_CLOEXEC);
        if (_epfd < 0) throw new InvalidOperationException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        _eventFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        var ev = new EpollEvent { Events = EPOLLIN | EPOLLET, Data = 0 };
        if (epoll_ctl(_epfd, EPOLL_CTL_ADD, _eventFd, ref ev) != 0) throw new InvalidOperationException("epoll_ctl(eventfd) failed");
        Scheduler = new LoopScheduler(this);
        _thread = new Thread(Run) { IsBackground = true, Name = $"FastPath epoll {index}" };
        _thread.Start();
    }

    /// <summary>The loop whose thread is running this code, if any.</summary>
    public static EpollLoop? Current => t_current;

    /// <summary>Environment.TickCount64 when the running pass began (loop thread only; see <see cref="PassClock"/>).</summary>
    internal long PassStartMs { get; private set; }

    public bool IsCurrent => t_current == this;

    /// <summary>Runs continuations at the end of the current pass on the loop thread; from elsewhere, posts them.</summary>
    public LoopScheduler Scheduler { get; }

    /// <summary>Adds a socket to this loop's epoll set (edge-triggered, both directions) with its handler; the token
    /// returned names the registration for <see cref="Unregister"/>.</summary>
    /// <param name="upstream">A connection this process opened (to an origin): its events are handled after the
    /// pass's downstream ones, and what the downstream ones wrote to it is sent in between.</param>
    public ulong Register(SafeHandle handle, IEpollHandler handler, bool upstream = false)
    {
        ulong token;
        lock (_slotsLock)
        {
            if (!_free.TryPop(out int slot))
            {
                slot = _nextSlot++;
                if (slot >= _handlers.Length)
                {
                    Array.Resize(ref _handlers, _handlers.Length * 2);
                    Array.Resize(ref _generations, _generations.Length * 2);
                    Array.Resize(ref _upstream, _upstream.Length * 2);
                }
            }
            _generations[slot]++;
            _upstream[slot] = upstream;
            Volatile.Write(ref _handlers[slot], handler);
            token = (ulong)(uint)slot | ((ulong)_generations[slot] << 32);
        }
        var ev = new EpollEvent { Events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, Data = token };
        if (Control(EPOLL_CTL_ADD, handle, ref ev) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            Unregister(token);
            throw Error(errno);
        }
        return token;
    }

    /// <summary>Hands a registration to another handler (a connect waiter's socket to its connection) without leaving
    /// and rejoining the epoll set. Loop thread only, so no event is dispatched between the two handlers.</summary>
    public void Rebind(ulong token, IEpollHandler handler)
    {
        int slot = (int)(uint)token;
        lock (_slotsLock)
        {
            if (_generations[slot] != (uint)(token >> 32) || _handlers[slot] is null)
                throw new InvalidOperationException("The epoll registration was already released.");
            Volatile.Write(ref _handlers[slot], handler);
        }
    }

    /// <summary>Forgets a handler: an event still queued for its slot is dropped (the generation no longer matches).
    /// A socket leaves the epoll set when it is closed, or at once when <paramref name="removeFromSet"/> is given.</summary>
    public void Unregister(ulong token, SafeHandle? removeFromSet = null)
    {
        if (removeFromSet is not null && !removeFromSet.IsClosed)
        {
            var ev = default(EpollEvent);
            Control(EPOLL_CTL_DEL, removeFromSet, ref ev);
        }
        int slot = (int)(uint)token;
        lock (_slotsLock)
        {
            if (_generations[slot] != (uint)(token >> 32) || _handlers[slot] is null) return;
            _handlers[slot] = null;
            _generations[slot]++;
            _free.Push(slot);
        }
    }

    /// <summary>epoll_ctl on a handle kept open for the call.</summary>
    private int Control(int op, SafeHandle handle, ref EpollEvent ev)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            return epoll_ctl(_epfd, op, (int)handle.DangerousGetHandle(), ref ev);
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>Queues work for the end of this pass. Loop thread only.</summary>
    public void Defer(Action<object?> action, object? state) => _deferred.Enqueue((action, state));

    /// <summary>Queues an upstream connection's send: between the pass's downstream and upstream events while the
    /// downstream ones are handled, at the end of the pass otherwise. Loop thread only.</summary>
    public void DeferUpstreamSend(Action<object?> action, object? state)
    {
        if (_downstreamRound) _upstreamSends.Enqueue((action, state));
        else _deferred.Enqueue((action, state));
    }

    /// <summary>Runs work on the loop thread: deferred when called there, otherwise posted and the loop woken.</summary>
    public void Post(Action<object?> action, object? state)
    {
        if (IsCurrent)
        {
            Defer(action, state);
            return;
        }
        _posted.Enqueue((action, state));
        if (Interlocked.Exchange(ref _wakePending, 1) == 0) Wake();
    }

    private unsafe void Wake()
    {
        ulong one = 1;
        write(_eventFd, &one, 8);
    }

    private unsafe void Run()
    {
        t_current = this;
        EpollEvent* events = stackalloc EpollEvent[MaxEvents];
        bool lookedAgain = false;
        while (!_stopping)
        {
            int n = epoll_wait(_epfd, events, MaxEvents, _deferred.Count > 0 || !_posted.IsEmpty ? 0 : -1);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == EINTR) continue;
                break;
            }
            PassStartMs = Environment.TickCount64;
            // Downstream events first (new requests), then the requests they produced go to their origins, then the
            // upstream events (responses) are handled while the origins work.
            _downstreamRound = true;
            bool anyUpstream = false;
            for (int i = 0; i < n; i++)
            {
                ulong token = events[i].Data;
                if (token == 0)
                {
                    ulong value;
                    read(_eventFd, &value, 8);
                    continue;
                }
                if (Volatile.Read(ref _upstream[(int)(uint)token]))
                {
                    anyUpstream = true;
                    continue;
                }
                Dispatch(token, events[i].Events);
            }
            _downstreamRound = false;
            if (_upstreamSends.Count > 0) RunQueued(_upstreamSends);
            if (anyUpstream)
            {
                for (int i = 0; i < n; i++)
                {
                    ulong token = events[i].Data;
                    if (token != 0 && Volatile.Read(ref _upstream[(int)(uint)token])) Dispatch(token, events[i].Events);
                }
            }
            if (Volatile.Read(ref _wakePending) != 0)
            {
                Volatile.Write(ref _wakePending, 0);
                while (_posted.TryDequeue(out var item)) Defer(item.Action, item.State);
            }
            if (n > 0 && !lookedAgain && _deferred.Count > 0)
            {
                lookedAgain = true; // the next epoll_wait does not block: deferred work is waiting
                continue;
            }
            lookedAgain = false;
            RunQueued(_deferred);
        }
    }

    private void Dispatch(ulong token, uint events)
    {
        int slot = (int)(uint)token;
        IEpollHandler? handler = Volatile.Read(ref _handlers[slot]);
        if (handler is null || Volatile.Read(ref _generations[slot]) != (uint)(token >> 32)) return;
        try
        {
            handler.OnEvents(events);
        }
        catch (Exception e)
        {
            // Handlers end their own connection on failure; what escapes is a bug, reported and survived.
            Report(e);
        }
    }

    private static void RunQueued(Queue<(Action<object?> Action, object? State)> queue)
    {
        // Work queued while this runs (a flush that schedules the send) runs in the same drain.
        while (queue.TryDequeue(out var item))
        {
            try
            {
                item.Action(item.State);
            }
            catch (Exception e)
            {
                Report(e);
            }
        }
    }

    private static void Report(Exception e) => Console.Error.WriteLine($"fastpath: unhandled exception on the epoll loop: {e}");

    public void Dispose()
    {
        _stopping = true;
        Wake();
    }

    /// <summary>A PipeScheduler: at the end of the pass on the loop thread, otherwise posted to it.</summary>
    internal sealed class LoopScheduler(EpollLoop loop) : System.IO.Pipelines.PipeScheduler
    {
        public override void Schedule(Action<object?> action, object? state) => loop.Post(action, state);
    }

    /// <summary>A connection's send scheduler: at the end of the pass on a loop thread (an upstream connection's
    /// between the pass's two rounds when the downstream round wrote it, see <see cref="DeferUpstreamSend"/>); inline
    /// on any other thread.</summary>
    internal sealed class DeferOrInline : System.IO.Pipelines.PipeScheduler
    {
        public static readonly DeferOrInline Downstream = new(upstream: false);
        public static readonly DeferOrInline Upstream = new(upstream: true);

        private readonly bool _upstream;

        private DeferOrInline(bool upstream) => _upstream = upstream;

        public override void Schedule(Action<object?> action, object? state)
        {
            EpollLoop? current = t_current;
            if (current is null) action(state);
            else if (_upstream) current.DeferUpstreamSend(action, state);
            else current.Defer(action, state);
        }
    }
}
