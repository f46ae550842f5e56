# SPDX-License-Identifier: GPL-2.0
#
# The benchmark's own checks, on the host with the kernel's standard IPC
# (pipes, Unix sockets: no module needed): a figure is only produced when
# every message arrived intact, and a lost, corrupted or duplicated message
# fails the run.

load helpers

QDBENCH=$QD_ROOT/bench/qdbench

setup_file() {
	make -s -C "$QD_ROOT/bench"
}

setup() {
	BATS_TEST_TIMEOUT=120
}

@test "qdbench prints one verified CSV line for a 1p1c pipe run" {
	run -0 "$QDBENCH" --mech pipe --case 64B_1p1c --count 2000
	assert_output --regexp '^pipe,64B_1p1c,2000,64,[0-9.]+,[0-9.]+,[0-9.]+,,$'
}

@test "qdbench counts every message of a 4p4c socket run" {
	run -0 "$QDBENCH" --mech unix_seqpacket --case 1K_4p4c --count 2001
	assert_output --regexp '^unix_seqpacket,1K_4p4c,2001,1024,'
}

@test "qdbench ping-pong reports p50 <= p99" {
	run -0 "$QDBENCH" --mech pipe --case 64B_pingpong --count 300
	IFS=, read -r m c n s secs mps mbs p50 p99 <<<"$output"
	assert_equal "$n" 300
	awk -v a="$p50" -v b="$p99" 'BEGIN { exit !(a > 0 && a <= b) }'
}

@test "a 16 KiB pipe message, cut into page packets, is reassembled" {
	run -0 "$QDBENCH" --mech pipe --case 16K_1p1c --count 200
	assert_output --regexp '^pipe,16K_1p1c,200,16384,'
}

@test "a corrupted message fails the run" {
	run -1 "$QDBENCH" --inject corrupt --mech pipe --case 64B_1p1c --count 1000
	assert_output --partial "checksum mismatch"
	refute_output --regexp '^pipe,'
}

@test "a lost message fails the run" {
	run -1 "$QDBENCH" --inject drop --mech unix_seqpacket --case 64B_4p4c --count 1000
	assert_output --partial "received 999 of 1000"
	refute_output --regexp '^unix_seqpacket,'
}

@test "a duplicated message fails the run" {
	run -1 "$QDBENCH" --inject dup --mech pipe --case 1K_4p4c --count 1000
	assert_output --regexp "received twice|FIFO broken"
	refute_output --regexp '^pipe,'
}

@test "a case a mechanism cannot do exits 2" {
	run -2 "$QDBENCH" --mech qd_rw --case 64B_pingpong
	assert_output --partial "unsupported"
	run -2 "$QDBENCH" --mech pipe --case 16K_4p4c
	assert_output --partial "PIPE_BUF"
}

@test "a malformed case is a usage error" {
	run -64 "$QDBENCH" --mech pipe --case 63B_1p1c
	assert_output --partial "bad case"
}

@test "qdbench suite reports each run and goes on after a failure" {
	run -1 --separate-stderr "$QDBENCH" suite <<-EOF
		1 pipe 64B_1p1c 500
		1 no_such_mech 64B_1p1c 500
		1 qd_rw 64B_pingpong 100
		2 unix_seqpacket 64B_1p1c 500
	EOF
	assert_line --index 0 --regexp '^ok,1,pipe,64B_1p1c,500,'
	assert_line --index 1 --regexp '^failed,1,no_such_mech,64B_1p1c,'
	assert_line --index 2 --regexp '^unsupported,1,qd_rw,64B_pingpong,'
	assert_line --index 3 --regexp '^ok,2,unix_seqpacket,64B_1p1c,500,'
	[ "${#lines[@]}" -eq 4 ]
	# progress on stderr, one line per run number, as each one ends
	[[ "${stderr_lines[-2]}" =~ ^qdbench:\ suite:\ run\ 1\ done\ \([0-9:]{8}\ UTC\)$ ]]
	[[ "${stderr_lines[-1]}" =~ ^qdbench:\ suite:\ run\ 2\ done\ \([0-9:]{8}\ UTC\)$ ]]
}

@test "scripts/bench --host writes results.csv with the agreed header and ratios" {
	run -0 "$QD_ROOT/scripts/bench" --host --no-extras --runs 1 --scale 0.05 \
		--capacity 4096 --mech pipe,unix_seqpacket --case 64B_1p1c,64B_pingpong \
		--out "$BATS_TEST_TMPDIR/out"
	csv=$BATS_TEST_TMPDIR/out/results.csv
	run -0 head -n 1 "$csv"
	assert_output "mechanism,case,msgs_per_s,mb_per_s,ratio_vs_mq,ratio_vs_pipe,p50_us,p99_us,runs"
	run -0 grep -c . "$csv"
	assert_output 5
	run -0 grep '^pipe,64B_1p1c,' "$csv"
	assert_output --regexp '^pipe,64B_1p1c,[0-9]+,[0-9.]+,,1.00,,,1$'
	run -0 grep '^unix_seqpacket,64B_pingpong,' "$csv"
	assert_output --regexp '^unix_seqpacket,64B_pingpong,[0-9]+,[0-9.]+,,[0-9.]+,[0-9.]+,[0-9.]+,1$'
	[ -s "$BATS_TEST_TMPDIR/out/RESULTS.md" ]
}
