// fastpath-gateway: a thin shell around FastPath.Core. It parses arguments, loads the config, starts the proxy,
// and turns signals into reload (SIGHUP) and graceful drain (SIGTERM/SIGINT).
using System.Runtime.InteropServices;
using FastPath;
using FastPath.Config;
using FastPath.Gateway;
using Microsoft.Extensions.Logging;

// Socket completions run on the epoll thread that saw them instead of hopping to the thread pool: the proxy never
// blocks, so the hop is pure cost (measured one core, wrk -c50: 0.38 -> 0.21 CPU-s per 10k requests together with
// the thread-pool spin limit set in the project file). Must be set before the first socket is created.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

GatewayOptions options = GatewayOptions.Parse(args, out string? argError);
if (options.Help)
{
    Console.WriteLine(GatewayOptions.Usage);
    return 0;
}
if (argError is not null)
{
    Console.Error.WriteLine($"fastpath-gateway: {argError}");
    Console.Error.WriteLine(GatewayOptions.Usage);
    return 2;
}

GatewayConfig config;
string? configPath = options.ConfigPath;
try
{
    if (options.Listen is not null)
    {
        config = options.ToQuickConfig();
    }
    else
    {
        configPath ??= GatewayOptions.FindDefaultConfig()
            ?? throw new ConfigException([new ConfigError("examples/gateway.yaml", 0, 0, "(file)", "not found; pass --config FILE")]);
        config = GatewayConfigLoader.LoadFile(configPath);
        if (options.AccessLog is not null) config = config with { AccessLog = new AccessLogConfig { Path = options.AccessLog } };
    }
}
catch (ConfigException e)
{
    Console.Error.WriteLine("fastpath-gateway: invalid configuration:");
    foreach (ConfigError error in e.Errors) Console.Error.WriteLine($"  {error}");
    return 2;
}
if (options.CheckOnly)
{
    Console.WriteLine($"configuration OK: {config.Listeners.Count} listener(s), {config.Clusters.Count} cluster(s)");
    return 0;
}

using ILoggerFactory loggerFactory = LoggerFactory.Create(b => b
    .SetMinimumLevel(LogLevel.Information)
    .AddFilter("Microsoft", LogLevel.Warning)
    .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
    .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

FastPathProxy proxy;
try
{
    proxy = await FastPathProxy.StartAsync(config, loggerFactory);
}
catch (ConfigException e)
{
    Console.Error.WriteLine("fastpath-gateway: invalid configuration:");
    foreach (ConfigError error in e.Errors) Console.Error.WriteLine($"  {error}");
    return 2;
}
catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or Microsoft.AspNetCore.Connections.AddressInUseException)
{
    Console.Error.WriteLine($"fastpath-gateway: cannot start: {e.Message}");
    return 1;
}

await using (proxy)
{
    using ConfigFileWatcher? watcher = configPath is null ? null : new ConfigFileWatcher(configPath, proxy);
    var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    void OnStop(PosixSignalContext c)
    {
        c.Cancel = true;
        stop.TrySetResult();
    }
    using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStop);
    using PosixSignalRegistration intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStop);
    using PosixSignalRegistration hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
    {
        c.Cancel = true;
        watcher?.Schedule();
    });

    foreach ((string name, System.Net.IPEndPoint ep) in proxy.ListenerEndPoints)
    {
        // A listener with its own tls serves https; mesh mTLS (peer_authentication) and chains say so in the config.
        bool https = config.Listeners.Any(l => l.Name == name && l.Tls is not null);
        Console.Error.WriteLine($"fastpath-gateway: listener {name} on {(https ? "https" : "http")}://{ep}");
    }
    if (proxy.AdminEndPoint is { } admin) Console.Error.WriteLine($"fastpath-gateway: admin on http://{admin}");

    await Task.WhenAny(stop.Task, proxy.DrainRequested);
    await proxy.DrainAsync();
}
return 0;
