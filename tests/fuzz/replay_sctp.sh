#!/bin/sh
# Replays the committed sctp fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_sctp "$srcdir/tests/fuzz/corpus/sctp"
