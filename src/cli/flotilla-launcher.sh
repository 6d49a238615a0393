#!/bin/sh
# The package's `bin` (copied to dist/bin/flotilla by scripts/bundle-cli.mjs): runs dist/bin/flotilla.js
# with Node, in place (exec: the same process, as systemd and signals expect).
#
# Node 20 reads NODE_EXTRA_CA_CERTS as it starts: it builds its root store and parses the file before any
# code of ours runs, ~80 ms with Debian's CA bundle, where Node's whole start is 30 ms. Most runs make no
# TLS connection at all (a no-op fetch, a plain-HTTP or directory store, --help). So the variable is moved
# aside here, given back to child processes at once by the entry, and trusted by this process's TLS
# clients at their first secure context (src/util/deferred-ca-certs.ts). Not with --use-openssl-ca in
# NODE_OPTIONS: the deferred trust adds to Node's bundled roots, not to OpenSSL's store.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  case " ${NODE_OPTIONS:-} " in
    *use-openssl-ca*) ;;
    *)
      FLOTILLA_DEFERRED_CA_CERTS=$NODE_EXTRA_CA_CERTS
      export FLOTILLA_DEFERRED_CA_CERTS
      unset NODE_EXTRA_CA_CERTS
      ;;
  esac
fi
self=$0
case $self in */*) ;; *) self=./$self ;; esac
# npm links the bin from node_modules/.bin: the bundles are beside the link's target, not the link.
if [ -L "$self" ]; then self=$(readlink -f -- "$self"); fi
exec node "${self%/*}/flotilla.js" "$@"
