// A deadline on one pipe read, checked by the Heartbeat: arming it is two field writes, so per-request timeouts cost
// no timer and no allocation. On expiry the pending read is cancelled and the reader sees IsCanceled.
using System.IO.Pipelines;

namespace FastPath.Transport;

internal sealed class ReadDeadline
{
    private long _deadline = long.MaxValue;
    private PipeReader? _reader;
    private volatile bool _timedOut;

    public bool TimedOut => _timedOut;

    public void Arm(PipeReader reader, long timeoutMs)
    {
        _reader = reader;
        _timedOut = false;
        Volatile.Write(ref _deadline, timeoutMs <= 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs);
    }

    /// <summary>Keeps the reader, moves the deadline (progress on a stream re-arms its idle timer).</summary>
    public void Extend(long timeoutMs) =>
        Volatile.Write(ref _deadline, timeoutMs <= 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs);

    public void Disarm() => Volatile.Write(ref _deadline, long.MaxValue);

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
