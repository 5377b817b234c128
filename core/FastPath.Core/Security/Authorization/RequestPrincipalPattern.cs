// Istio's request principal match (pilot requestPrincipalGenerator): the value splits at its last '/' into issuer
// and subject, each matched on its own, so "https://idp.example/*" means issuer exactly https://idp.example and any
// subject, never an issuer https://idp.example/x. "*" needs both present; "*/sub" and "iss/*" are wildcards on one
// side; a leading or trailing '*' without '/' is a suffix of the subject or a prefix of the issuer.
namespace FastPath.Security.Authorization;

internal readonly struct RequestPrincipalPattern
{
    private static readonly StringPattern NonEmpty = StringPattern.Parse("*");

    private readonly StringPattern _issuer;
    private readonly StringPattern _subject;

    private RequestPrincipalPattern(StringPattern issuer, StringPattern subject)
    {
        _issuer = issuer;
        _subject = subject;
    }

    public static RequestPrincipalPattern Parse(string value)
    {
        int slash = value.LastIndexOf('/');
        bool found = slash >= 0;
        string iss = found ? value[..slash] : value, sub = found ? value[(slash + 1)..] : "";
        if (value == "*") return new(NonEmpty, NonEmpty);
        if (value.StartsWith('*'))
        {
            return found
                ? new(iss == "*" ? NonEmpty : StringPattern.Parse(iss), Exact(sub))
                : new(NonEmpty, StringPattern.Parse(value));
        }
        if (value.EndsWith('*'))
        {
            return found
                ? new(Exact(iss), sub == "*" ? NonEmpty : StringPattern.Parse(sub))
                : new(StringPattern.Parse(value), NonEmpty);
        }
        return new(Exact(iss), Exact(sub));
    }

    /// <summary>A literal that may contain '*' only where Parse does not treat it as a wildcard.</summary>
    private static StringPattern Exact(string value) => StringPattern.Exact(value);

    public bool Matches(RequestIdentity identity) =>
        Part(_issuer, identity.Issuer) && Part(_subject, identity.Subject);

    // Istio's "any" is the regex ".+": present and not empty.
    private static bool Part(StringPattern pattern, string value) =>
        pattern.Kind == PatternKind.Present ? value.Length > 0 : pattern.Matches(value);
}
