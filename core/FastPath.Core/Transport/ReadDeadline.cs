// A deadline on one pipe read, checked by the Heartbeat: arming it is a few field writes, so per-request timeouts
// cost no timer and no allocation. On expiry the pending read is cancelled and the reader sees IsCanceled.
//
// The heartbeat runs on its own thread, so it can fire just after a read completed with data and just before the
// reader disarms. The pipe then holds a cancellation nobody asked for, and the next phase's first read (a response
// body after its head, say) would end as if timed out. Firing and disarming therefore take the object's lock, and
// a disarm that finds it was fired clears the pending cancellation before any later read can see it.
using System.IO.Pipelines;

namespace FastPath.Transport;

internal sealed class ReadDeadline
{
    private long _deadline = long.MaxValue;
    private long _cap = long.MaxValue;
    private PipeReader? _reader;
    private Action? _wake;
    private volatile bool _timedOut;
    private bool _fired;

    public bool TimedOut => _timedOut;

    public void Arm(PipeReader reader, long timeoutMs)
    {
        lock (this)
        {
            ClearStaleCancellation();
            _reader = reader;
            _wake = null;
            _timedOut = false;
            Volatile.Write(ref _deadline, Compute(timeoutMs));
        }
    }

    /// <summary>
    /// A deadline on a wait that is not a pipe read (an HTTP/2 response head): on expiry <paramref name="wake"/> runs
    /// instead of a read cancellation. The delegate is the caller's, made once, so arming allocates nothing.
    /// </summary>
    public void Arm(Action wake, long timeoutMs)
    {
        lock (this)
        {
            ClearStaleCancellation();
            _reader = null;
            _wake = wake;
            _timedOut = false;
            Volatile.Write(ref _deadline, Compute(timeoutMs));
        }
    }

    /// <summary>Keeps the reader, moves the deadline (progress on a stream re-arms its idle timer).</summary>
    public void Extend(long timeoutMs) => Volatile.Write(ref _deadline, Compute(timeoutMs));

    /// <summary>
    /// An absolute bound (Environment.TickCount64) no arming can pass: a whole-request timeout over the per-read
    /// ones. long.MaxValue removes it.
    /// </summary>
    public void SetCap(long capTicks) => _cap = capTicks;

    private long Compute(long timeoutMs) => Math.Min(timeoutMs <= 0 ? long.MaxValue : PassClock.NowMs + timeoutMs, _cap);

    /// <summary>Ends the phase. Call it only when no read is pending on the reader (the phase's reads are done).</summary>
    public void Disarm()
    {
        lock (this)
        {
            Volatile.Write(ref _deadline, long.MaxValue);
            ClearStaleCancellation();
        }
    }

    /// <summary>Whether the deadline is set at all (idle connections between requests also count as armed).</summary>
    public bool IsArmed => Volatile.Read(ref _deadline) != long.MaxValue;

    public void Check(long now)
    {
        if (now < Volatile.Read(ref _deadline)) return;
        lock (this)
        {
            if (now < Volatile.Read(ref _deadline)) return; // disarmed or re-armed meanwhile
            Cancel();
        }
    }

    /// <summary>Forces the pending read to end now, as a timeout would (ending an upload or a tunnel).</summary>
    public void Fire()
    {
        lock (this) Cancel();
    }

    /// <summary>Fires only while armed: drain closes a connection that is waiting for its next request, no other.</summary>
    public void FireIfArmed()
    {
        lock (this)
        {
            if (Volatile.Read(ref _deadline) != long.MaxValue) Cancel();
        }
    }

    private void Cancel()
    {
        _timedOut = true;
        _fired = true;
        Volatile.Write(ref _deadline, long.MaxValue);
        _reader?.CancelPendingRead();
        _wake?.Invoke();
    }

    // If a cancellation was issued in the phase that is ending, the pipe may still hold it (the read it was meant
    // for had already completed): a TryRead observes and so clears it, and nothing is consumed.
    private void ClearStaleCancellation()
    {
        if (!_fired) return;
        _fired = false;
        PipeReader? reader = _reader;
        if (reader is null) return;
        try
        {
            if (reader.TryRead(out ReadResult result)) reader.AdvanceTo(result.Buffer.Start);
        }
        catch (InvalidOperationException)
        {
            // The reader was completed, or a read is in progress elsewhere: nothing stale can reach a later read.
        }
    }
}
