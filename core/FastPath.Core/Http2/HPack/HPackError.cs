// Outcome of decoding a header block: every case except the two list-size ones is a COMPRESSION_ERROR (RFC 9113 §4.3).
namespace FastPath.Http2.HPack;

internal enum HPackError : byte
{
    None = 0,
    /// <summary>Index 0, or an index beyond the static plus dynamic table (RFC 7541 §2.3.3, §6.1).</summary>
    InvalidIndex,
    /// <summary>An integer does not fit in 31 bits or uses more continuation octets than one could need (§5.1).</summary>
    IntegerOverflow,
    /// <summary>A string literal, on the wire or decoded, is longer than the decoder's limit.</summary>
    StringTooLong,
    /// <summary>A Huffman string contains the EOS symbol (§5.2).</summary>
    HuffmanEndOfString,
    /// <summary>Huffman padding longer than 7 bits or not the most significant bits of EOS (§5.2).</summary>
    HuffmanInvalidPadding,
    /// <summary>A dynamic table size update above the SETTINGS_HEADER_TABLE_SIZE the decoder allowed (§6.3).</summary>
    TableSizeUpdateTooLarge,
    /// <summary>A dynamic table size update after the first header field of a block (§4.2).</summary>
    TableSizeUpdateNotAtBlockStart,
    /// <summary>END_HEADERS arrived in the middle of a field representation.</summary>
    IncompleteHeaderBlock,
    /// <summary>The decoded list exceeds SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2): name + value + 32 per field.
    /// Returned at the end of the block, which was decoded whole (the table is in step): a stream error, such as 431.</summary>
    HeaderListTooLarge,
    /// <summary>The decoded list exceeds the hard bound (HardLimitFactor times the limit, an HPACK bomb): decoding
    /// stopped mid-block, so the connection must end.</summary>
    HeaderListOverHardLimit,
}

internal static class HPackErrorExtensions
{
    /// <summary>Whether the error desynchronises the connection's compression context (RFC 9113 §4.3).</summary>
    public static bool IsCompressionError(this HPackError error) =>
        error is not (HPackError.None or HPackError.HeaderListTooLarge or HPackError.HeaderListOverHardLimit);
}
