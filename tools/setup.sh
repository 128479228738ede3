#!/usr/bin/env bash
# Installs what the runtime's build, tests and demo need on a Debian machine:
# the Mesa CPU Vulkan driver (lavapipe) for the GPU tests, ffmpeg for the camera tests,
# and Python's gguf package for the third-party reader test. Idempotent; run as root.
set -euo pipefail

need_apt=()
[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || [ -e /usr/share/vulkan/icd.d/lvp_icd.aarch64.json ] \
  || ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || need_apt+=(mesa-vulkan-drivers)
ldconfig -p | grep -q 'libvulkan.so.1' || need_apt+=(libvulkan1)
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi
if ! command -v gguf-dump >/dev/null; then
  python3 -m pip install -q gguf
fi
echo "setup: Vulkan loader, lavapipe, ffmpeg and gguf-dump are present"
