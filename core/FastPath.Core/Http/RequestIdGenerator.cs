// x-request-id values: random version-4 UUIDs from a fast PRNG. Guid.NewGuid asks the kernel for entropy (a
// getrandom syscall per request, visible in profiles); request ids need uniqueness, not secrecy (Envoy also uses
// a PRNG for them).
namespace FastPath.Http;

internal static class RequestIdGenerator
{
    public const int Length = 36;

    /// <summary>Writes a lowercase 8-4-4-4-12 UUID (version 4, RFC 9562 variant) into 36 bytes.</summary>
    public static void Write(Span<byte> destination)
    {
        Span<byte> random = stackalloc byte[16];
        Random.Shared.NextBytes(random);
        random[6] = (byte)((random[6] & 0x0F) | 0x40);
        random[8] = (byte)((random[8] & 0x3F) | 0x80);
        ReadOnlySpan<byte> hex = "0123456789abcdef"u8;
        int at = 0;
        for (int i = 0; i < 16; i++)
        {
            if (i is 4 or 6 or 8 or 10) destination[at++] = (byte)'-';
            destination[at++] = hex[random[i] >> 4];
            destination[at++] = hex[random[i] & 0xF];
        }
    }
}
