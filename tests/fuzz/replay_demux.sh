#!/bin/sh
# Replays the committed demux fuzz corpus (seeds and crash reproducers).
exec ./tests/fuzz/replay_demux "$srcdir/tests/fuzz/corpus/demux"
