#!/usr/bin/env bash
# `make test-container`: the container tier (tests/container), set up idempotently, keeping what exists:
#   1. a container engine (engine.sh); a dockerd started here is stopped when the tier ends
#   2. the Lambda runtime image (image.sh), unless SAM_LOCAL_INVOKE_IMAGE names one to use
#      (empty: AWS's public image, pulled by SAM, on a machine with registry access)
#   3. `sam build` for this machine's architecture (the template's Architecture parameter)
#   4. pytest tests/container
# Where the setup is impossible it says why and skips (exit 0), never silently.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
export SAM_CLI_TELEMETRY=0

skip() {
	echo "SKIPPED: the container tier cannot run here: $*" >&2
	exit 0
}
step() { echo "== $* ($SECONDS s)" >&2; }

case "$(uname -m)" in
x86_64) ARCH=x86_64 ;;
aarch64 | arm64) ARCH=arm64 ;;
*) skip "Lambda has no architecture for $(uname -m)" ;;
esac

step "container engine"
set +e
engine=$(local/container/engine.sh start)
status=$?
set -e
[ $status = 3 ] && skip "no container engine (reason above)"
[ $status = 0 ] || exit $status
eval "$engine"
finish() {
	# SAM stops its warm containers on Ctrl-C but leaves them behind, exited.
	docker ps -aq --filter label=sam.cli.container.type --filter status=exited | xargs -r docker rm >/dev/null || true
	if [ "${CONTAINER_ENGINE_STARTED:-}" = 1 ]; then
		local/container/engine.sh stop
	fi
}
trap finish EXIT

if [ -z "${SAM_LOCAL_INVOKE_IMAGE+set}" ]; then
	step "runtime image"
	set +e
	SAM_LOCAL_INVOKE_IMAGE=$(local/container/image.sh)
	status=$?
	set -e
	[ $status = 3 ] && skip "no Lambda runtime image (reason above)"
	[ $status = 0 ] || exit $status
fi
export SAM_LOCAL_INVOKE_IMAGE

step "sam build (Architecture=$ARCH)"
# sam build installs the layer with a python3.13 from PATH: the virtualenv's when it is one.
if [ -x "$BIN/python3.13" ]; then
	PATH="$PWD/$BIN:$PATH"
elif ! python3.13 -V >/dev/null 2>&1; then
	skip "sam build needs a working python3.13 on PATH (the functions' runtime)"
fi
mkdir -p .aws-sam
"$BIN/sam" build --parameter-overrides "Architecture=$ARCH" --build-dir .aws-sam/container \
	--cache-dir .aws-sam/container-cache --cached >.aws-sam/container-build.log 2>&1 \
	|| { tail -20 .aws-sam/container-build.log >&2; exit 1; }
export SAM_LOCAL_TEMPLATE=.aws-sam/container/template.yaml SAM_LOCAL_ARCHITECTURE=$ARCH

step "tests/container"
"$BIN/pytest" tests/container -p no:cacheprovider -ra --durations=5 "$@"
step "done"
