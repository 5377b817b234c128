// Istio's request principal forms (pilot requestPrincipalGenerator): the value splits at its last '/' into issuer
// and subject, and each wildcard form constrains one side.
using FastPath.Security.Authorization;
using static FastPath.Core.Tests.Security.Authorization.AuthorizationTestKit;

namespace FastPath.Core.Tests.Security.Authorization;

public sealed class RequestPrincipalPatternTests
{
    [Theory]
    [InlineData("*", "iss", "sub", true)]
    [InlineData("iss/sub", "iss", "sub", true)]
    [InlineData("iss/sub", "iss", "sub2", false)]
    [InlineData("https://a.example/path/sub", "https://a.example/path", "sub", true)] // the issuer may hold '/'
    [InlineData("*/sub", "anything", "sub", true)]
    [InlineData("*/sub", "anything", "other", false)]
    [InlineData("*.example/sub", "https://a.example", "sub", true)]   // issuer suffix
    [InlineData("*.example/sub", "https://a.example.org", "sub", false)]
    [InlineData("iss/*", "iss", "anyone", true)]
    [InlineData("iss/*", "iss", "", false)]                             // any = present and not empty
    [InlineData("iss/al*", "iss", "alice", true)]                       // subject prefix
    [InlineData("iss/al*", "iss", "bob", false)]
    [InlineData("*ice", "any-issuer", "alice", true)]                   // no '/': a subject suffix
    [InlineData("*ice", "alice", "bob", false)]
    [InlineData("idp*", "idp.example", "x", true)]                    // no '/' at all: an issuer prefix
    [InlineData("idp*", "other", "x", false)]
    public void Matches_IstioForms(string pattern, string issuer, string subject, bool expected)
    {
        Assert.Equal(expected, RequestPrincipalPattern.Parse(pattern).Matches(Jwt(issuer, subject)));
    }
}
