// The access-log line: authorization's optional fields appear only when set, so the lines of other requests keep
// their shape, and each line stays one valid JSON object.
using System.Text;
using System.Text.Json;
using FastPath.Observability.Logging;

namespace FastPath.Core.Tests.Observability.Logging;

public sealed class AccessLoggerTests
{
    private static JsonElement Format(ReadOnlySpan<byte> details, ReadOnlySpan<byte> audit)
    {
        var record = new AccessLogRecord
        {
            StartUtc = new DateTime(2026, 11, 27, 4, 0, 0, DateTimeKind.Utc),
            Method = "GET"u8,
            Path = "/admin/x"u8,
            Authority = "shop.example.com"u8,
            Status = 403,
            ClientAddress = "10.0.0.1"u8,
            ResponseCodeDetails = details,
            AuditPolicy = audit,
        };
        byte[] buffer = new byte[4096];
        int n = AccessLogger.Format(buffer, in record);
        Assert.Equal((byte)'\n', buffer[n - 1]);
        return JsonDocument.Parse(Encoding.UTF8.GetString(buffer, 0, n)).RootElement.Clone();
    }

    [Fact]
    public void Format_AuthorizationFields_WrittenWhenSet()
    {
        JsonElement line = Format("rbac_access_denied_matched_policy[deny-admin]"u8, "audit-all"u8);

        Assert.Equal("rbac_access_denied_matched_policy[deny-admin]", line.GetProperty("response_code_details").GetString());
        Assert.Equal("audit-all", line.GetProperty("rbac_audit_policy").GetString());
        Assert.Equal(403, line.GetProperty("status").GetInt32());
    }

    [Fact]
    public void Format_AuthorizationFieldsUnset_Omitted()
    {
        JsonElement line = Format(default, default);

        Assert.False(line.TryGetProperty("response_code_details", out _));
        Assert.False(line.TryGetProperty("rbac_audit_policy", out _));
        Assert.Equal("10.0.0.1", line.GetProperty("downstream_remote_address").GetString());
    }
}
