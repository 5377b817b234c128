// JWT request authentication through the real gateway process: keys generated and tokens signed in the test, the
// JWKS in a file the gateway reads (and re-reads on reload), HttpClient as the client, a real Kestrel origin that
// records what it was sent. Shows the 401s with Envoy's bodies, and what reaches the origin of the token.
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using FastPath.EndToEnd.Testing;

namespace FastPath.EndToEnd;

public sealed class RequestAuthenticationTests
{
    private const string SecondIssuer = "https://second.example";
    private static readonly HttpClient Client = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(15) };

    /// <summary>Rule 1: the signer's issuer, Authorization: Bearer, token removed. Rule 2: second issuer, x-jwt header,
    /// token forwarded, payload output to x-jwt-payload.</summary>
    private static GatewayYaml Yaml(OriginServer origin, string jwksFile)
    {
        GatewayYaml yaml = new GatewayYaml().Route("/", "main").Cluster("main", origin.Address);
        yaml.RootYaml.AddRange(
        [
            "request_authentication:",
            "  jwt_rules:",
            $"    - issuer: {JwtSigner.Issuer}",
            $"      audiences: [{JwtSigner.Audience}]",
            $"      jwks_file: {jwksFile}",
            $"    - issuer: {SecondIssuer}",
            $"      jwks_file: {jwksFile}",
            "      from_headers: [{name: x-jwt}]",
            "      forward_original_token: true",
            "      output_payload_to_header: x-jwt-payload",
            "      clock_skew: 10s",
        ]);
        return yaml;
    }

    private static string WriteJwks(string jwks)
    {
        string path = Path.Combine(Path.GetTempPath(), $"fastpath-jwks-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, jwks);
        return path;
    }

    private static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> GetAsync(GatewayProcess gateway,
        string? bearer = null, (string Name, string Value)? header = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.Url("/api/resource"));
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        if (header is { } h) request.Headers.TryAddWithoutValidation(h.Name, h.Value);
        HttpResponseMessage response = await Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Fact(Timeout = 60_000)]
    public async Task Requests_TokensJudged_401sNameTheFailureAndTheOriginSeesOnlyWhatItShould()
    {
        using var signer = new JwtSigner();
        string jwks = WriteJwks(signer.Jwks());
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(Yaml(origin, jwks));
        try
        {
            // No token: passes (Istio), nothing added.
            (HttpStatusCode status, _, _) = await GetAsync(gateway);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Null(origin.LastRequest!.Header("authorization"));

            // Valid RS256, PS256 and ES256: 200, and the token is not forwarded (forward_original_token: false).
            foreach (string alg in new[] { "RS256", "PS256", "ES256" })
            {
                (status, _, _) = await GetAsync(gateway, bearer: signer.Token(alg));
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.Null(origin.LastRequest!.Header("authorization"));
            }

            int served = origin.RequestCount;
            (HttpStatusCode, string)[] refused =
            [
                await Status(signer.Token("RS256", JwtSigner.Claims(expiresIn: TimeSpan.FromMinutes(-5)))),
                await Status(signer.Token("ES256", JwtSigner.Claims(notBeforeIn: TimeSpan.FromMinutes(5)))),
                await Status(signer.Token("RS256", JwtSigner.Claims(issuer: "https://evil.example"))),
                await Status(signer.Token("RS256", JwtSigner.Claims(audience: "other.example"))),
                await Status(signer.Hs256WithPublicKey()),
                await Status(signer.Unsigned()),
                await Status("garbage"),
            ];
            Assert.Equal((HttpStatusCode.Unauthorized, "Jwt is expired"), refused[0]);
            Assert.Equal((HttpStatusCode.Unauthorized, "Jwt not yet valid"), refused[1]);
            Assert.Equal((HttpStatusCode.Unauthorized, "Jwt issuer is not configured"), refused[2]);
            Assert.Equal((HttpStatusCode.Unauthorized, "Audiences in Jwt are not allowed"), refused[3]);
            Assert.All(refused[4..], r => Assert.Equal(HttpStatusCode.Unauthorized, r.Item1));
            Assert.Equal(served, origin.RequestCount); // no refused request reached the origin

            (_, _, HttpResponseMessage challenge) = await GetAsync(gateway, bearer: "garbage");
            Assert.Equal("Bearer error=\"invalid_token\"", challenge.Headers.WwwAuthenticate.ToString());

            // Rule 2: its token is read from x-jwt only, forwarded, and its payload sent in x-jwt-payload.
            string second = signer.Token("ES256", JwtSigner.Claims(issuer: SecondIssuer));
            (status, _, _) = await GetAsync(gateway, header: ("x-jwt", second));
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(second, origin.LastRequest!.Header("x-jwt"));
            Assert.Equal(second.Split('.')[1], origin.LastRequest!.Header("x-jwt-payload"));
            // The same token in Authorization meets only rule 1's location, whose issuer it is not.
            (status, string body, _) = await GetAsync(gateway, bearer: second);
            Assert.Equal((HttpStatusCode.Unauthorized, "Jwt issuer is not configured"), (status, body));
        }
        finally
        {
            File.Delete(jwks);
        }

        async Task<(HttpStatusCode, string)> Status(string token)
        {
            (HttpStatusCode s, string b, _) = await GetAsync(gateway, bearer: token);
            return (s, b);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Reload_JwksFileReplaced_NewKeysTrustedAndABrokenFileKeepsTheOldConfig()
    {
        using var first = new JwtSigner();
        using var next = new JwtSigner();
        string jwks = WriteJwks(first.Jwks());
        await using OriginServer origin = await OriginServer.StartAsync("a");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(Yaml(origin, jwks));
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(gateway, bearer: first.Token("RS256"))).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, bearer: next.Token("RS256"))).Status);

            long version = await gateway.ConfigVersionAsync();
            File.WriteAllText(jwks, next.Jwks());
            gateway.Signal(GatewayProcess.SIGHUP);
            await WaitForVersionAsync(gateway, version);
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(gateway, bearer: next.Token("ES256"))).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(gateway, bearer: first.Token("ES256"))).Status);

            // A JWKS that does not parse is a config error: the reload is refused and the running keys stay.
            version = await gateway.ConfigVersionAsync();
            File.WriteAllText(jwks, "{\"keys\": [");
            gateway.Signal(GatewayProcess.SIGHUP);
            await WaitUntilAsync(() => gateway.Stderr.Contains("jwks_file") || gateway.Stdout.Contains("jwks_file"));
            Assert.Equal(version, await gateway.ConfigVersionAsync());
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(gateway, bearer: next.Token("PS256"))).Status);
        }
        finally
        {
            File.Delete(jwks);
        }
    }

    private static async Task WaitForVersionAsync(GatewayProcess gateway, long version)
    {
        for (int i = 0; i < 100 && await gateway.ConfigVersionAsync() <= version; i++) await Task.Delay(100);
        Assert.True(await gateway.ConfigVersionAsync() > version, "the reload was not applied");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 100 && !condition(); i++) await Task.Delay(100);
        Assert.True(condition(), "the rejected reload was not reported");
    }

    [Fact(Timeout = 60_000)]
    public async Task ConfigDump_ShowsNormalisationAndJwtRulesButNoKeys()
    {
        using var signer = new JwtSigner();
        string jwks = WriteJwks(signer.Jwks());
        await using OriginServer origin = await OriginServer.StartAsync("a");
        GatewayYaml yaml = Yaml(origin, jwks);
        yaml.RootYaml.Add("path_normalization: MERGE_SLASHES");
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        try
        {
            (HttpStatusCode status, string body) = await gateway.AdminGetAsync("/config_dump");
            Assert.Equal(HttpStatusCode.OK, status);
            using System.Text.Json.JsonDocument doc = System.Text.Json.JsonDocument.Parse(body);
            System.Text.Json.JsonElement root = doc.RootElement;
            Assert.Equal("MERGE_SLASHES", root.GetProperty("path_normalization").GetString());
            System.Text.Json.JsonElement rule = root.GetProperty("request_authentication").GetProperty("jwt_rules")[0];
            Assert.Equal(JwtSigner.Issuer, rule.GetProperty("issuer").GetString());
            Assert.Equal(jwks, rule.GetProperty("jwks").GetString());
            Assert.Equal("authorization", rule.GetProperty("from_headers")[0].GetProperty("name").GetString());
            Assert.DoesNotContain(JwtSigner.B64(signer.Rsa.ExportParameters(false).Modulus!), body); // no key material
        }
        finally
        {
            File.Delete(jwks);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task RequestsWithoutToken_UnderJwtRules_AllocateNothingPerRequest()
    {
        const int requests = 5000;
        using var signer = new JwtSigner();
        string jwks = WriteJwks(signer.Jwks());
        await using OriginServer origin = await OriginServer.StartAsync("a");
        GatewayYaml yaml = Yaml(origin, jwks);
        yaml.RootYaml.AddRange(["    - issuer: third", $"      jwks_file: {jwks}", "      from_params: [access_token]"]);
        await using GatewayProcess gateway = await GatewayProcess.StartAsync(yaml);
        try
        {
            await using RawHttpConnection client = await RawHttpConnection.ConnectAsync(gateway.Port);
            // A query with other parameters and a header of another scheme: looked at, found not to be tokens.
            string request = RawHttpConnection.Get("/plain?a=1&b=2", "Authorization: Basic dXNlcjpwYXNz");
            for (int i = 0; i < 2000; i++) Assert.Equal(200, (await client.RoundTripAsync(request)).Status); // warm: JIT, pools
            double quiet = await gateway.AllocatedBytesAsync();
            double quietEnd = await gateway.AllocatedBytesAsync();
            double before = await gateway.AllocatedBytesAsync();
            for (int i = 0; i < requests; i++) Assert.Equal(200, (await client.RoundTripAsync(request)).Status);
            double after = await gateway.AllocatedBytesAsync();
            // As in HttpFilterAllocationTests: one allocation per request would read as 24 B or more.
            double perRequest = (after - before - (quietEnd - quiet)) / requests;
            Assert.True(perRequest < 16, $"{perRequest:F1} B/request (quiet scrape {quietEnd - quiet} B, run {after - before} B)");
        }
        finally
        {
            File.Delete(jwks);
        }
    }
}
