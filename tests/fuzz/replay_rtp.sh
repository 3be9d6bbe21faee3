#!/bin/sh
# Replays the committed rtp fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_rtp "$srcdir/tests/fuzz/corpus/rtp"
