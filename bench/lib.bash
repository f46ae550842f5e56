# SPDX-License-Identifier: GPL-2.0
#
# bench/lib.bash - what bench/pairs, fillread-pairs and pingpong-pairs share.
# Sourced on the host, and in the guest for qd_rotate (the repository is
# at the same path there). bench/lib.awk holds their awk side.

# qd_usage SCRIPT: print the comment at the top of SCRIPT (its usage),
# SCRIPT relative to the top of the repository.
qd_usage() {
	sed -n '4,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$1"
}

# qd_modules_exist NAME MODULE...: say which module is missing, if any.
qd_modules_exist() {
	local name=$1 ko

	shift
	[ $# -gt 0 ] || { echo "$name: which module(s)?" >&2; return 64; }
	for ko in "$@"; do
		[ -f "$ko" ] || { echo "$name: $ko: no such module" >&2; return 1; }
	done
}

# qd_rotate ROUNDS FUNC MODULE...: ROUNDS times, call FUNC ROUND INDEX
# MODULE for each module (INDEX: its place in the list, from 0), each
# round starting with the next module, so that no module always runs
# first after a boot or an rmmod. FUNC sees (bash scoping) and must leave
# alone the _qd_* variables.
qd_rotate() {
	local _qd_rounds=$1 _qd_fn=$2 _qd_r _qd_j _qd_i
	local -a _qd_mods

	shift 2
	_qd_mods=("$@")
	for _qd_r in $(seq 1 "$_qd_rounds"); do
		for _qd_j in "${!_qd_mods[@]}"; do
			_qd_i=$(((_qd_j + _qd_r) % ${#_qd_mods[@]}))
			"$_qd_fn" "$_qd_r" "$_qd_i" "${_qd_mods[_qd_i]}"
		done
	done
}
