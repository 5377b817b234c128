#!/usr/bin/env bash
# Runs the gateway example: the sample origins, then fastpath-gateway with no arguments (examples/gateway.yaml).
#   bash examples/demo.sh           run until Ctrl-C, after showing a few requests
#   bash examples/demo.sh --smoke   show the requests, check them, stop (used by CI to keep this command true)
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1

echo "building..."
dotnet build -c Release -nologo -v q examples/SampleOrigin/SampleOrigin.csproj >/dev/null
dotnet build -c Release -nologo -v q hosts/FastPath.Gateway/FastPath.Gateway.csproj >/dev/null

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

dotnet examples/SampleOrigin/bin/Release/net10.0/SampleOrigin.dll --listen 9001=api-1,9002=api-2,9003=web &
pids+=($!)
log_dir=$(mktemp -d)
# No arguments: the gateway runs examples/gateway.yaml. Its stdout is the access log (JSON lines).
dotnet hosts/FastPath.Gateway/bin/Release/net10.0/fastpath-gateway.dll >"$log_dir/access.log" &
pids+=($!)

for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:9901/ready >/dev/null 2>&1 && curl -sf http://127.0.0.1:9003/ >/dev/null 2>&1 && break
  sleep 0.2
done

echo
echo "== GET /api/items four times: cluster 'api' splits 3:1 across api-1 and api-2"
for _ in 1 2 3 4; do curl -s http://127.0.0.1:8080/api/items | head -1; done
echo "== GET / with Host: shop.example.com -> virtual host 'shop', cluster 'web'"
curl -s -H 'Host: shop.example.com' http://127.0.0.1:8080/
echo "== GET /api/items with x-user: beta -> route 'api-beta', cluster 'api-canary' (x-version: canary)"
curl -s -i -H 'x-user: beta' http://127.0.0.1:8080/api/items | grep -iE '^x-version|hello'
echo "== GET /v1/items -> 301 to /api/items (a redirect route); GET /healthz -> answered by the gateway"
curl -s -o /dev/null -w '%{http_code} %{redirect_url}\n' http://127.0.0.1:8080/v1/items
curl -s http://127.0.0.1:8080/healthz
echo "== the same port speaks HTTP/2 (h2c with prior knowledge):"
curl -s --http2-prior-knowledge -o /dev/null -w 'HTTP/%{http_version} %{http_code}\n' http://127.0.0.1:8080/api/items
echo "== /admin needs x-role: ops (AuthorizationPolicy); the path is normalised first, so /api/../admin is denied too"
curl -s -w ' (%{http_code})\n' http://127.0.0.1:8080/admin/stats
curl -s --path-as-is -o /dev/null -w '/api/../admin/stats -> %{http_code}\n' http://127.0.0.1:8080/api/../admin/stats
curl -s -o /dev/null -w 'with x-role: ops -> %{http_code}\n' -H 'x-role: ops' http://127.0.0.1:8080/admin/stats
echo "== a path no route matches on a host with no catch-all is a 404 with flag NR; upstream errors are 502/503/504"
echo "== admin: http://127.0.0.1:9901/ready  /stats/prometheus  /config_dump  /clusters"
curl -s http://127.0.0.1:9901/ready
sleep 0.3
echo "== access log ($log_dir/access.log), last line:"
tail -n 1 "$log_dir/access.log"

if [ "$smoke" = 1 ]; then
  served=$(for _ in 1 2 3 4; do curl -s http://127.0.0.1:8080/api/items | head -1; done | sort | uniq -c | tr -s ' ')
  echo "$served" | grep -q '3 hello from api-1' && echo "$served" | grep -q '1 hello from api-2' \
    || { echo "demo smoke FAILED: expected a 3:1 split, got: $served"; exit 1; }
  curl -s -H 'Host: shop.example.com' http://127.0.0.1:8080/ | grep -q 'hello from web' || { echo "demo smoke FAILED: shop host"; exit 1; }
  curl -s -H 'x-user: beta' http://127.0.0.1:8080/api/items | grep -q 'hello from api-2' || { echo "demo smoke FAILED: canary route"; exit 1; }
  curl -s -o /dev/null -w '%{http_code} %{redirect_url}' http://127.0.0.1:8080/v1/items | grep -q '^301 http://127.0.0.1:8080/api/items$' \
    || { echo "demo smoke FAILED: redirect"; exit 1; }
  [ "$(curl -s http://127.0.0.1:8080/healthz)" = ok ] || { echo "demo smoke FAILED: direct response"; exit 1; }
  curl -s -i http://127.0.0.1:8080/ | grep -qi '^x-served-by: fastpath' || { echo "demo smoke FAILED: response_headers"; exit 1; }
  [ "$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_version} %{http_code}' http://127.0.0.1:8080/api/items)" = "2 200" ] \
    || { echo "demo smoke FAILED: HTTP/2"; exit 1; }
  [ "$(curl -s http://127.0.0.1:8080/admin/stats)" = "RBAC: access denied" ] || { echo "demo smoke FAILED: authorization"; exit 1; }
  [ "$(curl -s --path-as-is -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/../admin/stats)" = 403 ] \
    || { echo "demo smoke FAILED: path normalisation before authorization"; exit 1; }
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'x-role: ops' http://127.0.0.1:8080/admin/stats)" != 403 ] \
    || { echo "demo smoke FAILED: allowed admin call"; exit 1; }
  echo "demo smoke OK"
  exit 0
fi
echo
echo "gateway on http://127.0.0.1:8080 — try: curl -i http://127.0.0.1:8080/api/hello   (Ctrl-C to stop)"
wait
