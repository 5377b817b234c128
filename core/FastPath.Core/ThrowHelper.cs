// Out-of-line throws keep the hot methods small enough to inline (Kestrel's ThrowHelper pattern).
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace FastPath;

internal static class ThrowHelper
{
    [DoesNotReturn, StackTraceHidden]
    public static void ThrowArgumentOutOfRange() => throw new ArgumentOutOfRangeException("index");
}
