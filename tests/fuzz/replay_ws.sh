#!/bin/sh
# Replays the committed ws fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_ws "$srcdir/tests/fuzz/corpus/ws"
