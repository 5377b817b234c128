// xxHash64 (Collet's spec, github.com/Cyan4973/xxHash/doc/xxhash_spec.md): the hash Envoy uses for ring_hash and
// Maglev, so ring positions match its documentation. Implemented here because System.IO.Hashing is not referenced
// by the core; only config-time builds hash strings, a request's key arrives already hashed.
using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace FastPath.LoadBalancing;

internal static class XxHash64
{
    private const ulong Prime1 = 0x9E3779B185EBCA87UL;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;
    private const ulong Prime3 = 0x165667B19E3779F9UL;
    private const ulong Prime4 = 0x85EBCA77C2B2AE63UL;
    private const ulong Prime5 = 0x27D4EB2F165667C5UL;

    public static ulong Hash(string text, ulong seed = 0) => Hash(Encoding.UTF8.GetBytes(text), seed);

    public static ulong Hash(ReadOnlySpan<byte> data, ulong seed = 0)
    {
        int i = 0;
        ulong h;
        if (data.Length >= 32)
        {
            ulong v1 = seed + Prime1 + Prime2, v2 = seed + Prime2, v3 = seed, v4 = seed - Prime1;
            for (; i <= data.Length - 32; i += 32)
            {
                v1 = Round(v1, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
                v2 = Round(v2, BinaryPrimitives.ReadUInt64LittleEndian(data[(i + 8)..]));
                v3 = Round(v3, BinaryPrimitives.ReadUInt64LittleEndian(data[(i + 16)..]));
                v4 = Round(v4, BinaryPrimitives.ReadUInt64LittleEndian(data[(i + 24)..]));
            }
            h = BitOperations.RotateLeft(v1, 1) + BitOperations.RotateLeft(v2, 7) + BitOperations.RotateLeft(v3, 12) + BitOperations.RotateLeft(v4, 18);
            h = Merge(h, v1);
            h = Merge(h, v2);
            h = Merge(h, v3);
            h = Merge(h, v4);
        }
        else
        {
            h = seed + Prime5;
        }
        h += (ulong)data.Length;

        for (; i <= data.Length - 8; i += 8)
        {
            h ^= Round(0, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
            h = BitOperations.RotateLeft(h, 27) * Prime1 + Prime4;
        }
        if (i <= data.Length - 4)
        {
            h ^= BinaryPrimitives.ReadUInt32LittleEndian(data[i..]) * Prime1;
            h = BitOperations.RotateLeft(h, 23) * Prime2 + Prime3;
            i += 4;
        }
        for (; i < data.Length; i++)
        {
            h ^= data[i] * Prime5;
            h = BitOperations.RotateLeft(h, 11) * Prime1;
        }

        h ^= h >> 33;
        h *= Prime2;
        h ^= h >> 29;
        h *= Prime3;
        h ^= h >> 32;
        return h;
    }

    private static ulong Round(ulong acc, ulong lane)
    {
        acc += lane * Prime2;
        acc = BitOperations.RotateLeft(acc, 31);
        return acc * Prime1;
    }

    private static ulong Merge(ulong h, ulong v)
    {
        h ^= Round(0, v);
        return h * Prime1 + Prime4;
    }
}
