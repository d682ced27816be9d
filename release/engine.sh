# shellcheck shell=bash
# A Docker engine for the local image scripts (release/image, release/image-test); sourced, not run.
#
# engine_require   installs Debian's docker.io and debootstrap if missing, picks a client that
#                  builds with BuildKit (sets DOCKER and the array DOCKER_BUILD);
# engine_start     uses the engine that answers (DOCKER_HOST, else the default socket), or starts
#                  dockerd with its data root, pid file and log under .cache/docker (its sockets
#                  under /run) and stops it again when the sourcing script exits.
#
# The started engine uses the vfs storage driver (no overlay mounts needed) and no default
# bridge: builds and containers use the host's network or none, except the private networks
# the compose backend makes. Its iptables rules stay on: without them a Docker 20.10
# `--internal` network still has a default route through the host (which forwards), so it
# would be neither internal nor could a container be cut off one by disconnecting it.
#
# The functions and DOCKER_BUILD are used by the scripts that source this file and from traps.
# shellcheck disable=SC2034,SC2317

engine_root="${ENGINE_REPO_ROOT:?set ENGINE_REPO_ROOT before sourcing release/engine.sh}"
engine_cache="${engine_root}/.cache/docker"
# Sockets live in /run, one directory per checkout: under a deep checkout they could outgrow
# the 107 bytes a socket path may have.
engine_run="/run/sequencer-watchdog-docker.$(printf '%s' "${engine_root}" | sha256sum | cut -c1-12)"
engine_socket="${engine_run}/docker.sock"
engine_pidfile="${engine_cache}/dockerd.pid"
engine_log="${engine_cache}/dockerd.log"
engine_started_pid=""
engine_exit_hooks=()

# Runs "$@" when the sourcing script exits (before the engine it started is stopped).
engine_at_exit() { engine_exit_hooks+=("$(printf '%q ' "$@")"); }

engine_exit() {
    local hook
    for hook in "${engine_exit_hooks[@]}"; do eval "${hook}" || true; done
    engine_stop
}
trap engine_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

engine_say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
engine_die() {
    engine_say "error: $*"
    exit 1
}

# Whether a client at $1 builds with BuildKit: through the buildx plugin, or because it is older
# than Docker 23 and has BuildKit built in (Debian bookworm's docker.io is 20.10).
engine_client_builds() {
    local client="$1" version
    [ -x "${client}" ] || return 1
    "${client}" buildx version >/dev/null 2>&1 && return 0
    # `docker version` fails when no engine answers yet, after printing the client's version.
    version="$("${client}" version --format '{{.Client.Version}}' 2>/dev/null || true)"
    [ "${version%%.*}" -lt 23 ] 2>/dev/null
}

engine_pick_client() {
    local client
    for client in "$(command -v docker || true)" /usr/bin/docker; do
        if engine_client_builds "${client}"; then
            DOCKER="${client}"
            if "${client}" buildx version >/dev/null 2>&1; then
                DOCKER_BUILD=("${client}" buildx build --load)
            else
                DOCKER_BUILD=(env DOCKER_BUILDKIT=1 "${client}" build)
            fi
            return 0
        fi
    done
    return 1
}

engine_apt_install() {
    [ "$(id -u)" -eq 0 ] || engine_die "$* missing, and only root can install it (apt-get install $*)"
    engine_say "installing $* (Debian packages)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

engine_require() {
    local missing=()
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if ! command -v dockerd >/dev/null || ! engine_pick_client; then
        missing+=(docker.io)
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        engine_apt_install "${missing[@]}"
    fi
    if ! engine_pick_client; then
        # Debian's docker.io from trixie on is a client that builds only through buildx.
        engine_apt_install docker-buildx
        engine_pick_client || engine_die "no docker client here can build with BuildKit"
    fi
    export DOCKER
}

engine_answers() { "${DOCKER}" info >/dev/null 2>&1; }

# Stops what engine_start started: dockerd, then (if it outlived dockerd) its containerd.
engine_stop() {
    local pid="${engine_started_pid}" containerd_pid deadline
    [ -n "${pid}" ] || return 0
    engine_started_pid=""
    containerd_pid="$(cat "${engine_run}/containerd/containerd.pid" 2>/dev/null || true)"
    kill -TERM "${pid}" 2>/dev/null || true
    deadline=$((SECONDS + 30))
    while kill -0 "${pid}" 2>/dev/null && [ "${SECONDS}" -lt "${deadline}" ]; do sleep 0.2; done
    if kill -0 "${pid}" 2>/dev/null; then
        engine_say "dockerd (pid ${pid}) did not stop in 30 s; killing it"
        kill -KILL "${pid}" 2>/dev/null || true
    fi
    wait "${pid}" 2>/dev/null || true
    if [ -n "${containerd_pid}" ] && kill -0 "${containerd_pid}" 2>/dev/null; then
        kill -TERM "${containerd_pid}" 2>/dev/null || true
    fi
    # dockerd leaves the host's network namespace bind-mounted in its exec root.
    if mountpoint -q "${engine_run}/netns/default" 2>/dev/null; then
        umount "${engine_run}/netns/default" || true
    fi
    rm -rf --one-file-system "${engine_run}" 2>/dev/null || true
    engine_say "stopped dockerd (pid ${pid})"
}

# A dockerd left behind by an interrupted run of these scripts (its pid file still names it).
engine_stop_leftover() {
    local pid
    pid="$(cat "${engine_pidfile}" 2>/dev/null || true)"
    if [ -n "${pid}" ] && [ "$(cat "/proc/${pid}/comm" 2>/dev/null)" = dockerd ]; then
        engine_say "a dockerd an earlier run left is still running (pid ${pid})"
        engine_started_pid="${pid}"
        engine_stop
    fi
    rm -f "${engine_pidfile}"
}

engine_start() {
    if engine_answers; then
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || engine_die "no Docker engine answers, and only root can start one"
    engine_stop_leftover
    mkdir -p "${engine_cache}/data" "${engine_run}"
    engine_say "starting dockerd (data root ${engine_cache}/data, log ${engine_log})"
    # In a session of its own: a signal to the script's process group (Ctrl-C, a CI timeout)
    # must leave the engine to the exit trap, which still needs it to remove what it made.
    setsid dockerd --data-root "${engine_cache}/data" --exec-root "${engine_run}" \
        --pidfile "${engine_pidfile}" --host "unix://${engine_socket}" \
        --storage-driver vfs --bridge none --iptables=true --ip6tables=false \
        --log-level warn >"${engine_log}" 2>&1 &
    engine_started_pid=$!
    export DOCKER_HOST="unix://${engine_socket}"
    local deadline=$((SECONDS + 60))
    until engine_answers; do
        if ! kill -0 "${engine_started_pid}" 2>/dev/null; then
            tail -n 20 "${engine_log}" >&2
            engine_die "dockerd exited while starting (log above)"
        fi
        [ "${SECONDS}" -lt "${deadline}" ] || engine_die "dockerd did not answer within 60 s (${engine_log})"
        sleep 0.2
    done
}
