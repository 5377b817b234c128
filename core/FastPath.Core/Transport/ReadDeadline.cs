// A deadline on one pipe read, checked by the Heartbeat: arming it is two field writes, so per-request timeouts cost
// no timer and no allocation. On expiry the pending read is cancelled and the reader sees IsCanceled.
using System.IO.Pipelines;

namespace FastPath.Transport;

internal sealed class ReadDeadline
{
    private long _deadline = long.MaxValue;
    private long _cap = long.MaxValue;
    private PipeReader? _reader;
    private volatile bool _timedOut;

    public bool TimedOut => _timedOut;

    public void Arm(PipeReader reader, long timeoutMs)
    {
        _reader = reader;
        _timedOut = false;
        Volatile.Write(ref _deadline, Compute(timeoutMs));
    }

    /// <summary>Keeps the reader, moves the deadline (progress on a stream re-arms its idle timer).</summary>
    public void Extend(long timeoutMs) => Volatile.Write(ref _deadline, Compute(timeoutMs));

    /// <summary>
    /// An absolute bound (Environment.TickCount64) no arming can pass: a whole-request timeout over the per-read
    /// ones. long.MaxValue removes it.
    /// </summary>
    public void SetCap(long capTicks) => _cap = capTicks;

    private long Compute(long timeoutMs) => Math.Min(timeoutMs <= 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs, _cap);

    public void Disarm() => Volatile.Write(ref _deadline, long.MaxValue);

    /// <summary>Whether this deadline ended its read at the cap rather than a per-read timeout (for diagnostics).</summary>
    public bool CapReached => _cap != long.MaxValue && Environment.TickCount64 >= _cap;

    /// <summary>Whether the deadline is set at all (idle connections between requests also count as armed).</summary>
    public bool IsArmed => Volatile.Read(ref _deadline) != long.MaxValue;

    public void Check(long now)
    {
        if (now < Volatile.Read(ref _deadline)) return;
        _timedOut = true;
        Volatile.Write(ref _deadline, long.MaxValue);
        _reader?.CancelPendingRead();
    }

    /// <summary>Forces the pending read to end now, as a timeout would (used by drain to close idle connections).</summary>
    public void Fire()
    {
        _timedOut = true;
        Volatile.Write(ref _deadline, long.MaxValue);
        _reader?.CancelPendingRead();
    }
}
