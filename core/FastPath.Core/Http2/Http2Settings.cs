// The six SETTINGS parameters of RFC 9113 §6.5.2 with their initial values, the validation a received value must
// pass, and applying a SETTINGS frame's payload. Unknown identifiers are ignored (§6.5.2).
using System.Buffers;
using System.Buffers.Binary;

namespace FastPath.Http2;

internal enum Http2SettingsParameter : ushort
{
    SETTINGS_HEADER_TABLE_SIZE = 0x1,
    SETTINGS_ENABLE_PUSH = 0x2,
    SETTINGS_MAX_CONCURRENT_STREAMS = 0x3,
    SETTINGS_INITIAL_WINDOW_SIZE = 0x4,
    SETTINGS_MAX_FRAME_SIZE = 0x5,
    SETTINGS_MAX_HEADER_LIST_SIZE = 0x6,
}

/// <summary>One identifier/value pair of a SETTINGS frame (§6.5.1), 6 octets on the wire.</summary>
internal readonly record struct Http2Setting(Http2SettingsParameter Parameter, uint Value);

/// <summary>One endpoint's settings; starts at the §6.5.2 initial values.</summary>
internal struct Http2Settings
{
    public const uint DefaultHeaderTableSize = 4096;
    public const uint DefaultInitialWindowSize = 65_535;
    public const uint MinMaxFrameSize = 16_384;          // 2^14, also the initial value
    public const uint MaxMaxFrameSize = 16_777_215;      // 2^24 - 1
    public const uint MaxWindowSize = int.MaxValue;      // 2^31 - 1
    public const int EntryLength = 6;

    public uint HeaderTableSize;
    public bool EnablePush;
    /// <summary>Initially unlimited (§6.5.2); uint.MaxValue stands for "no limit".</summary>
    public uint MaxConcurrentStreams;
    public uint InitialWindowSize;
    public uint MaxFrameSize;
    /// <summary>Initially unlimited (§6.5.2); uint.MaxValue stands for "no limit".</summary>
    public uint MaxHeaderListSize;

    public static Http2Settings Default => new()
    {
        HeaderTableSize = DefaultHeaderTableSize,
        EnablePush = true,
        MaxConcurrentStreams = uint.MaxValue,
        InitialWindowSize = DefaultInitialWindowSize,
        MaxFrameSize = MinMaxFrameSize,
        MaxHeaderListSize = uint.MaxValue,
    };

    /// <summary>NO_ERROR when a peer may send <paramref name="value"/> for <paramref name="parameter"/> (§6.5.2).</summary>
    public static Http2ErrorCode Validate(Http2SettingsParameter parameter, uint value) => parameter switch
    {
        Http2SettingsParameter.SETTINGS_ENABLE_PUSH when value > 1 => Http2ErrorCode.PROTOCOL_ERROR,
        Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE when value > MaxWindowSize => Http2ErrorCode.FLOW_CONTROL_ERROR,
        Http2SettingsParameter.SETTINGS_MAX_FRAME_SIZE when value is < MinMaxFrameSize or > MaxMaxFrameSize => Http2ErrorCode.PROTOCOL_ERROR,
        _ => Http2ErrorCode.NO_ERROR,
    };

    /// <summary>Sets one parameter after <see cref="Validate"/>; unknown identifiers are ignored (§6.5.2).</summary>
    public Http2ErrorCode Apply(Http2SettingsParameter parameter, uint value)
    {
        Http2ErrorCode error = Validate(parameter, value);
        if (error != Http2ErrorCode.NO_ERROR) return error;
        switch (parameter)
        {
            case Http2SettingsParameter.SETTINGS_HEADER_TABLE_SIZE: HeaderTableSize = value; break;
            case Http2SettingsParameter.SETTINGS_ENABLE_PUSH: EnablePush = value == 1; break;
            case Http2SettingsParameter.SETTINGS_MAX_CONCURRENT_STREAMS: MaxConcurrentStreams = value; break;
            case Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE: InitialWindowSize = value; break;
            case Http2SettingsParameter.SETTINGS_MAX_FRAME_SIZE: MaxFrameSize = value; break;
            case Http2SettingsParameter.SETTINGS_MAX_HEADER_LIST_SIZE: MaxHeaderListSize = value; break;
        }
        return Http2ErrorCode.NO_ERROR;
    }

    /// <summary>
    /// Applies a SETTINGS payload (a multiple of 6 octets) in order, as §6.5.3 requires. All or nothing: on the first
    /// invalid value nothing changes and its error code is returned (a connection error, §6.5.2).
    /// </summary>
    public Http2ErrorCode Apply(in ReadOnlySequence<byte> payload)
    {
        Http2Settings next = this;
        var reader = new SequenceReader<byte>(payload);
        Span<byte> entry = stackalloc byte[EntryLength];
        while (reader.Remaining >= EntryLength)
        {
            if (!reader.TryCopyTo(entry)) break;
            reader.Advance(EntryLength);
            var parameter = (Http2SettingsParameter)BinaryPrimitives.ReadUInt16BigEndian(entry);
            Http2ErrorCode error = next.Apply(parameter, BinaryPrimitives.ReadUInt32BigEndian(entry.Slice(2)));
            if (error != Http2ErrorCode.NO_ERROR) return error;
        }
        this = next;
        return Http2ErrorCode.NO_ERROR;
    }
}
