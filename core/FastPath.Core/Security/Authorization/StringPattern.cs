// Istio's string match for AuthorizationPolicy values: "*" (present), "prefix*", "*suffix" or an exact value,
// precompiled to UTF-16 and UTF-8 so a request's strings and its raw header bytes are compared without copying.
using System.Text;

namespace FastPath.Security.Authorization;

internal enum PatternKind : byte
{
    Exact,
    Prefix,
    Suffix,
    /// <summary>"*": the attribute is present (a header may be present and empty).</summary>
    Present,
}

internal readonly struct StringPattern
{
    private readonly string _text;
    private readonly byte[] _utf8;

    private StringPattern(PatternKind kind, string text, bool ignoreCase)
    {
        Kind = kind;
        IgnoreCase = ignoreCase;
        _text = ignoreCase ? text.ToLowerInvariant() : text;
        _utf8 = Encoding.UTF8.GetBytes(_text);
    }

    public PatternKind Kind { get; }
    public bool IgnoreCase { get; }

    /// <summary>A '*' only at the start or the end (Istio's wildcard forms); validation rejects others.</summary>
    public static StringPattern Parse(string value, bool ignoreCase = false)
    {
        if (value == "*") return new StringPattern(PatternKind.Present, "", ignoreCase);
        if (value.StartsWith('*')) return new StringPattern(PatternKind.Suffix, value[1..], ignoreCase);
        if (value.EndsWith('*')) return new StringPattern(PatternKind.Prefix, value[..^1], ignoreCase);
        return new StringPattern(PatternKind.Exact, value, ignoreCase);
    }

    /// <summary>A value compared exactly, whatever characters it holds.</summary>
    public static StringPattern Exact(string value) => new(PatternKind.Exact, value, ignoreCase: false);

    /// <summary>Whether a pattern is one Istio accepts: at most one '*', at the start or the end.</summary>
    public static bool IsValid(string value)
    {
        int star = value.IndexOf('*');
        if (star < 0 || value == "*") return value.Length > 0;
        return value.IndexOf('*', star + 1) < 0 && (star == 0 || star == value.Length - 1);
    }

    public bool Matches(ReadOnlySpan<char> s) => Kind switch
    {
        PatternKind.Present => true,
        PatternKind.Exact => IgnoreCase ? s.Equals(_text, StringComparison.OrdinalIgnoreCase) : s.SequenceEqual(_text),
        PatternKind.Prefix => IgnoreCase ? s.StartsWith(_text, StringComparison.OrdinalIgnoreCase) : s.StartsWith(_text),
        _ => IgnoreCase ? s.EndsWith(_text, StringComparison.OrdinalIgnoreCase) : s.EndsWith(_text),
    };

    public bool Matches(ReadOnlySpan<byte> s)
    {
        ReadOnlySpan<byte> p = _utf8;
        switch (Kind)
        {
            case PatternKind.Present:
                return true;
            case PatternKind.Exact:
                return IgnoreCase ? s.Length == p.Length && Ascii.EqualsIgnoreCase(s, p) : s.SequenceEqual(p);
            case PatternKind.Prefix:
                return s.Length >= p.Length && (IgnoreCase ? Ascii.EqualsIgnoreCase(s[..p.Length], p) : s.StartsWith(p));
            default:
                return s.Length >= p.Length && (IgnoreCase ? Ascii.EqualsIgnoreCase(s[^p.Length..], p) : s.EndsWith(p));
        }
    }

    public override string ToString() => Kind switch
    {
        PatternKind.Present => "*",
        PatternKind.Prefix => _text + "*",
        PatternKind.Suffix => "*" + _text,
        _ => _text,
    };
}
