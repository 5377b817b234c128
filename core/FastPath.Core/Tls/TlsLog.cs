// Source-generated log messages for TLS termination, origination and certificate reloads (event ids 400-419).
using Microsoft.Extensions.Logging;

namespace FastPath.Tls;

internal static partial class TlsLog
{
    [LoggerMessage(400, LogLevel.Information, "TLS handshake with client {Client} on listener {Listener} failed: {Reason} ({Detail})")]
    public static partial void DownstreamHandshakeFailed(ILogger logger, string client, string listener, string reason, string detail);

    [LoggerMessage(401, LogLevel.Warning, "TLS handshake with upstream {Endpoint} failed: {Reason} ({Detail})")]
    public static partial void UpstreamHandshakeFailed(ILogger logger, string endpoint, string reason, string detail);

    [LoggerMessage(402, LogLevel.Information, "Certificate reloaded from {File}: new handshakes use it")]
    public static partial void CertificateReloaded(ILogger logger, string file);

    [LoggerMessage(403, LogLevel.Warning, "Certificate files {File} changed but cannot be loaded (the previous certificate stays in use): {Error}")]
    public static partial void CertificateReloadFailed(ILogger logger, string file, string error);
}
