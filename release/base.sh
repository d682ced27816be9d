# shellcheck shell=bash
# The Debian base image of the local images (release/image, release/devnet-images); sourced
# after release/engine.sh and release/versions.env, not run.
#
# base_image   makes (or reuses) the base image of DEBIAN_SUITE and sets base_tag: debootstrap's
#              minbase, slimmed like the official slim images, from the Debian mirror the
#              machine's apt uses (or $DEBIAN_MIRROR); the root file system is cached as a tar
#              archive under .cache/image/ and imported once per engine data root.
#
# base_tag is read by the scripts that source this file.
# shellcheck disable=SC2034

cache="${ENGINE_REPO_ROOT:?set ENGINE_REPO_ROOT before sourcing release/base.sh}/.cache/image"

# The Debian mirror this machine's apt uses for its own release (never named in the project).
host_mirror() {
    local codename
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
    [ -n "${codename}" ] || return 1
    # shellcheck disable=SC2016 # $(REPO_URI) is apt's placeholder, not the shell's
    apt-get indextargets --no-release-info --format '$(REPO_URI)' \
        'Identifier: Packages' "Release: ${codename}" 2>/dev/null | head -n 1 | grep .
}

# debootstrap's minbase, without what the official slim images leave out too (documentation,
# manuals, translations, package caches), as a tar archive.
make_rootfs() {
    local archive="$1" mirror rootfs
    mirror="${DEBIAN_MIRROR:-$(host_mirror || true)}"
    [ -n "${mirror}" ] || engine_die "no Debian mirror found in this machine's apt configuration; set DEBIAN_MIRROR"
    rootfs="$(mktemp -d "${cache}/rootfs.XXXXXX")"
    chmod 0755 "${rootfs}" # it becomes the image's /
    # --one-file-system: never follow a /proc or /sys that an interrupted debootstrap left mounted.
    engine_at_exit rm -rf --one-file-system "${rootfs}"
    engine_say "debootstrap --variant=minbase ${DEBIAN_SUITE} (about 200 MB of packages)"
    debootstrap --variant=minbase --arch "$(dpkg --print-architecture)" \
        "${DEBIAN_SUITE}" "${rootfs}" "${mirror}" >"${cache}/debootstrap.log" 2>&1 \
        || { tail -n 20 "${cache}/debootstrap.log" >&2; engine_die "debootstrap failed (log above)"; }
    find "${rootfs}/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "${rootfs}/usr/share/doc" -mindepth 1 -type d -empty -delete
    # apt makes its partial directories again, owned by its download user.
    rm -rf "${rootfs}"/usr/share/{man,info,locale}/* "${rootfs}"/var/lib/apt/lists/* \
        "${rootfs}"/var/cache/apt/archives/* "${rootfs}"/var/cache/apt/*.bin
    rm -f "${rootfs}/etc/hostname"
    : >"${rootfs}/etc/resolv.conf"
    cat >"${rootfs}/etc/dpkg/dpkg.cfg.d/slim-image" <<'EOF'
# Leave documentation, manuals and translations out of the image (copyright files stay).
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
    cat >"${rootfs}/etc/apt/apt.conf.d/no-caches" <<'EOF'
// Keep no downloaded packages and no binary package caches in image layers.
APT::Keep-Downloaded-Packages "false";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    tar --numeric-owner -C "${rootfs}" -cf "${archive}.tmp" .
    mv "${archive}.tmp" "${archive}"
    rm -rf --one-file-system "${rootfs}"
}

# The base image, named after the suite and a hash of the recipe above, so a changed recipe
# makes a new one; older ones are removed.
base_image() {
    local recipe archive
    recipe="$(declare -f make_rootfs | sha256sum | cut -c1-12)"
    base_tag="sequencer-watchdog-base:${DEBIAN_SUITE}-${recipe}"
    archive="${cache}/debian-${DEBIAN_SUITE}-${recipe}.tar"
    if ! "${DOCKER}" image inspect "${base_tag}" >/dev/null 2>&1; then
        [ -f "${archive}" ] || make_rootfs "${archive}"
        engine_say "importing ${archive##*/} as ${base_tag}"
        "${DOCKER}" import --change 'CMD ["bash"]' \
            --message "debootstrap --variant=minbase ${DEBIAN_SUITE} (release/image)" \
            "${archive}" "${base_tag}" >/dev/null
    fi
    find "${cache}" -maxdepth 1 -name 'debian-*.tar' ! -path "${archive}" -delete
    "${DOCKER}" image ls --format '{{.Repository}}:{{.Tag}}' sequencer-watchdog-base \
        | grep -vxF "${base_tag}" | xargs -r "${DOCKER}" image rm >/dev/null || true
}

