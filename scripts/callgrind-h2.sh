#!/usr/bin/env bash
# Instructions per proxied request in FastPath's user space, counted by callgrind: the HTTP/2 scenario's path
# (h2load -c10 -m10 over TLS 1.3 to an HTTP/1.1 origin), for a Native AOT publish directory.
#
#   scripts/callgrind-h2.sh PUBLISH_DIR [REQUESTS]       e.g. scripts/callgrind-h2.sh out 50000
#
# Unlike req/s or CPU time on a shared VM, the count repeats within ~1% run to run (how requests batch into loop
# passes still varies), so two builds can be ranked from a couple of runs each. It sees none of the kernel's share (~60% of the proxy's CPU on this path), so it ranks
# user-space changes only; timing changes (when sends happen) still need the scenario runner.
# Needs valgrind, elfutils (eu-unstrip), h2load (nghttp2-client), openssl and curl. The origin is the runner's Kestrel
# one (`origin`, the scenario's --origin kestrel), as in every count recorded so far: keep it so counts compare.
# valgrind 3.19 cannot read the DWARF 5 in the publish's .dbg file, so a copy of the binary gets its symbol table only.
set -euo pipefail
publish=$(cd "${1:?usage: $0 PUBLISH_DIR [REQUESTS]}" && pwd)
requests=${2:-50000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/fastpath-callgrind-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

for tool in valgrind callgrind_control callgrind_annotate eu-unstrip objcopy h2load openssl curl; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install valgrind elfutils binutils nghttp2-client openssl curl)" >&2; exit 2; }
done

# The binary with its symbol table and no DWARF.
objcopy --strip-debug "$publish/fastpath-gateway.dbg" "$work/symbols.elf"
eu-unstrip -o "$work/merged" "$publish/fastpath-gateway" "$work/symbols.elf"
objcopy --strip-debug "$work/merged" "$work/fastpath-gateway"
rm -f "$work/merged" "$work/symbols.elf"

origin_port=19600 port=19643 admin=19601
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 2 -subj /CN=localhost 2>/dev/null

scenarios="$root/perf/FastPath.Scenarios/bin/Release/net10.0/FastPath.Scenarios.dll"
dotnet build -c Release "$root/perf/FastPath.Scenarios" >/dev/null
# The config the scenario runner gives FastPath on this path.
dotnet "$scenarios" h2-config --port $port --admin $admin --origin $origin_port \
  --cert "$work/cert.pem" --key "$work/key.pem" >"$work/gateway.yaml"
dotnet "$scenarios" origin --port $origin_port --body 64 >"$work/origin.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$origin_port/small" && break; sleep 0.2; done

valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.out" \
  "$work/fastpath-gateway" --config "$work/gateway.yaml" >"$work/gateway.log" 2>&1 &
vg=$!
pids+=($vg)
up=0
for _ in $(seq 120); do
  if h2load -n1 -c1 "https://127.0.0.1:$port/small" 2>/dev/null | grep -q '1 succeeded'; then up=1; break; fi
  sleep 1
done
[ $up = 1 ] || { echo "the gateway did not serve h2 under valgrind; see $work/gateway.log" >&2; exit 2; }

# Warm-up uncounted (pools, tables, the HPACK contexts), then the counted requests.
h2load -t1 -c10 -m10 -n 20000 "https://127.0.0.1:$port/small" >/dev/null
callgrind_control -i on $vg >/dev/null 2>&1
done_line=$(h2load -t1 -c10 -m10 -n "$requests" "https://127.0.0.1:$port/small" | grep '^requests:')
callgrind_control -i off $vg >/dev/null 2>&1
callgrind_control -d $vg >/dev/null 2>&1
sleep 1
succeeded=$(echo "$done_line" | sed -E 's/.* ([0-9]+) succeeded.*/\1/')
[ "$succeeded" = "$requests" ] || { echo "only $succeeded of $requests requests succeeded: $done_line" >&2; exit 1; }
total=$(callgrind_annotate "$work/callgrind.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !seen {gsub(",", "", $1); print $1; seen = 1}')
echo "instructions per request: $(( total / requests ))  ($requests requests; profile: $work/callgrind.out.1)"
echo "top functions: callgrind_annotate $work/callgrind.out.1 | head -60"
