// Flow-control windows (RFC 9113 §6.9): what this endpoint may still send, and what the peer may still send it,
// with the WINDOW_UPDATE increments owed as the application consumes. Plain structs: the connection's lock guards them.
namespace FastPath.Http2.FlowControl;

/// <summary>Outbound: the peer's window for one stream or the connection (§6.9.1).</summary>
internal struct Http2SendWindow
{
    // A long: a SETTINGS_INITIAL_WINDOW_SIZE reduction can make a stream's window negative (§6.9.2).
    private long _available;

    public Http2SendWindow(uint initial) => _available = initial;

    public readonly long Available => _available;

    /// <summary>False, changing nothing, when the window would pass 2^31-1: a FLOW_CONTROL_ERROR (§6.9.1).</summary>
    public bool TryIncrease(long delta)
    {
        long next = _available + delta;
        if (next > Http2Settings.MaxWindowSize) return false;
        _available = next;
        return true;
    }

    public void Consume(int length) => _available -= length;
}

/// <summary>Inbound: how much the peer may still send, and consumed octets not yet returned by WINDOW_UPDATE.</summary>
internal struct Http2ReceiveWindow
{
    private long _available;
    private int _unacknowledged;
    private int _size;

    public Http2ReceiveWindow(int size)
    {
        _size = size;
        _available = size;
        _unacknowledged = 0;
    }

    public readonly long Available => _available;

    /// <summary>False when the peer sent more than the window allows: a FLOW_CONTROL_ERROR (§6.9.1).</summary>
    public bool TryReceive(int length)
    {
        if (length > _available) return false;
        _available -= length;
        return true;
    }

    /// <summary>
    /// The increment to send in a WINDOW_UPDATE now, or 0. Updates go out once half the window has been consumed:
    /// a fast reader always has half a window in flight, and a slow one never lets the peer buffer more than one
    /// window with us (the buffer is bounded by what we advertised, not by what the peer wants to send).
    /// </summary>
    public int OnConsumed(int length)
    {
        _unacknowledged += length;
        if (_unacknowledged < _size / 2) return 0;
        int increment = _unacknowledged;
        _unacknowledged = 0;
        _available += increment;
        return increment;
    }
}
