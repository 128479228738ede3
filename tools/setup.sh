#!/usr/bin/env bash
# Installs what the runtime's build, tests and demo need on a Debian machine:
# the Mesa CPU Vulkan driver (lavapipe) for the GPU tests, ffmpeg for the camera tests,
# libclang for the V4L2 bindings, and Python's gguf package for the third-party reader test. Idempotent; run as root.
set -euo pipefail

need_apt=()
[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || [ -e /usr/share/vulkan/icd.d/lvp_icd.aarch64.json ] \
  || ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || need_apt+=(mesa-vulkan-drivers)
ldconfig -p | grep -q 'libvulkan.so.1' || need_apt+=(libvulkan1)
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
# The v4l crate generates its V4L2 bindings with bindgen, which needs libclang.
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || ls /usr/lib/*/libclang*.so* >/dev/null 2>&1 || need_apt+=(libclang-dev)
[ -e /usr/include/linux/videodev2.h ] || need_apt+=(linux-libc-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi
# The CPU-adapter kernels are tuned on lavapipe from Mesa 25 (subgroups of 8; BENCHMARKS.md);
# Debian 12's own Mesa 22 ran the register-tiled matmul about 3x slower. On Debian 12, take Mesa
# from bookworm-backports unless TWINVLA_SYSTEM_MESA=1.
mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo 0)
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
if [ "${TWINVLA_SYSTEM_MESA:-0}" != 1 ] && [ "$codename" = bookworm ] \
  && dpkg --compare-versions "$mesa" lt 24; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  list=/etc/apt/sources.list.d/bookworm-backports.sources
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' \
      'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
      | $SUDO tee "$list" >/dev/null
  fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    -t bookworm-backports mesa-vulkan-drivers
fi
if ! command -v gguf-dump >/dev/null; then
  python3 -m pip install -q gguf
fi
echo "setup: Vulkan loader, lavapipe (mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo '?')), ffmpeg, libclang and gguf-dump are present"
