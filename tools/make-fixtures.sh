#!/bin/sh
# Rebuilds the spoken call-simulator fixtures (8 kHz mono 16-bit PCM WAVs) with espeak-ng and sox.
# Needs: apt-get install -y espeak-ng sox
set -eu
cd "$(dirname "$0")/sim/fixtures"
say () { # name voice text
  espeak-ng -v "$2" -s 160 -w "/tmp/talkhint-$1.wav" "$3"
  sox "/tmp/talkhint-$1.wav" -r 8000 -c 1 -b 16 -e signed-integer "$1.wav" rate -v
  rm -f "/tmp/talkhint-$1.wav"
  echo "$1.wav: $(soxi -D "$1.wav") s, $(wc -c < "$1.wav") bytes"
}
say caller en-us "Hi, I'm calling about the pricing of your premium plan. Is there a discount for annual billing?"
say operator en-gb+f3 "Thanks for calling! Yes, annual billing saves twenty percent."
