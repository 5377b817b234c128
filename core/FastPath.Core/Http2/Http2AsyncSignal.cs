// A reusable auto-reset event for one waiter (a stream's writer, the read loop, the output loop): waiting and setting
// cost no allocation, so a blocked writer waits without spinning and without a Task per wait.
using System.Threading.Tasks.Sources;

namespace FastPath.Http2;

internal sealed class Http2AsyncSignal : IValueTaskSource, IValueTaskSource<bool>
{
    // Continuations run on the thread pool (or, with deferOnLoop, at the end of the setter's epoll loop pass): a setter
    // (the read loop) must never run a stream's code inline.
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private static readonly Action<object?> s_completeDeferred = static s =>
    {
        var signal = (Http2AsyncSignal)s!;
        signal._core.RunContinuationsAsynchronously = false;
        signal._core.SetResult(signal._deferredValue);
    };

    private bool _set;
    private bool _waiting;
    private bool _deferredValue;
    private readonly bool _deferOnLoop;

    /// <param name="deferOnLoop">When set from an epoll loop thread, wake the waiter at the end of that loop's pass
    /// (on that thread) rather than on the thread pool.</param>
    public Http2AsyncSignal(bool deferOnLoop = false) => _deferOnLoop = deferOnLoop;

    /// <summary>Completes at once when the signal was set since the last wait. Call under the owner's lock.</summary>
    public ValueTask WaitAsync()
    {
        if (_set)
        {
            _set = false;
            return default;
        }
        _core.Reset();
        _core.RunContinuationsAsynchronously = true;
        _waiting = true;
        return new ValueTask(this, _core.Version);
    }

    /// <summary>As <see cref="WaitAsync"/>, with the value the waking <see cref="Set(bool)"/> passed (or
    /// <paramref name="ifSet"/> when the signal was already set). Call under the owner's lock.</summary>
    public ValueTask<bool> WaitForValueAsync(bool ifSet)
    {
        if (_set)
        {
            _set = false;
            return new ValueTask<bool>(ifSet);
        }
        _core.Reset();
        _core.RunContinuationsAsynchronously = true;
        _waiting = true;
        return new ValueTask<bool>(this, _core.Version);
    }

    /// <summary>Wakes the waiter, or lets its next wait pass. Call under the owner's lock.</summary>
    public void Set() => Set(true);

    /// <summary>Wakes the waiter with <paramref name="value"/> (what WaitForValueAsync returns), or lets its next wait pass.</summary>
    public void Set(bool value)
    {
        if (_waiting)
        {
            _waiting = false;
            // On an epoll loop thread the waiter runs at the end of the loop's pass, on that thread: several streams
            // that complete in one pass then share one flush, with no hand-off to the thread pool.
            if (_deferOnLoop && Transport.Epoll.EpollLoop.Current is { } loop)
            {
                _deferredValue = value;
                loop.Defer(s_completeDeferred, this);
            }
            else
            {
                _core.SetResult(value);
            }
        }
        else
        {
            _set = true;
        }
    }

    public void Clear() => _set = false;

    /// <summary>
    /// As <see cref="Set(bool)"/>, except that a registered waiter is detached rather than woken: true means the caller
    /// must wake it with <see cref="CompleteInline"/> once it holds no lock. Call under the owner's lock.
    /// </summary>
    public bool TakeWaiter()
    {
        if (!_waiting)
        {
            _set = true;
            return false;
        }
        _waiting = false;
        return true;
    }

    /// <summary>Wakes a waiter detached by <see cref="TakeWaiter"/>; its continuation runs on this thread, now.</summary>
    public void CompleteInline(bool value)
    {
        _core.RunContinuationsAsynchronously = false;
        _core.SetResult(value);
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    bool IValueTaskSource<bool>.GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
