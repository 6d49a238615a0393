#!/usr/bin/env bash
# Installs the system packages the test suite needs (Debian 12): git (with http-backend), OpenSSH's
# ssh-keygen, GnuPG, curl, and Ceph's S3 gateway for a real single-node RGW on 127.0.0.1.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail
need=()
command -v git >/dev/null || need+=(git)
[ -x "$(git --exec-path 2>/dev/null)/git-http-backend" ] || need+=(git)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v gpg >/dev/null || need+=(gnupg)
command -v curl >/dev/null || need+=(curl)
command -v radosgw >/dev/null || need+=(radosgw)
command -v ceph-mon >/dev/null || need+=(ceph-mon)
command -v ceph-osd >/dev/null || need+=(ceph-osd)
command -v ceph >/dev/null || need+=(ceph-common)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-test-deps: everything present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-test-deps: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
