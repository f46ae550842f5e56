# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the qdctl guest suites (tests/2NN-qdctl-*.bats), loaded after
# helpers.bash: `load helpers` then `load qdctl-helpers`.
#
# qbg NAME CMD...   run CMD in the background, stdout in $BATS_TEST_TMPDIR/
#                   NAME.out, stderr in NAME.err, fd 3 closed; pid ${QBG[NAME]}
# qbg_wait NAME     wait for it; sets status, output (stdout) and err (stderr)
# qbg_has NAME RE   true once NAME's stdout matches the extended regex RE
# qdctl_setup       fresh queue, a scratch dir $W under /tmp, world-writable
#                   and reachable by jobs run as another user
# qdctl_teardown    kill what qbg started and every job process group that
#                   registered itself in $W/pgids
# mkline N [CHAR]   print N copies of CHAR (default x), no newline

# QD_QDCTL=PATH tests another qdctl build than qdctl/qdctl.
QDCTL=${QD_QDCTL:-$QDCTL}
export QDCTL

declare -gA QBG=()

qbg() {
	local name=$1
	shift
	"$@" >"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
	QBG[$name]=$!
}

qbg_wait() {
	local name=$1
	status=0
	wait "${QBG[$name]}" || status=$?
	unset "QBG[$name]"
	output=$(cat "$BATS_TEST_TMPDIR/$name.out")
	err=$(cat "$BATS_TEST_TMPDIR/$name.err")
	mapfile -t lines <"$BATS_TEST_TMPDIR/$name.out"
}

qbg_has() {
	grep -Eq -- "$2" "$BATS_TEST_TMPDIR/$1.out"
}

qdctl_setup() {
	qd_reset
	W=$(mktemp -d /tmp/qdctl-test.XXXXXX)
	chmod 1777 "$W"
	: >"$W/pgids"
	chmod 0666 "$W/pgids"
}

qdctl_teardown() {
	local name pg
	for name in "${!QBG[@]}"; do
		# its process group too, if it made one (setsid)
		kill -9 -- "-${QBG[$name]}" 2>/dev/null || true
		kill -9 "${QBG[$name]}" 2>/dev/null || true
		wait "${QBG[$name]}" 2>/dev/null || true
	done
	QBG=()
	if [ -f "$W/pgids" ]; then
		while read -r pg; do
			kill -9 -- "-$pg" 2>/dev/null || true
		done <"$W/pgids"
	fi
	rm -rf "$W"
}

mkline() {
	local n=$1 c=${2:-x}
	head -c "$n" /dev/zero | tr '\0' "$c"
}
