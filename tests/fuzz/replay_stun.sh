#!/bin/sh
# Replays the committed stun fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_stun "$srcdir/tests/fuzz/corpus/stun"
