// Parsing of `--name value` / `--name=value` flags shared by both subcommands; no package for a dozen flags.

using System.Globalization;

namespace FastPath.Scenarios;

internal static class CommandLine
{
    /// <summary>Splits flags into a map, rejecting names the subcommand does not know so a typo never runs silently.</summary>
    public static Dictionary<string, string> Parse(ReadOnlySpan<string> args, string[] valued, string[] switches)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"unexpected argument '{arg}'");
            }

            var name = arg[2..];
            string? value = null;
            var eq = name.IndexOf('=');
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }

            if (Array.IndexOf(switches, name) >= 0)
            {
                result[name] = value ?? "true";
            }
            else if (Array.IndexOf(valued, name) >= 0)
            {
                if (value is null)
                {
                    if (i + 1 >= args.Length)
                    {
                        throw new UsageException($"--{name} needs a value");
                    }

                    value = args[++i];
                }

                result[name] = value;
            }
            else
            {
                throw new UsageException($"unknown option --{name}");
            }
        }

        return result;
    }

    public static int Int(Dictionary<string, string> flags, string name, int fallback, int min, int max)
    {
        if (!flags.TryGetValue(name, out var text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"--{name} must be an integer in [{min}, {max}], got '{text}'");
        }

        return value;
    }

    public static double Double(Dictionary<string, string> flags, string name, double fallback, double min, double max)
    {
        if (!flags.TryGetValue(name, out var text))
        {
            return fallback;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"--{name} must be a number in [{min}, {max}], got '{text}'");
        }

        return value;
    }

    public static string[] List(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
