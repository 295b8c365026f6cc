#!/usr/bin/env bash
# Runs the side-by-side proxy benchmark with microtune as one more target.
#
#   bench/run.sh                                  # one round, about 7 minutes
#   ROUNDS=3 PROBE_DURATION=8 bench/run.sh        # the run in docs/BENCHMARKS.md, about 22 minutes
#   bench/run.sh --quick                          # 3 s runs, 1 round: a smoke test
#
# Steps: copy the harness (MICROTUNE_SHARED_BENCH, default <repo>/../shared/bench) to a
# scratch folder (BENCH_SCRATCH, default ${TMPDIR:-/tmp}/microtune-bench-harness), because
# the harness installs npm packages and writes beside itself; build microtune; run the
# harness with the peers in BENCH_TARGETS plus microtune, started as `node dist/main.js` with
# MICROTUNE_CONFIG=bench/microtune.bench.yaml on 127.0.0.1:${MICROTUNE_BENCH_PORT:-8787}.
# Arguments (--quick, --rounds N, --duration S) and the harness's environment settings
# (ROUNDS, DURATION, PROBE_DURATION, PIN, ...) pass through. Results go to bench/results/
# (git-ignored) unless OUT_DIR is set. Every server listens on 127.0.0.1, every load run is
# bounded in time, and the harness stops every process it started.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${MICROTUNE_SHARED_BENCH:-$REPO/../shared/bench}"
SCRATCH="${BENCH_SCRATCH:-${TMPDIR:-/tmp}/microtune-bench-harness}"
TARGETS="${BENCH_TARGETS:-direct nginx portkey fastify-replyfrom fastify-undici}"
PORT="${MICROTUNE_BENCH_PORT:-8787}"

if [ ! -x "$SHARED/run.sh" ] || [ ! -f "$SHARED/lib/run.mjs" ]; then
  echo "bench/run.sh: no benchmark harness at $SHARED (expected run.sh and lib/run.mjs);" \
    "set MICROTUNE_SHARED_BENCH to the harness folder" >&2
  exit 2
fi

# Refresh the scratch copy but keep its node_modules, unless the harness's lockfile changed.
mkdir -p "$SCRATCH"
if [ -d "$SCRATCH/node_modules" ] && ! cmp -s "$SHARED/package-lock.json" "$SCRATCH/node_modules/.microtune-bench-lock.json"; then
  echo "bench/run.sh: the harness's package-lock.json changed; reinstalling its npm packages" >&2
  rm -rf "$SCRATCH/node_modules"
fi
# The harness's files are read-only where it is shared, so the copy is made writable first.
find "$SCRATCH" -mindepth 1 -maxdepth 1 ! -name node_modules ! -name results -exec chmod -R u+w {} + -exec rm -rf {} +
tar -C "$SHARED" --exclude=./node_modules --exclude=./results -cf - . | tar -C "$SCRATCH" -xf -
find "$SCRATCH" -mindepth 1 -maxdepth 1 ! -name node_modules ! -name results -exec chmod -R u+w {} +

# wrk and nginx come from Debian packages; the harness's setup.sh installs them (as root or
# with sudo) together with its npm packages.
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  echo "bench/run.sh: wrk or nginx is missing; running the harness's setup.sh (apt-get install wrk nginx)" >&2
  "$SCRATCH/setup.sh"
fi
if [ ! -f "$SCRATCH/node_modules/fastify/package.json" ]; then
  (cd "$SCRATCH" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
cp "$SHARED/package-lock.json" "$SCRATCH/node_modules/.microtune-bench-lock.json"

echo "bench/run.sh: building microtune" >&2
(cd "$REPO" && npm run --silent build)

# The aliases in bench/microtune.bench.yaml carry the mock's stream options in their names,
# because the harness sends these names to every target (see that file).
if [ "${MOCK_CHUNKS:-64}" != "64" ] || [ "${PACED_DELAY_MS:-5}" != "5" ]; then
  echo "bench/run.sh: MOCK_CHUNKS=${MOCK_CHUNKS:-64} PACED_DELAY_MS=${PACED_DELAY_MS:-5}, but the aliases in" \
    "bench/microtune.bench.yaml are for 64 chunks and 5 ms; add aliases for the new values first" >&2
  exit 2
fi
export BENCH_MODEL="microtune-bench:chunks=64"
export BENCH_PACED_MODEL="microtune-bench:chunks=64,delay=5"
export OUT_DIR="${OUT_DIR:-$REPO/bench/results}"
# The harness runs --cmd with `sh -c` from the directory run.sh was called in, with
# UPSTREAM_BASE_URL, HOST and PORT set. LOG_LEVEL=info is microtune's default, and it is set
# here so that an exported LOG_LEVEL cannot turn request logging off.
cd "$REPO"
# shellcheck disable=SC2086 # TARGETS is a space-separated list of target names
exec "$SCRATCH/run.sh" $TARGETS "microtune=http://127.0.0.1:$PORT" \
  --cmd "MICROTUNE_CONFIG=bench/microtune.bench.yaml LOG_LEVEL=info exec node dist/main.js" "$@"
