#!/usr/bin/env bash
# CPU profile of microtune under the benchmark's load, one profile per phase.
#
#   bench/profile.sh                   # phases ns (non-stream, c=64) and stream (c=16)
#   PROFILE_PHASES=ns,stream,paced PROFILE_DURATION=20 bench/profile.sh
#   PROFILE_TARGET=fastify-undici bench/profile.sh    # the naive baseline, for comparison
#
# For each phase it starts the harness's mock upstream (CPU 0) and the target with
# `node --cpu-prof` (CPU 1), and runs wrk (CPU 0) for PROFILE_DURATION seconds (default 15).
# Then it stops the target with SIGTERM, which writes the profile, and prints the top
# self-time functions and the time per area (bench/profile-summary.mjs). Profiles go to
# bench/results/profile-<stamp>/ (git-ignored); open them in Chrome DevTools for the call tree.
# The mock comes from the harness (MICROTUNE_SHARED_BENCH, default <repo>/../shared/bench);
# the fastify-undici target needs the harness's npm packages, which bench/run.sh installs
# into BENCH_SCRATCH. Everything listens on 127.0.0.1; every process started here is stopped
# by its process id at the end.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${MICROTUNE_SHARED_BENCH:-$REPO/../shared/bench}"
SCRATCH="${BENCH_SCRATCH:-${TMPDIR:-/tmp}/microtune-bench-harness}"
DURATION="${PROFILE_DURATION:-15}"
PHASES="${PROFILE_PHASES:-ns,stream}"
TARGET="${PROFILE_TARGET:-microtune}"
MOCK_PORT="${MOCK_PORT:-18080}"
PORT="${MICROTUNE_BENCH_PORT:-8787}"
OUT="${OUT_DIR:-$REPO/bench/results}/profile-$(date -u +%Y-%m-%dT%H-%M-%S)-$TARGET"

[ -f "$SHARED/mock-upstream.mjs" ] || { echo "bench/profile.sh: no mock upstream at $SHARED/mock-upstream.mjs; set MICROTUNE_SHARED_BENCH" >&2; exit 2; }
command -v wrk >/dev/null || { echo "bench/profile.sh: wrk not found (apt-get install wrk)" >&2; exit 2; }
case "$TARGET" in
  microtune) ;;
  fastify-undici)
    [ -f "$SCRATCH/node_modules/fastify/package.json" ] || { echo "bench/profile.sh: no harness npm packages in $SCRATCH; run bench/run.sh once first" >&2; exit 2; } ;;
  *) echo "bench/profile.sh: PROFILE_TARGET is \"$TARGET\"; it must be microtune or fastify-undici" >&2; exit 2 ;;
esac

PIN0=(); PIN1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN0=(taskset -c 0); PIN1=(taskset -c 1); fi

mkdir -p "$OUT"
pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap stop_all EXIT

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench/profile.sh: nothing listens on 127.0.0.1:$1 after 10 s (see $OUT/*.log)" >&2
  return 1
}

if [ "$TARGET" = microtune ]; then
  (cd "$REPO" && npm run --silent build)
fi
USER_MSG='请用三句话介绍一下杭州的西湖。'
if [ "$TARGET" = microtune ]; then MODEL='microtune-bench:chunks=64'; PACED_MODEL='microtune-bench:chunks=64,delay=5'
else MODEL='bench-model:chunks=64'; PACED_MODEL='bench-model:chunks=64,delay=5'; fi
printf '{"model":"%s","messages":[{"role":"user","content":"%s"}],"stream":false}' "$MODEL" "$USER_MSG" > "$OUT/body-ns.json"
printf '{"model":"%s","messages":[{"role":"user","content":"%s"}],"stream":true,"stream_options":{"include_usage":true}}' "$MODEL" "$USER_MSG" > "$OUT/body-stream.json"
printf '{"model":"%s","messages":[{"role":"user","content":"%s"}],"stream":true,"stream_options":{"include_usage":true}}' "$PACED_MODEL" "$USER_MSG" > "$OUT/body-paced.json"

IFS=',' read -r -a phase_list <<< "$PHASES"
for phase in "${phase_list[@]}"; do
  case "$phase" in
    ns) conc=64; body=ns ;;
    stream) conc=16; body=stream ;;
    paced) conc=16; body=paced ;;
    *) echo "bench/profile.sh: unknown phase \"$phase\" in PROFILE_PHASES; use ns, stream or paced" >&2; exit 2 ;;
  esac
  dir="$OUT/$phase"
  mkdir -p "$dir"
  MOCK_HOST=127.0.0.1 MOCK_PORT="$MOCK_PORT" "${PIN0[@]}" node "$SHARED/mock-upstream.mjs" > "$dir/mock.log" 2>&1 &
  pids+=($!)
  wait_port "$MOCK_PORT"
  if [ "$TARGET" = microtune ]; then
    (cd "$REPO" && UPSTREAM_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" MICROTUNE_CONFIG=bench/microtune.bench.yaml \
      LOG_LEVEL=info HOST=127.0.0.1 PORT="$PORT" exec "${PIN1[@]}" node --cpu-prof --cpu-prof-dir="$dir" dist/main.js) > "$dir/target.log" 2>&1 &
  else
    (UPSTREAM_URL="http://127.0.0.1:$MOCK_PORT" HOST=127.0.0.1 PORT="$PORT" \
      exec "${PIN1[@]}" node --cpu-prof --cpu-prof-dir="$dir" "$SCRATCH/peers/fastify-undici.mjs") > "$dir/target.log" 2>&1 &
  fi
  pids+=($!)
  wait_port "$PORT"
  echo "bench/profile.sh: $TARGET, phase $phase: wrk -c$conc for ${DURATION} s" >&2
  BENCH_BODY_FILE="$OUT/body-$body.json" "${PIN0[@]}" wrk -t1 "-c$conc" "-d${DURATION}s" --timeout 10s \
    -s "$SHARED/lib/wrk-report.lua" -H 'Authorization: Bearer sk-bench-not-a-real-key' \
    "http://127.0.0.1:$PORT/v1/chat/completions" > "$dir/wrk.txt"
  grep '^BENCHJSON' "$dir/wrk.txt" | cut -c10- >&2 || true
  stop_all
  node "$REPO/bench/profile-summary.mjs" "$dir"/*.cpuprofile | tee "$dir/summary.txt"
done
echo "bench/profile.sh: profiles in $OUT" >&2
