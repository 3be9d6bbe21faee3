#!/bin/sh
# Replays the committed stun_ice fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_stun_ice "$srcdir/tests/fuzz/corpus/stun_ice"
