#!/bin/sh
# Replays the committed http fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_http "$srcdir/tests/fuzz/corpus/http"
