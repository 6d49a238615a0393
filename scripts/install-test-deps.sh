#!/usr/bin/env bash
# Installs the system packages the test suite needs (Debian 12): git (with http-backend), OpenSSH's
# ssh-keygen, GnuPG, curl, OpenSSL (a private CA for the HTTPS store tests, and the FileHash of a local Nix
# cache's NARs), systemd-analyze (the example unit is verified), and Ceph's S3 gateway for a real
# single-node RGW on 127.0.0.1 (monmaptool comes with ceph-base, ceph-authtool with ceph-common), and Nix
# (Debian's nix-bin: the Nix binary cache tests build, sign and copy real closures, and the fetch bench runs it
# as the peer), Chromium (the fleet page is tested in a real headless browser over the DevTools protocol),
# zsh and fish (the completion scripts `flotilla completion` writes are loaded in each shell), and GNU time (the
# fetch bench reads each process's peak RSS from it), and zstd, xz-utils and bzip2 (Nix NARs are decompressed
# by the system tools when present), and util-linux-extra's fincore (tests see that large files were written
# with O_DIRECT: none of their blocks are left in the page cache).
# Idempotent: installs only what is missing, so `npm test` runs it first (pretest) at almost no cost.
# Needs root (or sudo) only when something is missing.
set -euo pipefail
need=()
command -v git >/dev/null || need+=(git)
[ -x "$(git --exec-path 2>/dev/null)/git-http-backend" ] || need+=(git)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v gpg >/dev/null || need+=(gnupg)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
command -v radosgw >/dev/null || need+=(radosgw)
command -v ceph-mon >/dev/null || need+=(ceph-mon)
command -v ceph-osd >/dev/null || need+=(ceph-osd)
command -v ceph >/dev/null || need+=(ceph-common)
command -v monmaptool >/dev/null || need+=(ceph-base)
command -v ceph-authtool >/dev/null || need+=(ceph-common)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v nix-store >/dev/null || need+=(nix-bin)
# Nix caches' zstd/xz/bzip2 NARs are decompressed by these tools when present (the npm libraries otherwise).
command -v zstd >/dev/null || need+=(zstd)
command -v xz >/dev/null || need+=(xz-utils)
command -v bzip2 >/dev/null || need+=(bzip2)
command -v chromium >/dev/null || need+=(chromium)
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
[ -x /usr/bin/time ] || need+=(time)
command -v fincore >/dev/null || need+=(util-linux-extra)
# Nix makes its state directory's links on its first use, and two first uses at once race (one fails:
# "creating symlink from '/nix/var/nix/gcroots/profiles' … File exists", seen): the test files start Nix
# concurrently, so its first use is made here, once, by root (who owns /nix).
init_nix() {
  if [ ! -d /nix/var/nix/gcroots ] && [ "$(id -u)" -eq 0 ] && command -v nix-store >/dev/null; then
    NIX_CONFIG='build-users-group =' nix-store --init
  fi
}
if [ ${#need[@]} -eq 0 ]; then
  init_nix
  echo "install-test-deps: everything present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-test-deps: missing ${need[*]}; run this script as root (apt-get install ${need[*]})" >&2
    exit 1
  fi
  sudo="sudo"
fi
echo "install-test-deps: installing ${need[*]}"
$sudo apt-get update -qq
# Deduplicate (a package may be named twice) and install.
mapfile -t pkgs < <(printf '%s\n' "${need[@]}" | sort -u)
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
init_nix
