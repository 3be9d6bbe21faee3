#!/bin/sh
# Replays the committed Janus API fuzz corpus.
exec ./tests/fuzz/replay_api "$srcdir/tests/fuzz/corpus/api"
