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
if ! command -v gguf-dump >/dev/null; then
  python3 -m pip install -q gguf
fi
echo "setup: Vulkan loader, lavapipe, ffmpeg, libclang and gguf-dump are present"
