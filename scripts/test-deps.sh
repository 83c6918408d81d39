#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (real clients for the attacker
# namespace, Redis, iproute2, busybox for the local runtime image). Idempotent.
set -euo pipefail
pkgs=(iproute2 iputils-ping busybox-static redis-server redis-tools openssh-client sshpass curl
      default-mysql-client swaks netcat-openbsd ftp telnet procps
      nmap smbclient samba-common-bin nbtscan python3-impacket ldap-utils freerdp2-x11
      dnsutils python3-dnspython xvfb xauth
      postgresql-client python3-pymongo docker.io openssl
      hydra snmp tftp-hpa mosquitto-clients sipsak sipvicious docker-registry apache2-utils)
# kubectl: Debian's kubernetes-client, unless a kubectl is already installed (its package owns /usr/bin/kubectl)
command -v kubectl >/dev/null || pkgs+=(kubernetes-client)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "test-deps: missing ${missing[*]} and cannot apt-get install them (need root on Debian)" >&2
    exit 1
  fi
  echo "test-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
