#!/usr/bin/env bash
# Build the local decnet runtime base image offline (no pulls):
#   scripts/build-runtime-base.sh [--force] [TAG]
# TAG defaults to decnet/runtime-base:<version of the root package.json>; the
# default tag (given or implied) is also tagged :latest. The image is a `docker import` of a rootfs
# holding this machine's node binary and the libraries ldd lists, busybox
# (from Debian's busybox-static) with a few applet symlinks, /etc/passwd and
# /etc/group (root, nobody), /tmp and /etc/ssl/certs when present.
# Skips the build when the tag already exists unless --force. Prints the tag.
set -euo pipefail

log() { echo "build-runtime-base: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FORCE=0
TAG=""
for arg in "$@"; do
  case "$arg" in
    --force|-f) FORCE=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) die "unknown option $arg" ;;
    *) [ -z "$TAG" ] || die "only one TAG allowed"; TAG="$arg" ;;
  esac
done

VERSION="$(node -p "require('$ROOT/package.json').version")"
DEFAULT_TAG="decnet/runtime-base:$VERSION"
ALSO_LATEST=0
[ -n "$TAG" ] || TAG="$DEFAULT_TAG"
if [ "$TAG" = "$DEFAULT_TAG" ]; then ALSO_LATEST=1; fi

docker info >/dev/null 2>&1 || die "docker does not answer; run scripts/ensure-engine.sh first"

if [ "$FORCE" = "0" ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  log "$TAG already exists (use --force to rebuild)"
  if [ "$ALSO_LATEST" = "1" ]; then docker tag "$TAG" "${TAG%:*}:latest"; fi
  echo "$TAG"
  exit 0
fi

NODE_BIN="$(readlink -f "$(command -v node)")"
[ -x "$NODE_BIN" ] || die "node binary not found"

BUSYBOX=/bin/busybox
if [ ! -x "$BUSYBOX" ] || ! dpkg -s busybox-static >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "installing busybox-static"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null 2>&1 || {
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
    }
  else
    die "busybox-static is required (apt-get install busybox-static)"
  fi
fi
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing after installing busybox-static"

WORK="$(mktemp -d /tmp/decnet-rootfs.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
RFS="$WORK/rootfs"
mkdir -p "$RFS"/{bin,usr/bin,usr/local/bin,etc,tmp,root,var/tmp,proc,sys,dev}
chmod 1777 "$RFS/tmp" "$RFS/var/tmp"

# node and the libraries it links against (paths preserved, symlinks resolved)
cp -L "$NODE_BIN" "$RFS/usr/local/bin/node"
ldd "$NODE_BIN" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u |
  while read -r lib; do
    [ -e "$lib" ] || continue
    mkdir -p "$RFS$(dirname "$lib")"
    cp -L "$lib" "$RFS$lib"
  done

# busybox and a few applets
cp -L "$BUSYBOX" "$RFS/bin/busybox"
for applet in sh sleep cat ls echo env ps id hostname mkdir rm cp mv true false nc wget grep sed head tail; do
  ln -sf busybox "$RFS/bin/$applet"
done

cat >"$RFS/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat >"$RFS/etc/group" <<'G'
root:x:0:
nogroup:x:65534:
G
if [ -d /etc/ssl/certs ]; then
  mkdir -p "$RFS/etc/ssl"
  cp -rL /etc/ssl/certs "$RFS/etc/ssl/certs" 2>/dev/null || true
fi

log "importing $TAG"
tar -C "$RFS" --numeric-owner --owner=0 --group=0 -cf - . |
  docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$TAG" >/dev/null
if [ "$ALSO_LATEST" = "1" ]; then docker tag "$TAG" "${TAG%:*}:latest"; fi
echo "$TAG"
