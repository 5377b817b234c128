// Fault injection (Istio HTTPFaultInjection, Envoy's fault filter): a share of requests waits a fixed delay (flag DI)
// and a share is answered with a configured status (ProxyError.FaultAbort, flag FI); when both hit, the delay comes
// first. The delay is a timer, never a blocked thread: the filter stops iteration and the timer resumes the stream.
using FastPath.LoadBalancing;
using FastPath.Upstream;

namespace FastPath.Filters.Http;

internal sealed class FaultFilterFactory : PooledHttpFilterFactory<FaultFilter>
{
    /// <summary>Percentages are drawn in parts per million, so fractions such as 0.1% keep their precision.</summary>
    public const uint Million = 1_000_000;

    public FaultFilterFactory(TimeSpan delay, double delayPercentage, int abortStatus, double abortPercentage, TimeProvider time, IRandomSource random)
    {
        Delay = delay;
        DelayPpm = delay > TimeSpan.Zero ? ToPpm(delayPercentage) : 0;
        AbortStatus = abortStatus;
        AbortPpm = abortStatus > 0 ? ToPpm(abortPercentage) : 0;
        Time = time;
        Random = random;
    }

    public TimeSpan Delay { get; }
    public uint DelayPpm { get; }
    public int AbortStatus { get; }
    public uint AbortPpm { get; }
    public TimeProvider Time { get; }
    public IRandomSource Random { get; }

    public bool Draw(uint ppm) => ppm >= Million || (ppm > 0 && XorShift.Below(Random.NextUInt64(), Million) < ppm);

    private static uint ToPpm(double percentage) => (uint)Math.Round(Math.Clamp(percentage, 0, 100) * 10_000);

    protected override FaultFilter Create() => new(this);
}

internal sealed class FaultFilter(FaultFilterFactory factory) : HttpFilter
{
    private static readonly TimerCallback OnTimer = static state => ((FaultFilter)state!).DelayElapsed();

    // One timer per pooled instance, re-armed per delayed request, so a delay allocates nothing once warm.
    private ITimer? _timer;
    private HttpFilterManager? _stream;
    private bool _abortAfterDelay;

    public override FilterHeadersStatus OnRequestHeaders(HttpFilterManager stream)
    {
        bool abort = factory.Draw(factory.AbortPpm);
        if (factory.Draw(factory.DelayPpm))
        {
            stream.ExtraFlags |= ResponseFlags.DI;
            _stream = stream;
            _abortAfterDelay = abort;
            _timer ??= factory.Time.CreateTimer(OnTimer, this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _timer.Change(factory.Delay, Timeout.InfiniteTimeSpan);
            return FilterHeadersStatus.StopIteration;
        }
        if (abort) Abort(stream);
        return abort ? FilterHeadersStatus.StopIteration : FilterHeadersStatus.Continue;
    }

    private void DelayElapsed()
    {
        HttpFilterManager? stream = _stream;
        if (stream is null) return;
        _stream = null;
        if (_abortAfterDelay) Abort(stream);
        else stream.ContinueDecoding();
    }

    private void Abort(HttpFilterManager stream) =>
        stream.SendLocalReply(factory.AbortStatus, ProxyError.FaultAbort, ProxyErrors.Body(ProxyError.FaultAbort));

    public override void Reset()
    {
        _stream = null;
        _abortAfterDelay = false;
    }

    public override void Release() => factory.Return(this);
}
