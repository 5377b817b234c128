#!/usr/bin/env bash
# Runs every test: unit tests (codec tables, config, routing, balancing) and end-to-end tests that drive a real
# gateway process with real clients and origins (curl, wrk, nghttp2, openssl). Installs those tools first when
# they are missing and this runs as root (a fresh machine has only the .NET SDK).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

need=()
for tool in curl:curl wrk:wrk nghttp:nghttp2-client h2load:nghttp2-client nghttpd:nghttp2-server openssl:openssl haproxy:haproxy nginx:nginx-light taskset:util-linux ps:procps; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing test tools: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing test tools (install them, e.g. sudo apt-get install ${need[*]}); the tests that need them will fail" >&2
  fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test FastPath.sln -c Release "$@" 2>&1 | tee "$log" || status=$?
# The end-to-end suite again on Kestrel's socket transport, the fallback to FastPath's own epoll transport.
FASTPATH_TRANSPORT=kestrel dotnet test tests/FastPath.EndToEnd -c Release --no-build "$@" 2>&1 | tee -a "$log" || status=$?
# One closing line for the whole run, summed over the test projects ("Passed!  - Failed: 0, Passed: 927, ...").
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then echo "no test ran"; status=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
