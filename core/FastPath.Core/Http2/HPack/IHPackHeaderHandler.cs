// Receives decoded header fields; implemented by structs so the decoder's call per field is devirtualised.
namespace FastPath.Http2.HPack;

internal interface IHPackHeaderHandler
{
    /// <summary>
    /// One decoded field. The spans are valid only during the call (they point into the input, the decoder's
    /// scratch buffers or its tables). <paramref name="neverIndexed"/> is the §6.2.3 flag an intermediary must
    /// keep when it forwards the field (§7.1.3).
    /// </summary>
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed);
}
