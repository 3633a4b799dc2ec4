#!/usr/bin/env bash
# A container engine for `sam local` on this machine: use the one that answers, else start dockerd.
#
#   engine.sh start   make sure an engine answers; print `export DOCKER_HOST=...` when it is ours
#                     (with CONTAINER_ENGINE_STARTED=1 when this call started it)
#   engine.sh stop    stop the dockerd that `start` launched (nothing else)
#
# The dockerd started here keeps everything under $CONTAINER_HOME (data, exec root, socket, log) and
# runs with --iptables=false --ip-masq=false: containers reach this machine (the docker bridge) and
# nothing beyond it. Exit code 3 means the setup is impossible here; the message says why.
set -euo pipefail

CONTAINER_HOME=${CONTAINER_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/voice-status-container}
SOCKET="$CONTAINER_HOME/docker.sock"
PIDFILE="$CONTAINER_HOME/dockerd.pid"
OURS="unix://$SOCKET"

impossible() { echo "container setup impossible: $*" >&2; exit 3; }

answers() { timeout 20 docker ${1:+-H "$1"} info >/dev/null 2>&1; }

install_engine() {
	command -v dockerd >/dev/null && command -v docker >/dev/null && return
	[ "$(id -u)" = 0 ] || impossible "no dockerd, and installing docker.io needs root"
	command -v apt-get >/dev/null || impossible "no dockerd, and no apt-get to install docker.io"
	echo "installing docker.io from apt" >&2
	apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >&2 \
		|| impossible "apt-get install docker.io failed"
}

start() {
	if [ -z "${DOCKER_HOST:-}" ] && answers ""; then
		echo "using the container engine that answers at the default socket" >&2
		return
	fi
	if answers "$OURS"; then
		echo "export DOCKER_HOST=$OURS"
		return
	fi
	install_engine
	[ "$(id -u)" = 0 ] || impossible "starting dockerd needs root"
	mkdir -p "$CONTAINER_HOME"
	echo "starting dockerd (log: $CONTAINER_HOME/dockerd.log)" >&2
	setsid dockerd --host "$OURS" --data-root "$CONTAINER_HOME/data" --exec-root "$CONTAINER_HOME/exec" \
		--pidfile "$PIDFILE" --iptables=false --ip6tables=false --ip-masq=false \
		>"$CONTAINER_HOME/dockerd.log" 2>&1 </dev/null &
	local deadline=$((SECONDS + 60))
	until answers "$OURS"; do
		if ! kill -0 $! 2>/dev/null; then
			tail -5 "$CONTAINER_HOME/dockerd.log" >&2
			impossible "dockerd exited at start (its log above)"
		fi
		[ $SECONDS -lt $deadline ] || impossible "dockerd did not answer within 60 s"
		sleep 0.5
	done
	echo "export DOCKER_HOST=$OURS CONTAINER_ENGINE_STARTED=1"
}

stop() {
	[ -f "$PIDFILE" ] || return 0
	local pid
	pid=$(cat "$PIDFILE")
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { echo "dockerd stopped" >&2; return 0; }; sleep 0.2; done
	echo "dockerd $pid did not stop within 20 s" >&2
	return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
