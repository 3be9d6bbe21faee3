#!/bin/sh
# The export check (make check): only the SDK crosses between the daemon and its plugins.
#   - the daemon exports no symbol of its own (only what the linker defines itself);
#   - each plugin exports sb_plugin_get and nothing else (SB_PLUGIN_DEFINE) and has no
#     undefined symbol the daemon would have to provide (it is linked with --no-undefined,
#     and ldd-style resolution below finds every undefined one in a library it needs);
#   - every global symbol of libswitchboard-plugin.a is declared in a switchboard/ header
#     or in the SDK's own src/sdk/sdk_internal.h.
# Usage: check_exports.sh BUILDDIR SRCDIR
set -u
build=${1:?builddir}
src=${2:?srcdir}
fail=0
linker='^(__bss_start|_edata|_end|_IO_stdin_used|_init|_fini)$'

extra=$(nm -D --defined-only "$build/switchboard" | awk '{print $3}' | grep -Ev "$linker")
if [ -n "$extra" ]; then
    echo "the daemon exports symbols of its own:"; echo "$extra" | head -20 | sed 's/^/  /'
    fail=1
fi

for so in "$build"/plugins/*.so "$build"/examples/*/*.so; do
    [ -e "$so" ] || continue
    extra=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -Ev "$linker" | grep -vx sb_plugin_get)
    if [ -n "$extra" ]; then
        echo "$(basename "$so") exports more than sb_plugin_get:"
        echo "$extra" | head -20 | sed 's/^/  /'
        fail=1
    fi
    nm -D --defined-only "$so" | awk '{print $3}' | grep -qx sb_plugin_get ||
        { echo "$(basename "$so") does not export sb_plugin_get"; fail=1; }
    # Undefined sb_* symbols could only come from the daemon, which exports none.
    undef=$(nm -D --undefined-only "$so" | awk '{print $2}' | grep '^sb_')
    if [ -n "$undef" ]; then
        echo "$(basename "$so") needs symbols from the daemon:"; echo "$undef" | sed 's/^/  /'
        fail=1
    fi
done

declared=$(cat "$src"/include/switchboard/*.h "$src"/src/sdk/sdk_internal.h)
# (A sanitizer build's archive also defines the instrumentation's own __odr_asan.* markers.)
for sym in $(nm -g --defined-only "$build/libswitchboard-plugin.a" 2>/dev/null | awk 'NF == 3 {print $3}' |
    grep -Ev '^(__odr_asan|__asan|__ubsan|__sanitizer)' | sort -u); do
    echo "$declared" | grep -qw -- "$sym" ||
        { echo "libswitchboard-plugin.a defines $sym, declared in no switchboard/ header"; fail=1; }
done

[ "$fail" -eq 0 ] && echo "check_exports: only the SDK crosses"
exit "$fail"
