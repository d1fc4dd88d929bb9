# The `local` network on this machine, as scripts/run-local and scripts/soak start it: four
# validators (alice, bob, charlie, dave), one RPC node, and providers' workers (stratus-worker),
# each set up as docs/provider-guide.md says. Sourced after lib.sh, not run.
# shellcheck shell=bash
#
# The caller sets, before calling anything here:
#   RUN_DIR         the run's folder: node databases and keys, worker folders, the operators' keystore
#   LOGS            where <node>.log and worker-<operator>.log go
#   NET_CHAIN       what the nodes' --chain gets: `local` or the path of a (raw) chain-spec file
#   NET_NODE_PORTS  an associative array: node name -> "p2p rpc prometheus"
#   NET_NODE_ARGS   (optional) an array of flags every node also gets
#   NET_LOOPBACK    (optional) `true`: the nodes listen for peers on 127.0.0.1 only
#   NET_RESERVED    (optional) `true`: every node, the RPC node included, has a persistent key and
#                   peers only with the others, as reserved peers (--reserved-only), so that a
#                   test can partition the network and heal it (system_removeReservedPeer and
#                   system_addReservedPeer, unsafe RPC methods); NET_ADDR[name] is its address
# and reads back:
#   NET_PID         an associative array: process name (alice … dave, rpc, worker-<operator>) -> pid
#                   of its latest start
#   NET_LAST_PID    the pid of the process started last

NET_VALIDATORS=(alice bob charlie dave)
NET_NODES=(alice bob charlie dave rpc)
declare -gA NET_PID=()
NET_LAST_PID=
[ -n "${NET_NODE_ARGS+set}" ] || NET_NODE_ARGS=()

# The RPC port of node $1.
net_rpc_port() {
	local p2p rpc prom
	read -r p2p rpc prom <<<"${NET_NODE_PORTS[$1]}"
	echo "$rpc"
}

# Every port the network's nodes use, one a line.
net_node_ports() {
	local name
	for name in "${NET_NODES[@]}"; do
		tr ' ' '\n' <<<"${NET_NODE_PORTS[$name]}"
	done
}

# Validators need a persistent network key (the node refuses to make one up for them); alice's
# peer id also makes her everyone's bootnode (NET_BOOTNODE).
declare -gA NET_ADDR=()
net_node_keys() {
	local name key alice_p2p alice_peer p2p
	local keyed=("${NET_VALIDATORS[@]}")
	[ "${NET_RESERVED:-false}" != true ] || keyed=("${NET_NODES[@]}")
	for name in "${keyed[@]}"; do
		key="$RUN_DIR/$name-node-key"
		[ -f "$key" ] || "$STRATUS_NODE" key generate-node-key --file "$key" 2>/dev/null ||
			die "could not generate a node key for $name"
		read -r p2p _ <<<"${NET_NODE_PORTS[$name]}"
		NET_ADDR[$name]="/ip4/127.0.0.1/tcp/$p2p/p2p/$("$STRATUS_NODE" key inspect-node-key --file "$key")"
	done
	alice_peer=$("$STRATUS_NODE" key inspect-node-key --file "$RUN_DIR/alice-node-key")
	read -r alice_p2p _ <<<"${NET_NODE_PORTS[alice]}"
	NET_BOOTNODE="/ip4/127.0.0.1/tcp/$alice_p2p/p2p/$alice_peer"
}

# Starts node $1 (a validator's name or `rpc`) in the background on its database in $RUN_DIR;
# its log is $LOGS/$1.log (emptied first unless $2 is `append`, as for a restart).
net_start_node() {
	local name=$1 mode=${2:-new} p2p rpc prom
	read -r p2p rpc prom <<<"${NET_NODE_PORTS[$name]}"
	local listen=(--port "$p2p")
	[ "${NET_LOOPBACK:-false}" != true ] || listen=(--listen-addr "/ip4/127.0.0.1/tcp/$p2p")
	local args=(--chain "$NET_CHAIN" --base-path "$RUN_DIR/$name" "${listen[@]}" --rpc-port "$rpc"
		--prometheus-port "$prom" --rpc-cors all --rpc-methods "$RPC_METHODS" --no-mdns
		"${NET_NODE_ARGS[@]}")
	if [ "${NET_RESERVED:-false}" = true ]; then
		local other reserved=()
		for other in "${NET_NODES[@]}"; do
			[ "$other" = "$name" ] || reserved+=("${NET_ADDR[$other]}")
		done
		args+=(--reserved-only --reserved-nodes "${reserved[@]}")
		[ "$name" != rpc ] || args+=(--node-key-file "$RUN_DIR/rpc-node-key")
	fi
	if [ "$name" = rpc ]; then
		args+=(--name rpc --bootnodes "$NET_BOOTNODE")
	else
		# --alice etc.: validator, named, with the well-known session keys in its keystore.
		args+=("--$name" --node-key-file "$RUN_DIR/$name-node-key")
		[ "$name" = alice ] || args+=(--bootnodes "$NET_BOOTNODE")
	fi
	if [ "$mode" = append ]; then
		"$STRATUS_NODE" "${args[@]}" >>"$LOGS/$name.log" 2>&1 &
	else
		"$STRATUS_NODE" "${args[@]}" >"$LOGS/$name.log" 2>&1 &
	fi
	NET_LAST_PID=$!
	NET_PID[$name]=$NET_LAST_PID
	log "$name: pid $NET_LAST_PID p2p $p2p rpc ws://127.0.0.1:$rpc log $LOGS/$name.log"
}

# The providers: each worker set up as docs/provider-guide.md says (init, register, offer, run),
# with a well-known development account as operator so that nothing needs funding by hand. The
# operator's key is only in the operators' CLI keystore ($RUN_DIR/operators, which `stratus
# provider register` signs with), never in a worker's environment; the worker key is the
# development key //<Name>//worker from STRATUS_WORKER_SURI (never the command line). The RPC
# node first, a validator (alice) second: a worker fails over when its node goes away.
net_operators() { echo "$RUN_DIR/operators"; }

# Sets up operator $1's worker (results served on 127.0.0.1:$2, region $3, CPU slots at $4
# planck per unit, $5 of them: 2 unless given): imports the operator, `init` (once: the config is
# kept under --keep), `register`, `stratus provider register`, `offer`.
net_setup_worker() {
	local name=$1 port=$2 region=$3 price=$4 slots=${5:-2}
	local dir="$RUN_DIR/worker-$name" log="$LOGS/worker-$name.log"
	local config="$dir/worker.toml" operators
	operators=$(net_operators)
	local suri="//${name^}"
	local keys=(STRATUS_WORKER_SURI="$suri//worker")
	local stratus=("$STRATUS_CLI" --keystore "$operators" --account "$name")
	local rpc_node alice
	rpc_node=$(net_rpc_port rpc)
	alice=$(net_rpc_port alice)
	[ -f "$operators/$name.json" ] || echo "$suri" | "${stratus[@]}" account import "$name" >>"$log" 2>&1 ||
		die "importing operator $name into $operators failed (see $log)"
	local operator
	operator=$("${stratus[@]}" account list | awk -v n="$name" '$1 == n { print $2 }')
	if [ ! -f "$config" ]; then
		env "${keys[@]}" "$STRATUS_WORKER" --config "$config" init --endpoint "ws://127.0.0.1:$rpc_node" \
			--endpoint "ws://127.0.0.1:$alice" --region "$region" --operator "$operator" >>"$log" 2>&1 ||
			die "stratus-worker init failed for $name (see $log)"
		sed -i -e "s|^listen = .*|listen = \"127.0.0.1:$port\"|" \
			-e "s|^public_url = .*|public_url = \"http://127.0.0.1:$port\"|" \
			-e "s|^cpu_slots = .*|cpu_slots = $slots|" \
			-e "s|^cpu_price = .*|cpu_price = \"$price planck\"|" "$config"
	fi
	env "${keys[@]}" "$STRATUS_WORKER" --config "$config" register --out "$dir/registration.json" \
		>>"$log" 2>&1 || die "stratus-worker register failed for $name (see $log)"
	"${stratus[@]}" --endpoint "ws://127.0.0.1:$rpc_node" provider register "$dir/registration.json" \
		>>"$log" 2>&1 || die "stratus provider register failed for $name (see $log)"
	env "${keys[@]}" "$STRATUS_WORKER" --config "$config" offer >>"$log" 2>&1 ||
		die "stratus-worker offer failed for $name (see $log)"
}

# Starts operator $1's worker daemon (`stratus-worker run`, set up by net_setup_worker) in the
# background; its log is $LOGS/worker-$1.log (appended to).
net_start_worker() {
	local name=$1
	local dir="$RUN_DIR/worker-$name" log="$LOGS/worker-$name.log"
	env STRATUS_WORKER_SURI="//${name^}//worker" "$STRATUS_WORKER" --config "$dir/worker.toml" run \
		>>"$log" 2>&1 &
	NET_LAST_PID=$!
	NET_PID[worker-$name]=$NET_LAST_PID
}

# Sets up and starts operator $1's worker (arguments as net_setup_worker's).
net_start_provider() {
	local name=$1 port=$2 region=$3 price=$4 slots=${5:-2}
	net_setup_worker "$@"
	net_start_worker "$name"
	log "worker $name: pid $NET_LAST_PID operator //${name^} results http://127.0.0.1:$port region $region price $price planck/unit, $slots slots, log $LOGS/worker-$name.log"
}

# Free ports of 127.0.0.1, all different, none of the well-known ones run-local uses: one on
# stdout per call (`net_port`); `net_pick_ports` gives every node its three (NET_NODE_PORTS).
declare -gA NET_TAKEN_PORTS=()
net_port() {
	local p
	while :; do
		p=$(free_port)
		case $p in 30333 | 3033[4-7] | 994[4-8] | 961[5-9] | 880[1-3]) continue ;; esac
		[ -z "${NET_TAKEN_PORTS[$p]:-}" ] && break
	done
	NET_TAKEN_PORTS[$p]=1
	echo "$p"
}
net_pick_ports() {
	local name a b c
	declare -gA NET_NODE_PORTS=()
	for name in "${NET_NODES[@]}"; do
		# Not in a subshell: the ports taken must be remembered.
		a=$(net_port) && NET_TAKEN_PORTS[$a]=1
		b=$(net_port) && NET_TAKEN_PORTS[$b]=1
		c=$(net_port) && NET_TAKEN_PORTS[$c]=1
		NET_NODE_PORTS[$name]="$a $b $c"
	done
}

# The number of node $1's (an RPC port) latest finalized block.
net_finalized_number() {
	local head
	head=$(rpc "$1" chain_getFinalizedHead | python3 -c 'import json, sys; print(json.load(sys.stdin)["result"])' 2>/dev/null) ||
		return 1
	rpc "$1" chain_getHeader "[\"$head\"]" |
		python3 -c 'import json, sys; print(int(json.load(sys.stdin)["result"]["number"], 16))' 2>/dev/null
}

# Starts every node (with the validators' keys) and waits until the RPC node answers and the
# network has finalized a block (the workers' commands read the finalized chain).
net_up() {
	local name rpc_port deadline
	net_node_keys
	for name in "${NET_NODES[@]}"; do
		net_start_node "$name"
	done
	rpc_port=$(net_rpc_port rpc)
	deadline=$((SECONDS + 120))
	until (exec 3<>"/dev/tcp/127.0.0.1/$rpc_port") 2>/dev/null; do
		for name in "${NET_NODES[@]}"; do
			kill -0 "${NET_PID[$name]}" 2>/dev/null || die "node $name exited at start-up (see $LOGS/$name.log)"
		done
		[ $SECONDS -lt $deadline ] || die "the RPC node did not open ws://127.0.0.1:$rpc_port (see $LOGS/rpc.log)"
		sleep 1
	done
	deadline=$((SECONDS + 180))
	until [ "$(net_finalized_number "$rpc_port" || echo 0)" -gt 0 ]; do
		[ $SECONDS -lt $deadline ] || die "the network finalized nothing in 180 s (see $LOGS)"
		sleep 2
	done
}
