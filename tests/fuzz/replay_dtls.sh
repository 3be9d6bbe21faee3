#!/bin/sh
# Replays the committed dtls fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_dtls "$srcdir/tests/fuzz/corpus/dtls"
