// PathNormalizer over its case table three ways: on a span in place, on a span copied out (same answer), and on a
// request head parsed by the HTTP/1 codec whole, split at every index and one byte per segment; plus properties
// over seeded random paths: idempotence, no dot segments, no mergeable slashes, escapes in normal form.
using System.Text;
using FastPath.Core.Tests.Testing;
using FastPath.Http;
using FastPath.Http.Normalization;

namespace FastPath.Core.Tests.Http.Normalization;

public sealed class PathNormalizerTests
{
    public static TheoryData<string> CaseNames() => new(PathNormalizationCases.All.Select(c => c.Name));

    public static TheoryData<string, Segmentation> CasesEveryWay() => CaseRunner.EveryWay(PathNormalizationCases.All.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Normalize_Case_GivesExpectedPath(string name)
    {
        PathCase c = PathNormalizationCases.Named(name);
        byte[] target = Encoding.UTF8.GetBytes(c.Input);
        int q = Array.IndexOf(target, (byte)'?');
        byte[] path = q < 0 ? target : target[..q];
        int n = PathNormalizer.Normalize(path, c.Mode);
        if (c.Expected is null)
        {
            Assert.Equal(PathNormalizer.Invalid, n);
            return;
        }
        string expectedPath = c.Expected.Split('?')[0];
        Assert.Equal(expectedPath, Encoding.UTF8.GetString(path, 0, n));
    }

    [Theory]
    [MemberData(nameof(CasesEveryWay))]
    public void TryNormalize_ParsedRequestHead_PathRewrittenInPlace(string name, Segmentation mode)
    {
        PathCase c = PathNormalizationCases.Named(name);
        byte[] request = Encoding.UTF8.GetBytes($"GET {c.Input} HTTP/1.1\r\nHost: a.example\r\nX-After: kept\r\n\r\n");
        string? mismatch = CaseRunner.FirstMismatch(request, mode, () => new HttpRequestHead(), (run, head) =>
        {
            HeadOutcome parsed = HeadParseDriver.ParseRequest(run, head);
            if (parsed.Result != FastPath.Http1.Http1ParseResult.Complete) return $"{run.Name}: parse {parsed}";
            bool ok = PathNormalizer.TryNormalize(head, c.Mode);
            if (c.Expected is null) return ok ? $"{run.Name}: accepted, expected refusal" : null;
            string path = Encoding.UTF8.GetString(head.Path);
            string value = Encoding.ASCII.GetString(head.Headers.Value(head.Headers[head.Headers.IndexOfName("x-after"u8)]));
            if (!ok || path != c.Expected || value != "kept") return $"{run.Name}: ok={ok} path '{path}', header '{value}'";
            return Encoding.UTF8.GetString(head.PathOnly) == c.Expected.Split('?')[0] ? null : $"{run.Name}: PathOnly '{Encoding.UTF8.GetString(head.PathOnly)}'";
        });
        Assert.True(mismatch is null, mismatch);
    }

    [Fact]
    public void TryNormalize_AsteriskForm_LeftAlone()
    {
        var head = new HttpRequestHead();
        HeadOutcome parsed = HeadParseDriver.ParseRequest(SegmentedInput.Create("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray(), []), head);
        Assert.Equal(FastPath.Http1.Http1ParseResult.Complete, parsed.Result);
        Assert.True(PathNormalizer.TryNormalize(head, PathNormalization.DecodeAndMergeSlashes));
        Assert.Equal("*", Encoding.ASCII.GetString(head.Path));
    }

    [Fact]
    public void TryNormalize_AbsoluteFormTarget_PathNormalisedAuthorityKept()
    {
        var head = new HttpRequestHead();
        HeadParseDriver.ParseRequest(SegmentedInput.Create("GET http://a.example/x/../admin?q=1 HTTP/1.1\r\nHost: a.example\r\n\r\n"u8.ToArray(), []), head);
        Assert.True(PathNormalizer.TryNormalize(head, PathNormalization.Base));
        Assert.Equal("/admin?q=1", Encoding.ASCII.GetString(head.Path));
        Assert.Equal("a.example", Encoding.ASCII.GetString(head.Authority));
    }

    [Theory]
    [InlineData(PathNormalization.Base)]
    [InlineData(PathNormalization.MergeSlashes)]
    [InlineData(PathNormalization.DecodeAndMergeSlashes)]
    public void Normalize_RandomPaths_OutputIsNormalAndIdempotent(PathNormalization mode)
    {
        // Pieces that exercise every branch: separators, dot segments, escapes (unreserved, reserved, encoded dots
        // and slashes, and now and then a malformed one).
        string[] pieces = ["/", "/", "/", ".", "..", "a", "b", "%2e", "%2E", "%2f", "%5C", "%41", "%7e", "%25", "%3a", "\\", "%zz", "%0"];
        var random = new Random(4242);
        int valid = 0;
        for (int i = 0; i < 20_000; i++)
        {
            var built = new StringBuilder("/");
            for (int k = random.Next(12); k > 0; k--) built.Append(pieces[random.Next(pieces.Length)]);
            byte[] path = Encoding.ASCII.GetBytes(built.ToString());
            string input = Encoding.ASCII.GetString(path);
            int n = PathNormalizer.Normalize(path, mode);
            if (n == PathNormalizer.Invalid) continue;
            valid++;
            string once = Encoding.ASCII.GetString(path, 0, n);
            Assert.True(IsNormal(once, mode), $"'{input}' -> '{once}' under {mode}");
            byte[] again = Encoding.ASCII.GetBytes(once);
            int m = PathNormalizer.Normalize(again, mode);
            Assert.Equal(once, Encoding.ASCII.GetString(again, 0, m)); // normalise(normalise(x)) == normalise(x)
        }
        Assert.True(valid > 5_000, $"only {valid} valid random paths: the generator no longer covers the normaliser");
    }

    private static bool IsNormal(string path, PathNormalization mode)
    {
        if (!path.StartsWith('/') || path.Contains('\\')) return false;
        if (path.Contains("/./") || path.Contains("/../") || path.EndsWith("/.") || path.EndsWith("/..")) return false;
        if (mode >= PathNormalization.MergeSlashes && path.Contains("//")) return false;
        for (int i = path.IndexOf('%'); i >= 0; i = path.IndexOf('%', i + 1))
        {
            string hex = path.Substring(i + 1, 2);
            if (hex != hex.ToUpperInvariant()) return false;                                    // hex digits upper-cased
            char decoded = (char)Convert.ToByte(hex, 16);
            if (char.IsAsciiLetterOrDigit(decoded) || "-._~".Contains(decoded)) return false; // unreserved decoded
            if (mode == PathNormalization.DecodeAndMergeSlashes && decoded is '/' or '\\') return false;
        }
        return true;
    }
}
