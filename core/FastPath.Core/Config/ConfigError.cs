// A validation failure that names where it is: file, line and the field's path in the document.
namespace FastPath.Config;

public sealed record ConfigError(string File, int Line, int Column, string Path, string Message)
{
    public override string ToString() => Line > 0
        ? $"{File}:{Line}:{Column}: {Path}: {Message}"
        : $"{File}: {Path}: {Message}";
}

public sealed class ConfigException(IReadOnlyList<ConfigError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<ConfigError> Errors { get; } = errors;
}
