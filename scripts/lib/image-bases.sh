# Stand-ins for the public base images of deploy/Dockerfile, for machines that reach no image
# registry (CI): a minimal Debian bookworm from debootstrap, imported under the same tags, so that the
# Dockerfile builds unchanged. Sourced by scripts/image-check.sh; needs root, debootstrap and a docker
# daemon. A tag that already exists (a real public image, or a stand-in from an earlier run) is kept.
#
#   debian:bookworm-slim  debootstrap --variant=minbase bookworm, without documentation and apt lists.
#   rust:1.95-bookworm    the same plus gcc, libc6-dev, pkg-config, libssl-dev and ca-certificates, and
#                         the host's Rust toolchain (the one `rustc --print sysroot` names) laid out as the
#                         official image lays it out: RUSTUP_HOME=/usr/local/rustup,
#                         CARGO_HOME=/usr/local/cargo, /usr/local/cargo/bin first on PATH; it trusts
#                         the host's extra certificate authorities (/usr/local/share/ca-certificates).

# The label that marks a stand-in, so nobody mistakes it for the public image.
IMAGE_BASES_LABEL='org.opencontainers.image.description="local stand-in made by scripts/lib/image-bases.sh from debootstrap bookworm"'
IMAGE_BASES_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# image_bases_rootfs DIR [debootstrap --include list]: a minbase bookworm tree in DIR, slimmed.
image_bases_rootfs() {
  local dir=$1 include=${2:-}
  local args=(--variant=minbase)
  [ -n "$include" ] && args+=("--include=$include")
  if ! debootstrap "${args[@]}" bookworm "$dir" http://deb.debian.org/debian >"$dir.log" 2>&1; then
    echo "image-check: debootstrap failed; its log ($dir.log) ends:" >&2
    tail -n 20 "$dir.log" >&2
    return 1
  fi
  chroot "$dir" apt-get clean
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* \
    "$dir"/usr/share/info/* "$dir"/var/cache/debconf/*-old "$dir"/var/log/*.log
}

# image_bases_import DIR TAG [docker import --change ...]: DIR's tree as image TAG.
image_bases_import() {
  local dir=$1 tag=$2
  shift 2
  tar -C "$dir" -c . | docker import --change "LABEL $IMAGE_BASES_LABEL" "$@" - "$tag" >/dev/null
}

# image_bases_ensure RUNTIME_TAG BUILDER_TAG WORKDIR: builds whichever of the two tags is missing.
image_bases_ensure() {
  local runtime=$1 builder=$2 work=$3
  local need_runtime=0 need_builder=0
  docker image inspect "$runtime" >/dev/null 2>&1 || need_runtime=1
  docker image inspect "$builder" >/dev/null 2>&1 || need_builder=1
  [ $need_runtime = 0 ] && [ $need_builder = 0 ] && return 0

  local sysroot toolchain
  sysroot=$(rustc --print sysroot)
  toolchain=$(basename "$sysroot")
  mkdir -p "$work"
  # The two debootstraps download in parallel.
  local pids=()
  if [ $need_runtime = 1 ]; then
    echo "== making base image $runtime (debootstrap)"
    image_bases_rootfs "$work/runtime" & pids+=($!)
  fi
  if [ $need_builder = 1 ]; then
    echo "== making base image $builder (debootstrap + the host's $toolchain toolchain)"
    image_bases_rootfs "$work/builder" gcc,libc6-dev,pkg-config,libssl-dev,ca-certificates & pids+=($!)
  fi
  local pid failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ $failed = 0 ] || return 1

  if [ $need_runtime = 1 ]; then
    image_bases_import "$work/runtime" "$runtime" --change "ENV PATH=$IMAGE_BASES_PATH" \
      --change 'CMD ["bash"]'
  fi
  if [ $need_builder = 1 ]; then
    local root=$work/builder
    mkdir -p "$root/usr/local/rustup/toolchains/$toolchain" "$root/usr/local/cargo/bin"
    # The toolchain without its documentation (share/ is mostly rust-docs).
    tar -C "$sysroot" -c --exclude=./share/doc . \
      | tar -C "$root/usr/local/rustup/toolchains/$toolchain" -x
    # The host's own certificate authorities (a TLS-inspecting egress proxy's, say), so that cargo
    # reaches crates.io from the build exactly as it does on the host.
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
      cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
      chroot "$root" update-ca-certificates >/dev/null
    fi
    local tool
    for tool in cargo rustc rustdoc; do
      ln -s "../../rustup/toolchains/$toolchain/bin/$tool" "$root/usr/local/cargo/bin/$tool"
    done
    image_bases_import "$root" "$builder" \
      --change "ENV RUSTUP_HOME=/usr/local/rustup" \
      --change "ENV CARGO_HOME=/usr/local/cargo" \
      --change "ENV PATH=/usr/local/cargo/bin:$IMAGE_BASES_PATH" \
      --change "ENV RUST_VERSION=$(rustc --version | cut -d' ' -f2)" \
      --change 'CMD ["bash"]'
  fi
  rm -rf "$work/runtime" "$work/builder" "$work"/*.log
}
