// Builds AuthorizationPolicy engines from gateway YAML (the loader, validator and compiler users go through) and
// requests parsed by the real HTTP/1.1 parser, then asks for decisions over HTTP or TCP.
using System.Net;
using System.Text;
using System.Text.Json;
using FastPath.Config;
using FastPath.Core.Tests.Testing;
using FastPath.Http;
using FastPath.Http1;
using FastPath.Security;
using FastPath.Security.Authorization;

namespace FastPath.Core.Tests.Security.Authorization;

internal static class AuthorizationTestKit
{
    private const string Listener = """
        listeners:
          - name: main
            address: 127.0.0.1
            port: 8080
            virtual_hosts:
              - domains: ["*"]
                routes:
                  - cluster: web
        clusters:
          - name: web
            endpoints: ["127.0.0.1:9001"]

        """;

    /// <summary>An engine from an authorization_policies YAML block (and optional top-level lines before it).</summary>
    public static AuthorizationEngine Engine(string policies, string topLevel = "")
    {
        GatewayConfig config = GatewayConfigLoader.Parse(Listener + topLevel + policies, "authz.yaml");
        return AuthorizationCompiler.Compile(config) ?? throw new InvalidOperationException("no policies");
    }

    public static HttpRequestHead Request(string method, string target, string host = "example.com", params (string Name, string Value)[] headers)
    {
        var text = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: {host}\r\n");
        foreach ((string name, string value) in headers) text.Append(name).Append(": ").Append(value).Append("\r\n");
        text.Append("\r\n");
        var head = new HttpRequestHead();
        HeadOutcome outcome = HeadParseDriver.ParseRequest(SegmentedInput.Create(Encoding.ASCII.GetBytes(text.ToString()), []), head);
        if (outcome.Result != Http1ParseResult.Complete) throw new InvalidOperationException($"bad test request: {outcome.Reason}");
        return head;
    }

    public static PeerIdentity Peer(string spiffeId) =>
        PeerIdentity.TryParse(spiffeId, out PeerIdentity? id) ? id : throw new ArgumentException(spiffeId);

    public static RequestIdentity Jwt(string issuer, string subject, string claimsJson = "{}", string[]? audiences = null, string? presenter = null) =>
        new(issuer, subject, audiences ?? [], presenter, JsonDocument.Parse(claimsJson).RootElement.Clone());

    /// <summary>A decision for an HTTP request.</summary>
    public static AuthorizationDecision Decide(AuthorizationEngine engine, HttpRequestHead request, string source = "10.1.2.3",
        int port = 8080, PeerIdentity? peer = null, RequestIdentity? jwt = null, string destination = "127.0.0.1", string? sni = null)
    {
        var ctx = new AuthorizationContext
        {
            Request = request,
            SourceAddress = IpNetwork.ToBits(IPAddress.Parse(source)),
            DestinationAddress = IpNetwork.ToBits(IPAddress.Parse(destination)),
            DestinationPort = port,
            Peer = peer,
            Identity = jwt,
            ServerName = sni,
        };
        return engine.Evaluate(ref ctx);
    }

    /// <summary>A decision for a TCP connection (no request: Istio's TCP treatment of HTTP-only fields).</summary>
    public static AuthorizationDecision DecideTcp(AuthorizationEngine engine, string source = "10.1.2.3", int port = 8080,
        PeerIdentity? peer = null, string? sni = null)
    {
        var ctx = new AuthorizationContext
        {
            SourceAddress = IpNetwork.ToBits(IPAddress.Parse(source)),
            DestinationAddress = IpNetwork.ToBits(IPAddress.Loopback),
            DestinationPort = port,
            Peer = peer,
            ServerNameUtf8 = sni is null ? default : Encoding.ASCII.GetBytes(sni),
        };
        return engine.Evaluate(ref ctx);
    }

    public static string? PolicyName(this AuthorizationDecision d) => d.Policy?.Name;

    public static string Details(this AuthorizationDecision d) => Encoding.ASCII.GetString(d.DeniedDetails);
}
