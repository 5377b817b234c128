// The request path's authorization stage (issue 4): Istio AuthorizationPolicy over one request, the last step before
// routing, synchronous and allocation-free. A denial becomes ProxyError.AccessDenied, answered 403
// "RBAC: access denied" like the other local replies; the deciding policy goes to the access log.
using FastPath.Security;
using FastPath.Security.Authorization;
using FastPath.Upstream;

namespace FastPath.Filters.Network;

internal static class HttpAuthorizationStage
{
    /// <summary>Evaluates the request; on a denial sets the exchange's error. Records the deciding and audit policies.</summary>
    public static void Check(AuthorizationEngine engine, HttpExchange exchange, in ConnectionAddresses addresses, DownstreamTls? tls)
    {
        var ctx = new AuthorizationContext
        {
            Request = exchange.Request,
            SourceAddress = addresses.Source,
            DestinationAddress = addresses.Destination,
            DestinationPort = addresses.DestinationPort,
            Peer = tls?.Peer,
            Identity = exchange.RequestIdentity,
            ServerName = tls?.ServerName,
        };
        AuthorizationDecision decision = engine.Evaluate(ref ctx);
        exchange.Outcome.Audited = decision.Audited;
        if (decision.Allowed) return;
        exchange.Outcome.Error = ProxyError.AccessDenied;
        exchange.Outcome.DeniedBy = decision.Policy;
    }

    /// <summary>Envoy's response_code_details for the access log: rbac_access_denied_matched_policy[name|none].</summary>
    public static ReadOnlySpan<byte> Details(in RequestOutcome outcome) =>
        outcome.Error != ProxyError.AccessDenied ? default
        : outcome.DeniedBy is { } policy ? policy.DeniedDetails : AuthorizationEngine.NoPolicyDetails;

    /// <summary>The first AUDIT policy that matched, for the access log.</summary>
    public static ReadOnlySpan<byte> AuditPolicy(in RequestOutcome outcome) => outcome.Audited is { } p ? p.NameUtf8 : default;
}
