# Shared by the scripts in this folder (sourced, not run).
# shellcheck shell=bash

STRATUS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export STRATUS_ROOT

# cargo's target directory lives outside the clone and is reused by every build, test and CI run.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/stratus/target}"
export WASM_BUILD_WORKSPACE_HINT="${WASM_BUILD_WORKSPACE_HINT:-$STRATUS_ROOT}"
# No incremental compilation, in every script alike (run-dev, run-local, test, the benchmarks):
# the setting is part of what cargo compiled, so a script with another one would build this
# workspace's crates again. Every fresh clone is a new path, so its incremental caches are never
# used again, and in the shared target directory they had grown to 31 GiB and filled the disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export PATH="$HOME/.cargo/bin:$PATH"

# The one build profile (see docs/build.md): the dev profile with run-time-critical crates optimised.
STRATUS_NODE="${STRATUS_NODE:-$CARGO_TARGET_DIR/debug/stratus-node}"
export STRATUS_NODE

# The RPC methods the dev and local nodes serve: safe ones only unless RPC_METHODS=unsafe. Those
# nodes answer browser pages of any origin (`--rpc-cors all`, for the web console and polkadot.js
# apps), and any web page can open a WebSocket to 127.0.0.1 whatever the CORS list says, so the
# unsafe methods (author_insertKey, author_rotateKeys, system_addReservedPeer, …) would be open to
# every site the developer visits while the node runs.
RPC_METHODS="${RPC_METHODS:-safe}"
rpc_methods_checked() {
	case $RPC_METHODS in
	safe) ;;
	unsafe) log "RPC_METHODS=unsafe: any web page open in a browser on this machine can call the node's unsafe RPC methods" ;;
	*) die "RPC_METHODS is \"$RPC_METHODS\"; use safe (the default) or unsafe" ;;
	esac
}

log() { printf '\033[1m[stratus]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[stratus] error:\033[0m %s\n' "$*" >&2; exit 1; }

# Builds the node, the provider worker and the requester CLI (stratus-node, stratus-worker,
# stratus) with every test: the same command, hence the same compiled units, as scripts/test's
# build, so running scripts/run-local and scripts/test one after the other compiles nothing the
# second time. (`cargo build -p stratus-node` would not do: cargo unifies the features of the
# packages it is asked to build, with their dev-dependencies for a test build, so that build and
# `cargo test --workspace` compile most of the node's dependencies differently, 19 minutes each
# way on this machine.) Seconds when nothing changed.
STRATUS_WORKER="${STRATUS_WORKER:-$CARGO_TARGET_DIR/debug/stratus-worker}"
STRATUS_CLI="${STRATUS_CLI:-$CARGO_TARGET_DIR/debug/stratus}"
export STRATUS_WORKER STRATUS_CLI
build_workspace() {
	log "building stratus-node, stratus-worker, stratus and the tests (target dir: $CARGO_TARGET_DIR)"
	(cd "$STRATUS_ROOT" && cargo test --workspace --locked --no-run) || die "the build failed"
}

# Fails unless something listens on 127.0.0.1:$1 within $2 seconds.
wait_for_port() {
	local port=$1 deadline=$((SECONDS + $2))
	until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 1
	done
}

# Fails if 127.0.0.1:$1 is already taken.
port_is_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A free port, never the well-known ones other nodes on this machine may use.
free_port() {
	local port
	while :; do
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		[ "$port" != 9944 ] && [ "$port" != 9955 ] && port_is_free "$port" && break
	done
	echo "$port"
}

# Calls a JSON-RPC method over HTTP and prints the response.
rpc() {
	local port=$1 method=$2 params=${3:-[]}
	curl -s --max-time 5 -H 'Content-Type: application/json' \
		-d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"$method\",\"params\":$params}" \
		"http://127.0.0.1:$port"
}
