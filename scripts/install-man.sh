#!/usr/bin/env sh
# install-man.sh VTAP — meson install step: generates one man page per
# command from the option tables into $MESON_INSTALL_DESTDIR_PREFIX/share/man/man1.
set -eu
dir="${MESON_INSTALL_DESTDIR_PREFIX:-/usr/local}/share/man/man1"
mkdir -p "$dir"
"$1" man "$dir"
