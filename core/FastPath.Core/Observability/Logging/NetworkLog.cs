// Source-generated log messages for listener filters and L4 filter chains, with stable event ids (100-119).
using Microsoft.Extensions.Logging;

namespace FastPath.Observability.Logging;

internal static partial class NetworkLog
{
    [LoggerMessage(100, LogLevel.Debug, "No filter chain matched a connection from {Client} on listener {Listener} (server name '{ServerName}'); closing")]
    public static partial void NoFilterChainMatch(ILogger logger, string client, string listener, string serverName);

    [LoggerMessage(101, LogLevel.Debug, "TLS inspector on listener {Listener} closed a connection from {Client}: {Reason}")]
    public static partial void InspectorClosed(ILogger logger, string listener, string client, string reason);

    [LoggerMessage(102, LogLevel.Debug, "TCP proxy on listener {Listener} could not reach cluster {Cluster}: {Error}")]
    public static partial void TcpConnectFailed(ILogger logger, string listener, string cluster, string error);
}
