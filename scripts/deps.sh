#!/usr/bin/env bash
# deps.sh — installs the Debian packages vtap needs to build, test and demo.
# As root it installs what is missing with apt-get; otherwise it lists the
# missing packages and the command that installs them, and fails.
set -eu

# Build: compilers, meson/ninja, libraries, BPF toolchain, fuzzing runtime.
BUILD_PKGS="gcc make clang llvm lld libclang-rt-14-dev meson ninja-build pkg-config
  libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev liblz4-dev libvirt-dev libpcap-dev libssl-dev"
# Run: the lab and the tests' real peers and traffic generators.
RUN_PKGS="iproute2 iputils-ping iputils-arping tcpdump tshark iperf3 nmap hping3 ethtool
  nfdump softflowd tcpreplay libvirt-clients curl jq python3 procps psmisc netcat-openbsd
  util-linux"

want=$(echo $BUILD_PKGS $RUN_PKGS | tr ' ' '\n' | sort -u)
missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$st" in ii*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "vtap needs these Debian packages:$missing" >&2
	echo "install them as root with:" >&2
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, quietly.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done" >&2
