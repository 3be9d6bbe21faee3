#!/bin/sh
# Replays the committed sdp fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_sdp "$srcdir/tests/fuzz/corpus/sdp"
