#!/usr/bin/env bash
# Make sure a Docker engine answers and that `ip` (iproute2) exists.
# Idempotent: safe to call many times. On Debian as root it installs docker.io
# and iproute2 when missing and starts dockerd in the background.
set -euo pipefail

log() { echo "ensure-engine: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

is_root() { [ "$(id -u)" = "0" ]; }
is_debian() { [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; }

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = "0" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_ip() {
  command -v ip >/dev/null 2>&1 && return 0
  if is_root && is_debian; then
    log "installing iproute2"
    apt_install iproute2 || die "could not install iproute2"
  fi
  command -v ip >/dev/null 2>&1 || die "the 'ip' command (iproute2) is missing; install iproute2"
}

engine_up() { docker info >/dev/null 2>&1; }

ensure_engine() {
  engine_up && return 0
  if ! is_root || ! is_debian; then
    die "docker does not answer (docker info failed) and this is not root on Debian; start a Docker engine or set DOCKER_HOST"
  fi
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "unix:///var/run/docker.sock" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local dockerd for a non-default engine"
  fi
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    log "installing docker.io"
    apt_install docker.io || die "could not install docker.io"
  fi
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    log "starting dockerd (log: /var/log/decnet-dockerd.log)"
    nohup dockerd >>/var/log/decnet-dockerd.log 2>&1 </dev/null &
    disown || true
  else
    log "dockerd is running but not answering yet; waiting"
  fi
  for _ in $(seq 1 60); do
    engine_up && { log "docker is up"; return 0; }
    sleep 1
  done
  die "docker did not answer within 60 s; see /var/log/decnet-dockerd.log"
}

ensure_ip
ensure_engine
exit 0
