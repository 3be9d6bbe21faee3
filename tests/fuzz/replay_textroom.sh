#!/bin/sh
# Replays the committed TextRoom request fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_textroom "$srcdir/tests/fuzz/corpus/textroom"
