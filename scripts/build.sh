# Sourced by the bench scripts: build BIN PACKAGE builds the binary BIN
# from PACKAGE (static, paths trimmed) when it is missing, so that a
# binary given in EDGE_BIN is used as it is.
build() {
  if [ ! -x "$1" ]; then
    echo "== building $1"
    mkdir -p "$(dirname "$1")" && CGO_ENABLED=0 go build -trimpath -o "$1" "$2"
  fi
}
