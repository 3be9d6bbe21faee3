#!/bin/sh
# make check: the layering and size checks over the source tree (scripts/check_layers.py,
# scripts/check_sizes.py) and the export check over this build (scripts/check_exports.sh).
s="${srcdir:-.}"
rc=0
python3 "$s/scripts/check_layers.py" "$s" || rc=1
python3 "$s/scripts/check_sizes.py" "$s" || rc=1
sh "$s/scripts/check_exports.sh" . "$s" || rc=1
exit $rc
