// One route's match (Envoy RouteMatch, Istio HTTPMatchRequest): the path (prefix, exact or full regex, optionally
// case-insensitive), methods, headers and query parameters; every part must hold. Evaluated on the request's bytes
// with no allocation: headers are compared in the header store, regexes run over a stack copy of the bytes.
using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using FastPath.Http;

namespace FastPath.Routing;

/// <summary>The parts of a request routes look at, cut once per request.</summary>
internal readonly ref struct RouteInput
{
    /// <summary>The path without its query.</summary>
    public readonly ReadOnlySpan<byte> Path;
    /// <summary>What follows '?', without it; empty when there is none.</summary>
    public readonly ReadOnlySpan<byte> Query;
    public readonly ReadOnlySpan<byte> Method;
    public readonly HttpHeaderBlock? Headers;

    public RouteInput(ReadOnlySpan<byte> target, ReadOnlySpan<byte> method, HttpHeaderBlock? headers)
    {
        int q = target.IndexOf((byte)'?');
        Path = q < 0 ? target : target[..q];
        Query = q < 0 ? default : target[(q + 1)..];
        Method = method;
        Headers = headers;
    }

    public static RouteInput From(HttpRequestHead request) => new(request.Path, request.MethodBytes, request.Headers);
}

internal enum PathMatchKind : byte
{
    Prefix,
    Exact,
    Regex,
}

internal enum ValueMatchKind : byte
{
    Exact,
    Prefix,
    Suffix,
    Regex,
    Present,
    Absent,
}

internal sealed class RouteMatch
{
    public RouteMatch(PathMatchKind kind, string path, bool caseSensitive)
    {
        PathKind = kind;
        CaseSensitive = caseSensitive;
        if (kind == PathMatchKind.Regex)
        {
            PathRegex = RouteRegex.Compile(path, caseSensitive, fullMatch: true);
            if (caseSensitive && RouteRegex.LiteralPrefix(path) is { } literal) IndexKey = Encoding.UTF8.GetBytes(literal);
        }
        else
        {
            PathBytes = Encoding.UTF8.GetBytes(path);
            if (caseSensitive) IndexKey = PathBytes;
        }
    }

    public PathMatchKind PathKind { get; }
    /// <summary>The literal prefix or exact path (null for a regex).</summary>
    public byte[]? PathBytes { get; }
    public Regex? PathRegex { get; }
    public bool CaseSensitive { get; }
    /// <summary>Empty: any method. Methods are case-sensitive (RFC 9110 section 9.1).</summary>
    public byte[][] Methods { get; init; } = [];
    public HeaderMatcher[] Headers { get; init; } = [];
    public QueryParamMatcher[] QueryParams { get; init; } = [];

    /// <summary>
    /// The literal every matching path starts with (or, for an exact path, equals), for the trie: a case-sensitive
    /// prefix or path, or the literal head of a regex ("/users/" of "/users/[0-9]+"). Null: not indexable.
    /// </summary>
    public byte[]? IndexKey { get; }

    public bool Matches(in RouteInput input) =>
        MatchesPath(input.Path) && MatchesMethod(input.Method) && MatchesHeaders(input.Headers) && MatchesQuery(input.Query);

    public bool MatchesPath(ReadOnlySpan<byte> path)
    {
        switch (PathKind)
        {
            case PathMatchKind.Prefix:
                ReadOnlySpan<byte> prefix = PathBytes;
                if (path.Length < prefix.Length) return false;
                return CaseSensitive ? path.StartsWith(prefix) : Ascii.EqualsIgnoreCase(path[..prefix.Length], prefix);
            case PathMatchKind.Exact:
                return CaseSensitive ? path.SequenceEqual(PathBytes) : Ascii.EqualsIgnoreCase(path, PathBytes);
            default:
                return RouteRegex.IsMatch(PathRegex!, path);
        }
    }

    private bool MatchesMethod(ReadOnlySpan<byte> method)
    {
        byte[][] methods = Methods;
        if (methods.Length == 0) return true;
        foreach (byte[] m in methods)
            if (method.SequenceEqual(m)) return true;
        return false;
    }

    private bool MatchesHeaders(HttpHeaderBlock? headers)
    {
        foreach (HeaderMatcher h in Headers)
            if (!h.Matches(headers)) return false;
        return true;
    }

    private bool MatchesQuery(ReadOnlySpan<byte> query)
    {
        foreach (QueryParamMatcher q in QueryParams)
            if (!q.Matches(query)) return false;
        return true;
    }
}

/// <summary>A test on one value (header or query parameter); absent values only satisfy Absent.</summary>
internal abstract class ValueMatcher
{
    protected ValueMatcher(ValueMatchKind kind, string? value)
    {
        Kind = kind;
        if (kind == ValueMatchKind.Regex) Regex = RouteRegex.Compile(value ?? "", caseSensitive: true, fullMatch: true);
        else Value = Encoding.UTF8.GetBytes(value ?? "");
    }

    public ValueMatchKind Kind { get; }
    public byte[] Value { get; } = [];
    public Regex? Regex { get; }

    protected bool MatchesValue(ReadOnlySpan<byte> v) => Kind switch
    {
        ValueMatchKind.Exact => v.SequenceEqual(Value),
        ValueMatchKind.Prefix => v.StartsWith(Value),
        ValueMatchKind.Suffix => v.EndsWith(Value),
        ValueMatchKind.Regex => RouteRegex.IsMatch(Regex!, v),
        ValueMatchKind.Present => true,
        _ => false,
    };
}

/// <summary>A request header test. Several fields of one name: the test holds if any of them passes. Invert negates
/// the result, so an inverted exact match also holds when the header is missing (Envoy's invert_match).</summary>
internal sealed class HeaderMatcher(string name, ValueMatchKind kind, string? value, bool invert) : ValueMatcher(kind, value)
{
    public byte[] Name { get; } = Encoding.ASCII.GetBytes(name.ToLowerInvariant());
    public bool Invert { get; } = invert;

    public bool Matches(HttpHeaderBlock? headers) => Evaluate(headers) != Invert;

    private bool Evaluate(HttpHeaderBlock? headers)
    {
        bool found = false;
        ReadOnlySpan<byte> name = Name;
        int count = headers?.Count ?? 0;
        for (int i = 0; i < count; i++)
        {
            ref HeaderEntry e = ref headers![i];
            if (e.NameLength != name.Length || !Ascii.EqualsIgnoreCase(headers.Name(e), name)) continue;
            found = true;
            if (Kind == ValueMatchKind.Absent) return false;
            if (MatchesValue(headers.Value(e))) return true;
        }
        return !found && Kind == ValueMatchKind.Absent;
    }
}

/// <summary>A query parameter test on the raw (not percent-decoded) value of the parameter's first occurrence.
/// Names are case-sensitive; "a" and "a=" both give "a" an empty value.</summary>
internal sealed class QueryParamMatcher(string name, ValueMatchKind kind, string? value) : ValueMatcher(kind, value)
{
    public byte[] Name { get; } = Encoding.UTF8.GetBytes(name);

    public bool Matches(ReadOnlySpan<byte> query)
    {
        ReadOnlySpan<byte> name = Name;
        while (!query.IsEmpty)
        {
            int end = query.IndexOf((byte)'&');
            ReadOnlySpan<byte> item = end < 0 ? query : query[..end];
            query = end < 0 ? default : query[(end + 1)..];
            int eq = item.IndexOf((byte)'=');
            ReadOnlySpan<byte> key = eq < 0 ? item : item[..eq];
            if (key.SequenceEqual(name)) return MatchesValue(eq < 0 ? default : item[(eq + 1)..]);
        }
        return false;
    }
}

/// <summary>
/// Regexes on request bytes. NonBacktracking runs in time linear in the input whatever the pattern (no ReDoS from a
/// crafted path); bytes are widened one-to-one (Latin-1) into a stack buffer, so a match allocates nothing.
/// </summary>
internal static class RouteRegex
{
    private const int StackChars = 512;

    public static Regex Compile(string pattern, bool caseSensitive, bool fullMatch)
    {
        RegexOptions options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;
        if (!caseSensitive) options |= RegexOptions.IgnoreCase;
        return new Regex(fullMatch ? $@"\A(?:{pattern})\z" : pattern, options);
    }

    /// <summary>
    /// The literal text every full match of <paramref name="pattern"/> starts with; null when there is none or it
    /// cannot be told simply (any alternation, an escape or class first). A quantified last literal is dropped.
    /// </summary>
    public static string? LiteralPrefix(string pattern)
    {
        if (pattern.Contains('|')) return null;
        int start = pattern.StartsWith('^') ? 1 : 0;
        int end = start;
        while (end < pattern.Length && ".[](){}*+?^$\\#".IndexOf(pattern[end]) < 0 && !char.IsWhiteSpace(pattern[end])) end++;
        if (end < pattern.Length && pattern[end] is '*' or '?' or '{') end--;
        return end > start ? pattern[start..end] : null;
    }

    public static bool IsMatch(Regex regex, ReadOnlySpan<byte> bytes)
    {
        char[]? rented = null;
        Span<char> chars = bytes.Length <= StackChars
            ? stackalloc char[StackChars]
            : (rented = ArrayPool<char>.Shared.Rent(bytes.Length));
        int n = Encoding.Latin1.GetChars(bytes, chars);
        bool matched = regex.IsMatch(chars[..n]);
        if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        return matched;
    }
}
