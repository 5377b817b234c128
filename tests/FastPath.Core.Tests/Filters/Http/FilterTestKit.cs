// Shared pieces for the HTTP filter tests: heads parsed from text by the real codec, a clock whose timers fire only
// when the test advances it, and a stream (HttpFilterManager) over a chain of factories.
using System.Buffers;
using System.Text;
using FastPath.Filters.Http;
using FastPath.Http;
using FastPath.Http1;

namespace FastPath.Core.Tests.Filters.Http;

internal static class FilterTestKit
{
    public static readonly byte[] ClientAddress = "192.0.2.10"u8.ToArray();

    public static HttpRequestHead Request(string text, HttpRequestHead? into = null)
    {
        HttpRequestHead head = into ?? new HttpRequestHead();
        head.Reset();
        var handler = new Http1RequestHandler(head);
        var state = new Http1HeadParseState();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)));
        if (Http1Parser.ParseHead(ref reader, ref handler, ref state, Http1Limits.Default, out _) != Http1ParseResult.Complete
            || handler.Complete() != RequestRejectionReason.None) throw new InvalidOperationException("request must parse");
        return head;
    }

    public static HttpResponseHead Response(string text, HttpResponseHead? into = null)
    {
        HttpResponseHead head = into ?? new HttpResponseHead();
        head.Reset();
        var handler = new Http1ResponseHandler(head);
        var state = new Http1HeadParseState();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(text)));
        if (Http1Parser.ParseHead(ref reader, ref handler, ref state, Http1Limits.Default, out _) != Http1ParseResult.Complete
            || handler.Complete(FastPath.Http.HttpMethod.Get) != RequestRejectionReason.None) throw new InvalidOperationException("response must parse");
        return head;
    }

    public const string Get = "GET /api/items HTTP/1.1\r\nHost: shop.example.com\r\nAccept: */*\r\n\r\n";
    public const string Ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: origin\r\n\r\n";

    public static HttpFilterManager Start(HttpFilterChain chain, HttpRequestHead request, HttpResponseHead? response = null)
    {
        var stream = new HttpFilterManager();
        stream.Begin(chain, request, response ?? new HttpResponseHead(), ClientAddress);
        return stream;
    }

    /// <summary>All values of a field, in order, as strings (skipped fields are not forwarded, so not listed).</summary>
    public static List<string> Values(HttpHeaderBlock block, string name)
    {
        var values = new List<string>();
        for (int i = 0; i < block.Count; i++)
        {
            ref HeaderEntry e = ref block[i];
            if (!e.Skip && Ascii.EqualsIgnoreCase(block.Name(e), Encoding.ASCII.GetBytes(name))) values.Add(Encoding.UTF8.GetString(block.Value(e)));
        }
        return values;
    }

    public static string? Value(HttpHeaderBlock block, string name) => Values(block, name) is [var v, ..] ? v : null;
}

/// <summary>A clock that moves only when told to; its timers fire, on the test's thread, when it passes their time.</summary>
internal sealed class ManualClock : TimeProvider
{
    private readonly List<ManualTimer> _timers = [];
    private long _now = 1_000_000;

    public override long GetTimestamp() => Volatile.Read(ref _now);

    public int TimersCreated { get; private set; }

    public void Advance(TimeSpan by)
    {
        Interlocked.Add(ref _now, (long)(by.TotalSeconds * TimestampFrequency));
        foreach (ManualTimer t in _timers.ToArray()) t.FireIfDue(_now);
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        _timers.Add(timer);
        TimersCreated++;
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        private long _due = long.MaxValue;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            _due = dueTime == Timeout.InfiniteTimeSpan ? long.MaxValue : clock.GetTimestamp() + (long)(dueTime.TotalSeconds * clock.TimestampFrequency);
            return true;
        }

        public void FireIfDue(long now)
        {
            if (now < _due) return;
            _due = long.MaxValue;
            callback(state);
        }

        public void Dispose() => clock._timers.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
