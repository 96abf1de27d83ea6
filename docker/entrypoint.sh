#!/bin/sh
# The container's entry point: `goqueue broker` with defaults that suit a container, any other
# goqueue command, or any program.
#
#   docker run goqueue                      -> goqueue broker
#   docker run goqueue --broker-id 2 ...    -> goqueue broker --broker-id 2 ...
#   docker run goqueue topic list ...       -> goqueue topic list ...
#   docker run goqueue sh                   -> sh
#
# Settings are the broker's own GOQUEUE_* variables (docs/configuration.md); flags still win.
# Only these defaults differ from a broker started by hand: listen on every interface (a
# container's loopback is its own), advertise the container's host name, keep data in the volume.
set -eu

: "${GOQUEUE_DATA_DIR:=/var/lib/goqueue}"
: "${GOQUEUE_CLIENT_ADDR:=0.0.0.0:9092}"
: "${GOQUEUE_RAFT_ADDR:=0.0.0.0:9093}"
# The advertised port defaults to the listener's port (the text after the last colon).
container_host=$(cat /etc/hostname 2>/dev/null || hostname)
: "${GOQUEUE_ADVERTISED_ADDR:=${container_host}:${GOQUEUE_CLIENT_ADDR##*:}}"
export GOQUEUE_DATA_DIR GOQUEUE_CLIENT_ADDR GOQUEUE_RAFT_ADDR GOQUEUE_ADVERTISED_ADDR

if [ "$#" -eq 0 ]; then
  set -- broker
fi
case "$1" in
  -*) set -- goqueue broker "$@" ;;
  *)
    # Not a program on PATH: a goqueue command (broker, dev, produce, consume, topic, ...).
    if ! command -v "$1" >/dev/null 2>&1; then
      set -- goqueue "$@"
    fi
    ;;
esac
exec "$@"
