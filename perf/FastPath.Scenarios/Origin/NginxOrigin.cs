// The HTTP/2 scenario's other origin: nginx answering the fixed body from its config, one worker, no logging.
//
// Why a second origin: h2load and the origin share the second core, and the Kestrel origin costs ~24 CPU-µs per
// request on this VM, more than any proxy under test. With it, the second core saturates first and sets the rate
// for every proxy, so the proxies' own cost barely shows (the issue's HAProxy figure, ~75k req/s, is out of reach
// behind it). nginx's `return` answers in ~10 µs, which leaves the proxy's core the one that decides.
//
// It answers like OriginServer: the small body ('a' × N, text/plain) on every path, and on /forwarded the names of
// the forwarding fields the request arrived with, so the runner's forwarding check works against either origin.

using System.Globalization;
using System.Text;
using FastPath.Scenarios.Runner;

namespace FastPath.Scenarios.Origin;

internal static class NginxOrigin
{
    public const string Name = "nginx";

    public static ChildProcess Start(string workDirectory, int port, int bodyBytes, int core)
    {
        string executable = Tools.Resolve(Peers.NginxPath)
            ?? throw new ScenarioException($"nginx not found at {Peers.NginxPath} or on PATH (apt-get install nginx-light, or run with --origin kestrel)");
        string prefix = Path.Combine(workDirectory, "origin-nginx");
        Directory.CreateDirectory(prefix);
        // The worker drops to an unprivileged user when run as root; it must still reach its temp paths here.
        Peers.MakeTraversable(workDirectory);
        Peers.MakeTraversable(prefix);
        string config = Path.Combine(prefix, "nginx.conf");
        File.WriteAllText(config, Config(prefix, port, bodyBytes) + "\n");
        // -e stderr: the compiled-in /var/log/nginx/error.log is opened before the config is read.
        return ChildProcess.StartPinned("origin-nginx", core, executable, ["-p", prefix + "/", "-c", config, "-e", "stderr"]);
    }

    public static string Config(string prefix, int port, int bodyBytes)
    {
        if (bodyBytes is < 0 or > 4000)
        {
            // nginx's `return` text is one config token: keep it to what the h2 scenario uses.
            throw new UsageException($"the nginx origin serves bodies up to 4000 B, not {bodyBytes}");
        }

        var forwarded = new StringBuilder();
        var names = new StringBuilder();
        for (int i = 0; i < OriginOptions.ForwardingFields.Length; i++)
        {
            string field = OriginOptions.ForwardingFields[i];
            string variable = "$fp_field" + i.ToString(CultureInfo.InvariantCulture);
            // A field that arrived maps to its name and a space, an absent one (empty value) to nothing.
            forwarded.Append(CultureInfo.InvariantCulture,
                $"    map $http_{field.Replace('-', '_')} {variable} {{ \"\" \"\"; default \"{field} \"; }}\n");
            names.Append(variable);
        }

        return Peers.NginxMainConfig(prefix, "the h2 scenario's origin.", string.Create(CultureInfo.InvariantCulture, $$"""
                default_type text/plain;
            {{forwarded}}
                server {
                    listen 127.0.0.1:{{port}} backlog=4096;
                    location = {{OriginOptions.ForwardedPath}} {
                        return 200 "{{names}}";
                    }
                    location / {
                        return 200 "{{new string('a', bodyBytes)}}";
                    }
                }
            """));
    }
}
