#!/usr/bin/env bash
# Installs the TwinVLA edge runtime on a robot: the binary, its configuration, the systemd
# unit, the udev rules, the model and the demo's tokenizer. Idempotent: files already in place
# and identical are left alone, and a configuration, udev rule or instruction file that exists
# is never overwritten (they are the robot's own). See docs/runtime.md.
#
#   tools/install.sh [--prefix DIR] [--dry-run] [--binary PATH] [--model PATH]
#                    [--no-systemctl] [--no-user]
#
#   --prefix DIR      install under DIR instead of / (for packaging and tests; implies
#                     --no-systemctl and --no-user)
#   --dry-run         print what would be done, change nothing
#   --binary PATH     the twinvla-edge binary (default: target/release/twinvla-edge)
#   --model PATH      a model file to install as /var/lib/twinvla-edge/model.gguf
#   --no-systemctl    do not reload systemd or enable the unit
#   --no-user         do not create the twinvla system user
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
prefix=""
dry_run=0
binary="$repo/target/release/twinvla-edge"
model=""
use_systemctl=1
make_user=1

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; use_systemctl=0; make_user=0; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --model) model="${2:?--model needs a path}"; shift 2 ;;
    --no-systemctl) use_systemctl=0; shift ;;
    --no-user) make_user=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [ ! -x "$binary" ]; then
  echo "install.sh: $binary is missing: build it first (cargo build --release -p twinvla-edge)" >&2
  exit 1
fi
if [ -n "$model" ] && [ ! -f "$model" ]; then
  echo "install.sh: model file $model not found" >&2
  exit 1
fi

# Prints and (unless --dry-run) runs a command.
run() {
  echo "+ $*"
  if [ "$dry_run" -eq 0 ]; then "$@"; fi
}

# put MODE SOURCE DEST [keep]: installs SOURCE as DEST unless identical; with "keep", an
# existing DEST is never replaced.
put() {
  local mode="$1" src="$2" dest="$prefix$3" keep="${4:-}"
  if [ -e "$dest" ] && [ "$keep" = keep ]; then
    echo "kept      $dest (exists; not overwritten)"
  elif [ -e "$dest" ] && cmp -s "$src" "$dest"; then
    echo "unchanged $dest"
  else
    echo "install   $src -> $dest"
    if [ "$dry_run" -eq 0 ]; then
      install -d -m 0755 "$(dirname "$dest")"
      # Copy then rename, so that a running service never sees a half-written file.
      install -m "$mode" "$src" "$dest.tmp.$$"
      mv -f "$dest.tmp.$$" "$dest"
    fi
  fi
}

put 0755 "$binary" /usr/local/bin/twinvla-edge
put 0644 "$repo/deploy/twinvla-edge.service" /etc/systemd/system/twinvla-edge.service
put 0644 "$repo/deploy/config.example.toml" /etc/twinvla-edge/config.toml keep
put 0644 "$repo/deploy/config.example.toml" /usr/local/share/doc/twinvla-edge/config.example.toml
put 0644 "$repo/deploy/udev/99-twinvla-cameras.rules" /etc/udev/rules.d/99-twinvla-cameras.rules keep
put 0644 "$repo/deploy/udev/99-twinvla-arms.rules" /etc/udev/rules.d/99-twinvla-arms.rules keep
put 0644 "$repo/docs/runtime.md" /usr/local/share/doc/twinvla-edge/runtime.md
put 0644 "$repo/docs/cameras.md" /usr/local/share/doc/twinvla-edge/cameras.md
put 0644 "$repo/assets/tokenizer/qwen2/tokenizer.json" /usr/local/share/twinvla-edge/tokenizer.json
if [ -n "$model" ]; then
  put 0644 "$model" /var/lib/twinvla-edge/model.gguf
fi

if [ "$make_user" -eq 1 ]; then
  if id twinvla >/dev/null 2>&1; then
    echo "unchanged user twinvla"
  else
    groups=""
    for g in video dialout render gpio; do
      getent group "$g" >/dev/null && groups="${groups:+$groups,}$g"
    done
    run useradd --system --no-create-home --home-dir /var/lib/twinvla-edge \
      --shell /usr/sbin/nologin ${groups:+--groups "$groups"} twinvla
  fi
  if [ -d /var/lib/twinvla-edge ]; then
    run chown -R twinvla:twinvla /var/lib/twinvla-edge
  fi
fi

if [ "$use_systemctl" -eq 1 ] && command -v systemctl >/dev/null; then
  run systemctl daemon-reload
  run systemctl enable twinvla-edge.service
  if command -v udevadm >/dev/null; then
    run udevadm control --reload
  fi
  echo "installed: start with 'systemctl start twinvla-edge', watch with 'journalctl -u twinvla-edge -f'"
else
  echo "installed under ${prefix:-/} (systemd not touched)"
fi
