#!/usr/bin/env bash
# A stand-in for python:3.11-slim, made from Debian's own packages, for a machine that reaches
# Debian's mirror but not Docker Hub. As root; needs debootstrap and podman (Debian's packages).
#
#   sudo bash docker/debian-base.sh
#   sudo podman build --from localhost/debian-python:3.11 -t mnist-grade -f docker/Dockerfile .
#
# Behind a proxy that re-signs TLS with a CA of its own, pip inside the build needs that CA:
# add `-v /etc/ssl/certs:/etc/ssl/certs:ro` to the build (and `--isolation chroot` where the
# container runtime cannot start build containers, e.g. crun on a cgroup v1/v2 hybrid).
set -euo pipefail
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,passwd,ca-certificates \
  bookworm "$rootfs" http://deb.debian.org/debian
# python:3.11-slim's pip installs system-wide; Debian's refuses to without this (PEP 668).
rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED
tar -C "$rootfs" -c . | podman import - localhost/debian-python:3.11
