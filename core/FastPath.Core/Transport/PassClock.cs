// The millisecond clock (Environment.TickCount64) as the request path reads it. A proxied request reads it about ten
// times (deadlines armed and extended, a retry budget, a pooled connection's idle stamp), each a call into the vDSO;
// on an epoll loop thread every one of them now reads the time the loop's current pass began, taken once per pass.
// A pass lasts well under a millisecond at full load, so a deadline armed late in one fires at most that much early;
// deadlines are checked by the 100 ms heartbeat anyway. Off the loop threads (Kestrel's transport, the thread pool,
// tests) it is the clock itself.
using FastPath.Transport.Epoll;

namespace FastPath.Transport;

internal static class PassClock
{
    public static long NowMs
    {
        get
        {
            EpollLoop? loop = EpollLoop.Current;
            return loop is null ? Environment.TickCount64 : loop.PassStartMs;
        }
    }
}
