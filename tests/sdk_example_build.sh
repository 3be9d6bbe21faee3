#!/bin/sh
# make check: examples/recorder builds with its own Makefile, which knows nothing of this
# tree but what pkg-config says (PKG_CONFIG_PATH=<builddir>: switchboard-plugin-uninstalled.pc),
# and the plugin it makes exports sb_plugin_get alone. tests/package/run.sh does the same
# against the installed package.
set -u
s="${srcdir:-.}"
build=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$s/examples/recorder" "$tmp/"
out=$(env -u MAKEFLAGS -u MFLAGS PKG_CONFIG_PATH="$build" make -C "$tmp/recorder" \
    CFLAGS="-O1 -Werror ${SB_SANITIZER_FLAGS:-}" LDFLAGS="${SB_SANITIZER_FLAGS:-}" 2>&1) ||
    { echo "$out"; echo "examples/recorder does not build with pkg-config alone"; exit 1; }
echo "$out" | grep -q -- "-L$build -lswitchboard-plugin" ||
    { echo "$out"; echo "the build did not take the SDK from pkg-config"; exit 1; }
exports=$(nm -D --defined-only "$tmp/recorder/recorder.so" | awk '{print $3}' |
    grep -Ev '^(__bss_start|_edata|_end|_init|_fini)$')
[ "$exports" = sb_plugin_get ] || { echo "recorder.so exports: $exports"; exit 1; }
echo "examples/recorder builds against this tree's SDK with pkg-config alone"
