# The sequencer-watchdog image: the `sequencer-watchdog` binary plus the Cartesi Machine emulator
# (libcartesi), so that both machine backends (`native` and `cartesi`) work.
#
# Built by the release pipeline (BuildKit, one build per TARGETARCH: amd64, arm64):
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=0.1.0 --build-arg GIT_COMMIT="$(git rev-parse HEAD)" \
#     --tag sequencer-watchdog:v0.1.0 .
#
# Built locally by `release/image` (docs/operations.md, "Building the image locally"): this
# runtime stage with BINARY_FROM=host-binary (the binary built on the host beforehand),
# MACHINE_EMULATOR=none (the emulator's package is not downloaded) and DEBIAN_IMAGE set to a
# base image of the same suite made by debootstrap.
#
# The file has no `# syntax=` line on purpose: the Dockerfile frontend built into BuildKit
# understands everything used here, so a build needs no frontend image from a registry.
#
# Every pinned version below is a copy of release/versions.env; `release/verify` checks that they
# agree and that every path and ARG used here exists. Operations: docs/operations.md.

ARG RUST_VERSION=1.95
ARG DEBIAN_SUITE=trixie
# The base of the Debian stages: the suite's official slim image, or any image of the same suite
# (release/image passes one it made with debootstrap).
ARG DEBIAN_IMAGE=debian:${DEBIAN_SUITE}-slim
# Where the runtime stage takes its binary from: `builder` (compiled from the locked workspace)
# or `host-binary` (target/release/sequencer-watchdog, built on the host beforehand).
ARG BINARY_FROM=builder
# Whether the image has the emulator: `package` (the pinned official package, downloaded and
# checked by `emulator-package`) or `none` (local builds only: just the native backend works).
# The image says which in its label io.cartesi.machine-emulator and in RELEASE.json.
ARG MACHINE_EMULATOR=package

# ---------------------------------------------------------------------------------------------
# Builder: compile the binary from the locked workspace.
FROM rust:${RUST_VERSION}-${DEBIAN_SUITE} AS builder
ARG GIT_COMMIT=unknown
# The watchdog's build script embeds this commit (the build context carries no .git).
ENV SEQUENCER_WATCHDOG_GIT_COMMIT=${GIT_COMMIT}
WORKDIR /src
# The whole workspace: cargo loads every member's manifest even to build one package.
COPY Cargo.toml Cargo.lock ./
COPY canonical canonical
COPY devnet devnet
COPY fixtures fixtures
COPY l1 l1
COPY machine machine
COPY sequencer-client sequencer-client
COPY watchdog watchdog
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p watchdog --bin sequencer-watchdog \
    && install -D -m 0755 target/release/sequencer-watchdog /out/sequencer-watchdog

# ---------------------------------------------------------------------------------------------
# Emulator package: download the official Debian package and check it against its pin.
FROM ${DEBIAN_IMAGE} AS emulator-package
ARG TARGETARCH
ARG CARTESI_MACHINE_VERSION=0.21.0
ARG CARTESI_MACHINE_DEB_SHA256_AMD64=5f13034f43454c340062c677146daabe77c587cee1bd60342c95b8ad8f1463a3
ARG CARTESI_MACHINE_DEB_SHA256_ARM64=866f0bde2db53b9b8e6a6eac85e5ad4116338379fa25cdfcc5e4bf835f948bb1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The suite is pinned by the base image tag; the package that matters is pinned by SHA-256.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN case "${TARGETARCH}" in \
        amd64) expected="${CARTESI_MACHINE_DEB_SHA256_AMD64}" ;; \
        arm64) expected="${CARTESI_MACHINE_DEB_SHA256_ARM64}" ;; \
        *) echo "unsupported TARGETARCH '${TARGETARCH}' (amd64 and arm64 are pinned)" >&2; exit 1 ;; \
    esac \
    && mkdir -p /package \
    && curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 \
        --output /package/machine-emulator.deb \
        "https://github.com/cartesi/machine-emulator/releases/download/v${CARTESI_MACHINE_VERSION}/machine-emulator_${TARGETARCH}.deb" \
    && echo "${expected}  /package/machine-emulator.deb" | sha256sum --check --strict

# ---------------------------------------------------------------------------------------------
# The other sources of a local build, and the two stages the runtime stage reads from.
FROM scratch AS host-binary
COPY target/release/sequencer-watchdog /out/sequencer-watchdog

FROM scratch AS emulator-none
WORKDIR /package

# Both name a stage above, not an image to pull.
# hadolint ignore=DL3006
FROM ${BINARY_FROM} AS binary
# hadolint ignore=DL3006
FROM emulator-${MACHINE_EMULATOR} AS emulator

# ---------------------------------------------------------------------------------------------
# Runtime: slim Debian, the emulator, the binary, a non-root user.
FROM ${DEBIAN_IMAGE} AS runtime
ARG MACHINE_EMULATOR
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The emulator package's own dependencies come from the suite; the package itself is the
# checked file from the emulator stage, mounted (never copied into a layer). With
# MACHINE_EMULATOR=none that stage is empty and only ca-certificates is installed. The last two
# lines make sure the dynamic loader finds libcartesi exactly when the package was installed
# (grep without -q reads all of ldconfig's output, so pipefail cannot trip on SIGPIPE).
# hadolint ignore=DL3008
RUN --mount=type=bind,from=emulator,source=/package,target=/package \
    packages=(ca-certificates) \
    && if [ "${MACHINE_EMULATOR}" = package ]; then packages+=(/package/machine-emulator.deb); fi \
    && apt-get update \
    && apt-get install -y --no-install-recommends "${packages[@]}" \
    && rm -rf /var/lib/apt/lists/* \
    && if ldconfig -p | grep -F libcartesi >/dev/null; then found=package; else found=none; fi \
    && if [ "${found}" != "${MACHINE_EMULATOR}" ]; then \
        echo "MACHINE_EMULATOR=${MACHINE_EMULATOR}, but the image has emulator: ${found}" >&2; exit 1; \
    fi

# A fixed, numeric, non-root identity (Kubernetes can then enforce runAsNonRoot).
RUN groupadd --system --gid 10001 watchdog \
    && useradd --system --uid 10001 --gid watchdog --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin watchdog \
    && install -d -m 0700 -o watchdog -g watchdog /var/lib/sequencer-watchdog

# What changes with every commit (the revision, the binary) comes last, so that the layers
# above stay cached from one build to the next.
ARG RUST_VERSION
ARG DEBIAN_SUITE
ARG TARGETARCH
ARG VERSION=0.1.0
ARG GIT_COMMIT=unknown
ARG SOURCE=https://example.invalid/sequencer-watchdog
ARG CARTESI_MACHINE_VERSION=0.21.0
ARG CARTESI_ROLLUPS_CONTRACTS_VERSION=3.0.0-alpha.10

LABEL org.opencontainers.image.title="sequencer-watchdog" \
      org.opencontainers.image.description="Checks that a Cartesi rollups sequencer publishes the canonical application state." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      io.cartesi.machine-emulator="${MACHINE_EMULATOR}" \
      io.cartesi.machine-emulator.version="${CARTESI_MACHINE_VERSION}"

COPY --from=binary /out/sequencer-watchdog /usr/local/bin/sequencer-watchdog

# What this image is, in one file: the binary's own release info plus the pins it was built with.
RUN release_info="$(/usr/local/bin/sequencer-watchdog --version)" \
    && case "${release_info}" in \
        '{"component":"sequencer-watchdog",'*) ;; \
        *) echo "sequencer-watchdog --version printed no release info: ${release_info}" >&2; exit 1 ;; \
    esac \
    && mkdir -p /opt/watchdog \
    && printf '{"schema_version":1,"component":"sequencer-watchdog","version":"%s","git_commit":"%s","source":"%s","target_arch":"%s","rust_version":"%s","debian_suite":"%s","cartesi_machine_version":"%s","cartesi_rollups_contracts_version":"%s","machine_emulator":"%s","binary":%s}\n' \
        "${VERSION}" "${GIT_COMMIT}" "${SOURCE}" "${TARGETARCH}" "${RUST_VERSION}" "${DEBIAN_SUITE}" \
        "${CARTESI_MACHINE_VERSION}" "${CARTESI_ROLLUPS_CONTRACTS_VERSION}" "${MACHINE_EMULATOR}" \
        "${release_info}" \
        > /opt/watchdog/RELEASE.json \
    && chmod 0444 /opt/watchdog/RELEASE.json

# State directories live below this volume, one per application, for example
# /var/lib/sequencer-watchdog/<app>; pass it with --state-dir or CARTESI_WATCHDOG_STATE_DIR.
# It must be a local filesystem (the run lock is flock(2); on NFS it can hang).
VOLUME ["/var/lib/sequencer-watchdog"]
WORKDIR /var/lib/sequencer-watchdog
USER 10001:10001

# A one-shot tool: the scheduler (CronJob, timer, cron) decides when it runs.
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/sequencer-watchdog"]
CMD ["--help"]
