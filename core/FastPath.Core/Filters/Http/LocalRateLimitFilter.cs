// Local rate limit (Envoy local_ratelimit): a token bucket per scope (virtual host or route) shared by every
// connection and thread. Refill is lazy, computed from a monotonic clock when a request looks, and the bucket is one
// 64-bit word updated with compare-and-swap: no lock and no timer. Refused requests get 429 (flag RL) with
// x-ratelimit-limit/-remaining/-reset; allowed ones get them too when enable_x_ratelimit_headers is DRAFT_VERSION_03.
using FastPath.Upstream;

namespace FastPath.Filters.Http;

internal sealed class TokenBucket
{
    private const int TokenBits = 24;
    private const long TokenMask = (1L << TokenBits) - 1;

    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly long _interval;
    // Fills counted since _start (high 40 bits) and tokens left (low 24 bits), so both change in one CAS.
    private long _state;

    public TokenBucket(int maxTokens, int tokensPerFill, TimeSpan fillInterval, TimeProvider time)
    {
        if (maxTokens is < 1 or > (int)TokenMask) throw new ArgumentOutOfRangeException(nameof(maxTokens));
        MaxTokens = maxTokens;
        TokensPerFill = Math.Clamp(tokensPerFill, 1, maxTokens);
        FillInterval = fillInterval;
        _time = time;
        _start = time.GetTimestamp();
        _interval = Math.Max(1, (long)(fillInterval.TotalSeconds * time.TimestampFrequency));
        _state = maxTokens; // starts full, as Envoy's does
    }

    public int MaxTokens { get; }
    public int TokensPerFill { get; }
    public TimeSpan FillInterval { get; }

    /// <summary>Takes one token if there is one. <paramref name="remaining"/> is what is left after this request;
    /// <paramref name="resetSeconds"/> is the time to the next fill, rounded up.</summary>
    public bool TryConsume(out int remaining, out long resetSeconds)
    {
        long now = _time.GetTimestamp();
        long elapsed = Math.Max(0, now - _start);
        long fills = elapsed / _interval;
        long untilNext = _interval - elapsed % _interval;
        resetSeconds = (untilNext + _time.TimestampFrequency - 1) / _time.TimestampFrequency;
        while (true)
        {
            long state = Volatile.Read(ref _state);
            long lastFills = state >>> TokenBits;
            long tokens = state & TokenMask;
            if (fills > lastFills)
            {
                long intervals = fills - lastFills;
                tokens = intervals >= MaxTokens ? MaxTokens : Math.Min(MaxTokens, tokens + intervals * TokensPerFill);
                lastFills = fills;
            }
            if (tokens == 0)
            {
                remaining = 0;
                return false;
            }
            long next = (lastFills << TokenBits) | (tokens - 1);
            if (Interlocked.CompareExchange(ref _state, next, state) == state)
            {
                remaining = (int)(tokens - 1);
                return true;
            }
        }
    }
}

internal sealed class LocalRateLimitFilterFactory(TokenBucket bucket, bool responseHeaders) : PooledHttpFilterFactory<LocalRateLimitFilter>
{
    public TokenBucket Bucket { get; } = bucket;
    public bool ResponseHeaders { get; } = responseHeaders;

    protected override LocalRateLimitFilter Create() => new(this);
}

internal sealed class LocalRateLimitFilter(LocalRateLimitFilterFactory factory) : HttpFilter
{
    private static ReadOnlySpan<byte> LimitName => "x-ratelimit-limit"u8;
    private static ReadOnlySpan<byte> RemainingName => "x-ratelimit-remaining"u8;
    private static ReadOnlySpan<byte> ResetName => "x-ratelimit-reset"u8;

    private int _remaining;
    private long _reset;

    public override FilterHeadersStatus OnRequestHeaders(HttpFilterManager stream)
    {
        if (factory.Bucket.TryConsume(out _remaining, out _reset)) return FilterHeadersStatus.Continue;
        stream.AddLocalReplyHeader(LimitName, factory.Bucket.MaxTokens);
        stream.AddLocalReplyHeader(RemainingName, 0);
        stream.AddLocalReplyHeader(ResetName, _reset);
        stream.SendLocalReply(429, ProxyError.RateLimited, ProxyErrors.Body(ProxyError.RateLimited));
        return FilterHeadersStatus.StopIteration;
    }

    public override FilterHeadersStatus OnResponseHeaders(HttpFilterManager stream)
    {
        if (!factory.ResponseHeaders) return FilterHeadersStatus.Continue;
        Span<byte> digits = stackalloc byte[20];
        stream.Response.Headers.Set(LimitName, Format(factory.Bucket.MaxTokens, digits));
        stream.Response.Headers.Set(RemainingName, Format(_remaining, digits));
        stream.Response.Headers.Set(ResetName, Format(_reset, digits));
        return FilterHeadersStatus.Continue;
    }

    private static ReadOnlySpan<byte> Format(long value, Span<byte> digits)
    {
        System.Buffers.Text.Utf8Formatter.TryFormat(value, digits, out int n);
        return digits[..n];
    }

    public override void Reset()
    {
        _remaining = 0;
        _reset = 0;
    }

    public override void Release() => factory.Return(this);
}
