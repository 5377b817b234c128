// Source-generated log messages for the proxy, with stable event ids (Kestrel's *Trace pattern).
using Microsoft.Extensions.Logging;

namespace FastPath.Observability.Logging;

internal static partial class ProxyLog
{
    [LoggerMessage(1, LogLevel.Error, "Connection processing failed unexpectedly")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception);

    [LoggerMessage(2, LogLevel.Information, "Listening on {Address} ({Listener})")]
    public static partial void Listening(ILogger logger, string address, string listener);

    [LoggerMessage(3, LogLevel.Information, "Configuration version {Version} loaded from {Source}")]
    public static partial void ConfigLoaded(ILogger logger, long version, string source);

    [LoggerMessage(4, LogLevel.Error, "Configuration reload rejected; the running configuration stays in force:\n{Errors}")]
    public static partial void ConfigRejected(ILogger logger, string errors);

    [LoggerMessage(5, LogLevel.Information, "Draining: {Connections} connections open, timeout {Timeout}")]
    public static partial void Draining(ILogger logger, int connections, TimeSpan timeout);

    [LoggerMessage(6, LogLevel.Information, "Drained; {Remaining} connections closed by the drain timeout")]
    public static partial void Drained(ILogger logger, int remaining);

    [LoggerMessage(7, LogLevel.Warning, "Connection limit {Limit} reached; refusing a connection")]
    public static partial void ConnectionLimit(ILogger logger, int limit);

    [LoggerMessage(9, LogLevel.Information, "Socket transport: {Transport}")]
    public static partial void Transport(ILogger logger, string transport);

    [LoggerMessage(10, LogLevel.Warning, "Not watching {Path} for changes ({Reason}); reload it with SIGHUP")]
    public static partial void ConfigNotWatched(ILogger logger, string path, string reason);

    [LoggerMessage(8, LogLevel.Error, "Accept loop on {Address} failed")]
    public static partial void AcceptFailed(ILogger logger, string address, Exception exception);
}
