// The heartbeat's own contract: its handlers tick about every Interval on its thread, Dispose stops them, and a
// heartbeat dropped without Dispose stops too (its thread holds it weakly), so no test leaves a ticking thread.
using System.Runtime.CompilerServices;
using FastPath.Transport;

namespace FastPath.Core.Tests.Transport;

public class HeartbeatTests
{
    private sealed class Counter
    {
        public int Ticks;
        public long LastNow;
        public string? ThreadName;
    }

    private static async Task<bool> EventuallyAsync(Func<bool> condition, int timeoutMs = 5000)
    {
        for (int waited = 0; waited < timeoutMs; waited += 20)
        {
            if (condition()) return true;
            await Task.Delay(20);
        }
        return condition();
    }

    private static void Register(Heartbeat heartbeat, Counter counter) => heartbeat.OnTick(now =>
    {
        counter.LastNow = now;
        counter.ThreadName = Thread.CurrentThread.Name;
        Interlocked.Increment(ref counter.Ticks);
    });

    [Fact]
    public async Task Handlers_TickOnTheHeartbeatThread_WithTheCurrentTickCount()
    {
        using var heartbeat = new Heartbeat();
        var counter = new Counter();
        Register(heartbeat, counter);
        long before = Environment.TickCount64;
        Assert.True(await EventuallyAsync(() => Volatile.Read(ref counter.Ticks) >= 3), "three ticks within 5 s");
        Assert.Equal("FastPath heartbeat", counter.ThreadName);
        Assert.InRange(counter.LastNow, before, Environment.TickCount64);
    }

    [Fact]
    public async Task Dispose_StopsTheTicks()
    {
        var heartbeat = new Heartbeat();
        var counter = new Counter();
        Register(heartbeat, counter);
        Assert.True(await EventuallyAsync(() => Volatile.Read(ref counter.Ticks) >= 1));
        heartbeat.Dispose();
        await Task.Delay(Heartbeat.Interval * 2); // a tick already past its wait may still run
        int after = Volatile.Read(ref counter.Ticks);
        await Task.Delay(Heartbeat.Interval * 5);
        Assert.Equal(after, Volatile.Read(ref counter.Ticks));
    }

    [Fact]
    public async Task AHeartbeatDroppedWithoutDispose_StopsTicking()
    {
        var counter = new Counter();
        // Held until it has ticked: a GC run by a test alongside could otherwise collect it before its first tick.
        var holder = new Heartbeat?[1];
        WeakReference<Heartbeat> weak = Start(counter, holder);
        Assert.True(await EventuallyAsync(() => Volatile.Read(ref counter.Ticks) >= 1));
        holder[0] = null; // dropped without Dispose
        Assert.True(await EventuallyAsync(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return !weak.TryGetTarget(out _);
        }), "the heartbeat's own thread keeps it alive");
        await Task.Delay(Heartbeat.Interval * 2);
        int after = Volatile.Read(ref counter.Ticks);
        await Task.Delay(Heartbeat.Interval * 5);
        Assert.Equal(after, Volatile.Read(ref counter.Ticks));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference<Heartbeat> Start(Counter counter, Heartbeat?[] holder)
    {
        var heartbeat = new Heartbeat();
        Register(heartbeat, counter);
        holder[0] = heartbeat;
        return new WeakReference<Heartbeat>(heartbeat);
    }

    [Fact]
    public async Task AFailingHandler_DoesNotStopTheOthers()
    {
        using var heartbeat = new Heartbeat();
        heartbeat.OnTick(_ => throw new InvalidOperationException("boom"));
        var counter = new Counter();
        Register(heartbeat, counter);
        Assert.True(await EventuallyAsync(() => Volatile.Read(ref counter.Ticks) >= 3));
    }
}
