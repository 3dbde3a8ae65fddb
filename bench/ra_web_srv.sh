#!/usr/bin/env bash
# ra-web-srv throughput against nginx in the same run, same machine, same TLS
# settings (TLS 1.3 only, ECDSA P-384 certificate, keep-alive, same worker count).
#   bench/ra_web_srv.sh [BUILD_DIR] [SECONDS_PER_RUN]
# Prints req/s and p99 latency per case, the ratio ra-web-srv / nginx, and
# attestation documents issued per second under load. nginx serves the same
# bytes as static files (the /v1/pcrs body, and the /healthz body).
set -euo pipefail
BUILD=${1:-build}
DUR=${2:-5}
SRV="$BUILD/attest/websrv/ra-web-srv"
[ -x "$SRV" ] || { echo "build ra-web-srv first ($SRV)" >&2; exit 1; }
for t in wrk nginx openssl curl python3; do command -v $t >/dev/null || { echo "$t needed" >&2; exit 1; }; done
THREADS=$(nproc)
CONNS=${CONNS:-64}
TMP=$(mktemp -d /tmp/ef-bench-websrv-XXXXXX)
chmod 755 "$TMP"  # nginx workers (nobody when started as root) read the static files
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P_TLS=$(free_port); P_PLAIN=$(free_port); N_TLS=$(free_port); N_PLAIN=$(free_port)

mkdir -m 700 "$TMP/sim"
start_srv() {  # start_srv PORT TLS(true|false)
  cat > "$TMP/srv-$1.yaml" <<YAML
listen:
  tcp: 127.0.0.1:$1
tls:
  enabled: $2
  key_type: P-384
nsm:
  mode: simulated
  state_dir: $TMP/sim
files:
  socket: ""
limits:
  io_threads: $THREADS
  max_connections: 10000
log:
  level: warn
YAML
  "$SRV" --config "$TMP/srv-$1.yaml" > "$TMP/srv-$1.log" 2>&1 &
  PIDS+=($!)
}
start_srv "$P_TLS" true
start_srv "$P_PLAIN" false
for _ in $(seq 100); do curl -skf "https://127.0.0.1:$P_TLS/healthz" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$P_PLAIN/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

# nginx: the same bytes as static files, TLS 1.3 with a P-384 certificate.
mkdir -p "$TMP/nginx/html/v1" "$TMP/nginx/logs"
curl -sf "http://127.0.0.1:$P_PLAIN/v1/pcrs" > "$TMP/nginx/html/v1/pcrs"
curl -sf "http://127.0.0.1:$P_PLAIN/healthz" > "$TMP/nginx/html/healthz"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$TMP/nginx/key.pem" \
  -out "$TMP/nginx/cert.pem" -days 1 -subj /CN=bench 2>/dev/null
cat > "$TMP/nginx/nginx.conf" <<CONF
worker_processes $THREADS;
error_log $TMP/nginx/logs/error.log warn;
pid $TMP/nginx/nginx.pid;
events { worker_connections 10000; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$N_TLS ssl;
    ssl_certificate $TMP/nginx/cert.pem;
    ssl_certificate_key $TMP/nginx/key.pem;
    ssl_protocols TLSv1.3;
    root $TMP/nginx/html;
  }
  server {
    listen 127.0.0.1:$N_PLAIN;
    root $TMP/nginx/html;
  }
}
CONF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
for _ in $(seq 100); do curl -skf "https://127.0.0.1:$N_TLS/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
cmp <(curl -sk "https://127.0.0.1:$N_TLS/v1/pcrs") <(curl -sk "https://127.0.0.1:$P_TLS/v1/pcrs") ||
  { echo "nginx and ra-web-srv bodies differ" >&2; cat "$TMP/nginx/logs/error.log" >&2; curl -skv "https://127.0.0.1:$N_TLS/v1/pcrs" >&2; exit 1; }

# run URL -> "req/s p99_ms"
run() {
  local out rps p99
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency "$1")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers from $1" >&2; fi
  echo "$rps $p99"
}

echo "ra-web-srv vs nginx: $THREADS threads/workers, $CONNS connections, ${DUR}s per run, TLS 1.3 P-384, keep-alive"
printf '%-26s %12s %9s %12s %9s %8s\n' case "srv req/s" "srv p99" "nginx req/s" "ngx p99" ratio
for scheme in https http; do
  if [ $scheme = https ]; then sp=$P_TLS; np=$N_TLS; else sp=$P_PLAIN; np=$N_PLAIN; fi
  for path in /healthz /v1/pcrs; do
    read -r s_rps s_p99 < <(run "$scheme://127.0.0.1:$sp$path")
    read -r n_rps n_p99 < <(run "$scheme://127.0.0.1:$np$path")
    printf '%-26s %12.0f %7.2fms %12.0f %7.2fms %8.2f\n' "$scheme $path" "$s_rps" "$s_p99" "$n_rps" "$n_p99" \
      "$(python3 -c "print($s_rps / $n_rps)")"
  done
done
before=$(curl -sk "https://127.0.0.1:$P_TLS/metrics" | awk '/^ra_web_srv_documents_issued_total/ {print $2}')
read -r a_rps a_p99 < <(run "https://127.0.0.1:$P_TLS/v1/attestation?nonce=0123456789abcdef0123456789abcdef")
after=$(curl -sk "https://127.0.0.1:$P_TLS/metrics" | awk '/^ra_web_srv_documents_issued_total/ {print $2}')
printf 'attestation documents (simulated NSM, ES384): %.0f docs/s (p99 %.2f ms; %d issued per the metrics)\n' \
  "$a_rps" "$a_p99" "$((after - before))"
