#!/bin/sh
# Replays the committed dcep fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_dcep "$srcdir/tests/fuzz/corpus/dcep"
