# Sourced by the bench scripts.

# build BIN PACKAGE builds the binary BIN from PACKAGE (static, paths
# trimmed) when it is missing, so that a binary given in EDGE_BIN is used
# as it is.
build() {
  if [ ! -x "$1" ]; then
    echo "== building $1"
    mkdir -p "$(dirname "$1")" && CGO_ENABLED=0 go build -trimpath -o "$1" "$2"
  fi
}

# clean_up_at_exit DIR: when the script ends, the processes whose pids it
# appended to the array pids are killed and waited for, and DIR is removed;
# an interrupt stops the whole script, not only the part running.
pids=()
clean_up_at_exit() {
  _cleanup_dir=$1
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$_cleanup_dir"' EXIT
  trap 'exit 130' INT TERM
}
