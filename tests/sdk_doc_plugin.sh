#!/bin/sh
# make check: docs/plugins.md's hello.c, as an author would take it from the page, builds
# against this tree's SDK alone (include/ and libswitchboard-plugin.a) with --no-undefined,
# and exports sb_plugin_get and nothing else.
set -u
s="${srcdir:-.}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^```c$/ && !done {on = 1; next} /^```$/ && on {on = 0; done = 1} on' \
    "$s/docs/plugins.md" >"$tmp/hello.c"
grep -q 'SB_PLUGIN_DEFINE' "$tmp/hello.c" || { echo "no plugin found in docs/plugins.md"; exit 1; }
# A sanitizer build's archive is instrumented: the plugin is built as that build's are.
${CC:-cc} ${SB_SANITIZER_FLAGS:-} -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -fPIC -fvisibility=hidden \
    -I"$s/include" $(pkg-config --cflags jansson) -shared -Wl,--no-undefined \
    -o "$tmp/hello.so" "$tmp/hello.c" ./libswitchboard-plugin.a $(pkg-config --libs jansson) ||
    { echo "docs/plugins.md's hello.c does not build"; exit 1; }
exports=$(nm -D --defined-only "$tmp/hello.so" | awk '{print $3}' |
    grep -Ev '^(__bss_start|_edata|_end|_init|_fini)$')
[ "$exports" = sb_plugin_get ] || { echo "hello.so exports: $exports"; exit 1; }
echo "docs/plugins.md's plugin builds against the SDK alone"
