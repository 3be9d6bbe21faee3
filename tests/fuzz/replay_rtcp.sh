#!/bin/sh
# Replays the committed rtcp fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_rtcp "$srcdir/tests/fuzz/corpus/rtcp"
