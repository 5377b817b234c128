// Log events of authorization (AuthorizationPolicy); HTTP denials are in the access log, TCP ones also here.
using Microsoft.Extensions.Logging;

namespace FastPath.Observability.Logging;

internal static partial class AuthorizationLog
{
    [LoggerMessage(400, LogLevel.Debug, "AuthorizationPolicy denied a TCP connection from {Client} on listener {Listener} (policy {Policy}); closing")]
    public static partial void TcpAccessDenied(ILogger logger, string listener, string client, string policy);
}
