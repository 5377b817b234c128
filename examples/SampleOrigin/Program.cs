// Sample origin for examples/gateway.yaml: `--listen 9001=api-1,9002=api-2,9003=web` starts one named origin per
// port on 127.0.0.1. Each answers with who served it and what the gateway added (x-forwarded-for, x-request-id),
// so the demo shows routing, weighted balancing and forwarding headers at a glance.
using System.Net;
using System.Text;

string listen = "9001=api-1,9002=api-2,9003=web";
for (int i = 0; i < args.Length - 1; i++)
    if (args[i] == "--listen") listen = args[i + 1];

var names = new Dictionary<int, string>();
foreach (string part in listen.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
{
    string[] kv = part.Split('=', 2);
    names[int.Parse(kv[0], System.Globalization.CultureInfo.InvariantCulture)] = kv.Length > 1 ? kv[1] : $"origin-{kv[0]}";
}

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k =>
{
    foreach (int port in names.Keys) k.Listen(IPAddress.Loopback, port);
});
WebApplication app = builder.Build();
app.Run(async context =>
{
    string name = names.GetValueOrDefault(context.Connection.LocalPort, "origin");
    var text = new StringBuilder()
        .Append("hello from ").Append(name).Append(": ").Append(context.Request.Method).Append(' ')
        .Append(context.Request.Path).Append(context.Request.QueryString).Append('\n')
        .Append("  x-forwarded-for: ").Append(context.Request.Headers["x-forwarded-for"].ToString()).Append('\n')
        .Append("  x-request-id:    ").Append(context.Request.Headers["x-request-id"].ToString()).Append('\n');
    context.Response.ContentType = "text/plain";
    context.Response.Headers["x-served-by"] = name;
    await context.Response.WriteAsync(text.ToString());
});
Console.WriteLine($"sample origins: {string.Join(", ", names.Select(kv => $"{kv.Value} on 127.0.0.1:{kv.Key}"))}");
await app.RunAsync();
