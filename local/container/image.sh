#!/usr/bin/env bash
# The Lambda Python 3.13 runtime image that `sam local invoke --invoke-image` runs here, built from
# the Debian archive and PyPI because no container registry is reachable. Skips if it exists.
#
#   image.sh            build (or keep) $INVOKE_IMAGE and print its name
#
# What makes it look like AWS's public.ecr.aws/lambda/python:3.13 to SAM and the functions:
# - /var/runtime/bootstrap starts the runtime interface client (awslambdaric) on $_HANDLER; SAM's
#   bundled emulator runs that path;
# - boto3 installed as the runtime ships it, at the versions this project's tests use;
# - PYTHONPATH covering /var/task and /opt/python (+ site-packages), where SAM mounts code and layers.
# Exit code 3 means the setup is impossible here; the message says why.
set -euo pipefail
cd "$(dirname "$0")/../.."

CONTAINER_HOME=${CONTAINER_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/voice-status-container}
ARCH=$(uname -m)
INVOKE_IMAGE=${INVOKE_IMAGE:-voice-status/lambda-python3.13:$ARCH}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
AWSLAMBDARIC=awslambdaric==4.2.2
PIP=${PIP:-.venv/bin/pip}

impossible() { echo "container setup impossible: $*" >&2; exit 3; }

if docker image inspect "$INVOKE_IMAGE" >/dev/null 2>&1; then
	echo "$INVOKE_IMAGE"
	exit 0
fi
case "$ARCH" in
x86_64) PLATFORM=manylinux2014_x86_64 ;;
aarch64) PLATFORM=manylinux2014_aarch64 ;;
*) impossible "no Lambda runtime for architecture $ARCH" ;;
esac
[ "$(id -u)" = 0 ] || impossible "building the runtime image with debootstrap needs root"
if ! command -v debootstrap >/dev/null; then
	command -v apt-get >/dev/null || impossible "no debootstrap, and no apt-get to install it"
	echo "installing debootstrap from apt" >&2
	apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2 \
		|| impossible "apt-get install debootstrap failed"
fi

ROOTFS="$CONTAINER_HOME/rootfs-$ARCH"
rm -rf "$ROOTFS"
mkdir -p "$ROOTFS"
trap 'rm -rf "$ROOTFS"' EXIT
echo "debootstrap trixie (minbase + python3) from $DEBIAN_MIRROR" >&2
debootstrap --variant=minbase --include=python3 trixie "$ROOTFS" "$DEBIAN_MIRROR" >"$CONTAINER_HOME/debootstrap.log" 2>&1 \
	|| { tail -5 "$CONTAINER_HOME/debootstrap.log" >&2; impossible "debootstrap failed (log: $CONTAINER_HOME/debootstrap.log)"; }
[ -x "$ROOTFS/usr/bin/python3.13" ] || impossible "the trixie root has no python3.13"

echo "installing $AWSLAMBDARIC and boto3 into /var/runtime" >&2
# boto3 and its dependencies at the versions requirements-dev.txt pins, as the runtime would ship them.
# The lock is hashed: each pin ends with a line continuation, which would join the pins into one
# line here, so only the pin itself is kept.
grep -E '^(boto3|botocore|s3transfer|jmespath|python-dateutil|six|urllib3)==' requirements-dev.txt \
	| cut -d' ' -f1 >"$CONTAINER_HOME/runtime-pins.txt"
"$PIP" install --quiet --no-compile --target "$ROOTFS/var/runtime" --only-binary=:all: \
	--platform "$PLATFORM" --python-version 3.13 --implementation cp \
	"$AWSLAMBDARIC" -r "$CONTAINER_HOME/runtime-pins.txt" || impossible "pip could not fetch awslambdaric/boto3"
mkdir -p "$ROOTFS/var/lang/bin" "$ROOTFS/var/task" "$ROOTFS/opt"
ln -sf /usr/bin/python3.13 "$ROOTFS/var/lang/bin/python3.13"
cat >"$ROOTFS/var/runtime/bootstrap" <<'BOOTSTRAP'
#!/bin/sh
exec /var/lang/bin/python3.13 -m awslambdaric "$_HANDLER"
BOOTSTRAP
chmod +x "$ROOTFS/var/runtime/bootstrap"
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc "$ROOTFS"/usr/share/man

echo "docker import $INVOKE_IMAGE" >&2
tar -C "$ROOTFS" -c . | docker import \
	--change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin' \
	--change 'ENV LANG=C.UTF-8' \
	--change 'ENV LAMBDA_TASK_ROOT=/var/task' \
	--change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
	--change 'ENV PYTHONPATH=/var/task:/opt/python/lib/python3.13/site-packages:/opt/python:/var/runtime' \
	--change 'WORKDIR /var/task' \
	--change 'ENTRYPOINT ["/var/runtime/bootstrap"]' \
	- "$INVOKE_IMAGE" >/dev/null
echo "$INVOKE_IMAGE"
