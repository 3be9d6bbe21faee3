#!/bin/sh
# Replays the committed srtp fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_srtp "$srcdir/tests/fuzz/corpus/srtp"
