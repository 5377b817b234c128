// The path normaliser's case table (STYLE.md: valid, needs normalising, invalid), shared by the span tests and the
// request-head tests that run each case through the HTTP/1 parser whole, split at every index and byte by byte.
using FastPath.Http.Normalization;

namespace FastPath.Core.Tests.Http.Normalization;

/// <summary>One input path (with any query) under one mode; Expected null means refused (400).</summary>
public sealed record PathCase(string Name, PathNormalization Mode, string Input, string? Expected);

internal static class PathNormalizationCases
{
    private const PathNormalization None = PathNormalization.None;
    private const PathNormalization Base = PathNormalization.Base;
    private const PathNormalization Merge = PathNormalization.MergeSlashes;
    private const PathNormalization Decode = PathNormalization.DecodeAndMergeSlashes;

    /// <summary>Already normal: returned unchanged, byte for byte.</summary>
    public static readonly PathCase[] Valid =
    [
        new("root", Base, "/", "/"),
        new("plain", Base, "/api/v1/users", "/api/v1/users"),
        new("trailing slash kept", Base, "/api/", "/api/"),
        new("dots inside names", Base, "/a.b/c..d/.e/f.", "/a.b/c..d/.e/f."),
        new("three dots is a name", Base, "/a/.../b", "/a/.../b"),
        new("case is kept", Base, "/ADMIN/Users", "/ADMIN/Users"),
        new("reserved escape kept", Base, "/a%2Fb%3A", "/a%2Fb%3A"),
        new("double slash kept without merge", Base, "//admin", "//admin"),
        new("query untouched", Base, "/a?x=/../y&p=%2e%2e", "/a?x=/../y&p=%2e%2e"),
        new("unreserved punctuation", Base, "/a-b_c~d", "/a-b_c~d"),
        new("merge: single slashes", Merge, "/a/b/", "/a/b/"),
        new("decode: plain", Decode, "/a/b", "/a/b"),
        new("none: anything goes", None, "/a/../b//c/%2e%2E/%2f%00", "/a/../b//c/%2e%2E/%2f%00"),
    ];

    /// <summary>Rewritten to their normal form.</summary>
    public static readonly PathCase[] Normalised =
    [
        new("parent segment", Base, "/a/../admin", "/admin"),
        new("current segment", Base, "/a/./b", "/a/b"),
        new("encoded parent", Base, "/%2e%2e/admin", "/admin"),
        new("encoded parent mixed case", Base, "/x/%2E%2e/admin", "/admin"),
        new("half encoded parent", Base, "/x/.%2e/admin", "/admin"),
        new("parent above root clamps", Base, "/../../admin", "/admin"),
        new("many parents", Base, "/a/b/../../../c", "/c"),
        new("trailing parent leaves slash", Base, "/a/b/..", "/a/"),
        new("trailing current leaves slash", Base, "/a/.", "/a/"),
        new("parent to root", Base, "/a/..", "/"),
        new("bare parent", Base, "/..", "/"),
        new("bare current", Base, "/.", "/"),
        new("empty segment then parent", Base, "/a//../b", "/a/b"),
        new("backslash is a separator", Base, "/a\\..\\admin", "/admin"),
        new("backslash to slash", Base, "/some\\data", "/some/data"),
        new("unreserved escapes decoded", Base, "/%41%62c/%7e%5f%2D%30", "/Abc/~_-0"),
        new("reserved escape upper-cased", Base, "/a%2fb%3a%5c", "/a%2Fb%3A%5C"),
        new("utf8 escape upper-cased", Base, "/caf%c3%a9", "/caf%C3%A9"),
        new("no double decoding", Base, "/%252e%252e/admin", "/%252e%252e/admin"),
        new("escaped percent upper-cased", Base, "/%25a", "/%25a"),
        new("query kept after shorter path", Base, "/a/../b?x=/../y&p=%2e", "/b?x=/../y&p=%2e"),
        new("escaped slash not a separator", Base, "/a/..%2fadmin", "/a/..%2Fadmin"),
        new("merge: leading double slash", Merge, "//admin", "/admin"),
        new("merge: runs anywhere", Merge, "/a///b//", "/a/b/"),
        new("merge: all slashes", Merge, "///", "/"),
        new("merge: with parent", Merge, "/a//..//b", "/b"),
        new("merge: backslashes too", Merge, "/a\\\\b", "/a/b"),
        new("merge: escaped slashes stay", Merge, "/a%2f%2fb", "/a%2F%2Fb"),
        new("decode: escaped slash", Decode, "/a%2fb", "/a/b"),
        new("decode: leading escaped slash", Decode, "/%2Fadmin", "/admin"),
        new("decode: escaped slash parent", Decode, "/a%2F..%2Fadmin", "/admin"),
        new("decode: escaped backslash parent", Decode, "/a%5c..%5Cadmin", "/admin"),
        new("decode: escaped slashes merge", Decode, "/a%2f%2fb", "/a/b"),
        new("decode: all escaped", Decode, "/%2e%2e%2fadmin", "/admin"),
        new("decode: with query", Decode, "/x%2f..%2f%2fadmin?a=%2f", "/admin?a=%2f"),
    ];

    /// <summary>Cannot be normalised safely: 400.</summary>
    public static readonly PathCase[] Invalid =
    [
        new("nul escape", Base, "/a%00b", null),
        new("nul escape merge", Merge, "/%00", null),
        new("bad hex", Base, "/a%zzb", null),
        new("bad second hex digit", Base, "/a%2g", null),
        new("truncated escape", Base, "/a%4", null),
        new("percent at end", Base, "/a%", null),
        new("truncated escape decode", Decode, "/a%2", null),
    ];

    public static IEnumerable<PathCase> All => Valid.Concat(Normalised).Concat(Invalid);

    public static PathCase Named(string name) => All.Single(c => c.Name == name);
}
