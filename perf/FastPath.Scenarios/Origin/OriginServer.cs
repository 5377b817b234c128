// The "origin direct" baseline: bare Kestrel answering a fixed body, so every proxy is measured against the
// cheapest server this runtime can give, not against routing or middleware it never needed.

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FastPath.Scenarios.Origin;

internal sealed record OriginOptions(int Port, int BodyBytes, bool Http2 = false)
{
    /// <summary>The path the runner uses for the large-body scenario; every other path gets the small body.</summary>
    public const string LargePath = "/16k";

    public const int LargeBodyBytes = 16 * 1024;

    /// <summary>Answers with the names of the forwarding fields the request arrived with (the runner checks that each
    /// proxy adds what it was configured to).</summary>
    public const string ForwardedPath = "/forwarded";

    /// <summary>The fields FastPath adds to every forwarded request, as Envoy does by default.</summary>
    public static readonly string[] ForwardingFields = ["x-forwarded-for", "x-forwarded-proto", "x-request-id"];

    public static OriginOptions Parse(ReadOnlySpan<string> args)
    {
        var flags = CommandLine.Parse(args, ["port", "body"], ["http2"]);
        if (!flags.ContainsKey("port"))
        {
            throw new UsageException("origin needs --port");
        }

        return new OriginOptions(
            CommandLine.Int(flags, "port", 0, 1, 65535),
            CommandLine.Int(flags, "body", 64, 0, 64 * 1024 * 1024),
            flags.TryGetValue("http2", out var h2) && h2 != "false");
    }
}

internal static class OriginServer
{
    public static async Task<int> RunAsync(OriginOptions options)
    {
        // The empty builder reads no appsettings, environment or command line, so nothing on the host can
        // change what the baseline does, and it registers no logging providers: logging is off by construction.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = null;
            // --http2: HTTP/2 with prior knowledge only (the gRPC-style upstream the h2 scenario also measures).
            kestrel.Listen(IPAddress.Loopback, options.Port, listen => listen.Protocols = options.Http2
                ? Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2
                : Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2);
        });

        await using var app = builder.Build();
        var handler = new FixedBodyHandler(options.BodyBytes);
        app.Run(handler.HandleAsync);

        await app.StartAsync();
        Console.WriteLine($"origin listening on 127.0.0.1:{options.Port} (body {options.BodyBytes} B, {OriginOptions.LargePath} {OriginOptions.LargeBodyBytes} B)");
        await app.WaitForShutdownAsync();
        return 0;
    }
}

/// <summary>Answers from bodies built once; a GET without a body completes without an async state machine.</summary>
internal sealed class FixedBodyHandler(int smallBytes)
{
    private const string ContentType = "text/plain";

    private readonly byte[] _small = Filled(smallBytes);
    private readonly byte[] _large = Filled(OriginOptions.LargeBodyBytes);

    public Task HandleAsync(HttpContext context)
    {
        if (string.Equals(context.Request.Path.Value, OriginOptions.ForwardedPath, StringComparison.Ordinal))
        {
            var present = OriginOptions.ForwardingFields.Where(f => context.Request.Headers.ContainsKey(f));
            return WriteAsync(context.Response, System.Text.Encoding.ASCII.GetBytes(string.Join(' ', present)));
        }

        var body = string.Equals(context.Request.Path.Value, OriginOptions.LargePath, StringComparison.Ordinal) ? _large : _small;
        var detection = context.Features.Get<IHttpRequestBodyDetectionFeature>();
        return detection is { CanHaveBody: true } ? DrainThenWriteAsync(context, body) : WriteAsync(context.Response, body);
    }

    private static async Task DrainThenWriteAsync(HttpContext context, byte[] body)
    {
        // Consume the upload before answering so a proxy streaming a body is measured end to end, not cut short.
        await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
        await WriteAsync(context.Response, body);
    }

    private static Task WriteAsync(HttpResponse response, byte[] body)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.ContentLength = body.Length;
        return body.Length == 0 ? Task.CompletedTask : response.Body.WriteAsync(body, 0, body.Length);
    }

    private static byte[] Filled(int length)
    {
        var bytes = new byte[length];
        bytes.AsSpan().Fill((byte)'a');
        return bytes;
    }
}
