# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages, end to end, the way a user gets them: make deb
# builds queue-driver-dkms and qdctl (lintian-clean), dpkg -i installs them
# on this machine and DKMS builds the module for the guest kernel's
# headers, one guest booted without the harness's insmod runs
# tests/packages/in-guest.bats against what dpkg installed (modprobe, the
# udev rule, the group, the workflow with /usr/bin/qdctl, the worker
# unit's command), then dpkg -r must remove the module and every file
# (conffiles may stay: the packages have none) and dpkg --purge leave the
# files as they were. Last, DKMS adds and builds the checkout itself with
# its dkms.conf, and removes it.
#
# It installs packages on this machine, so `make test` runs it only when
# asked: QD_TEST_PACKAGES=1 (`make test-packages`) or CI=true; otherwise
# each test skips, saying so. Building and checking the packages needs no
# root; installing them does, and is skipped as non-root or when either
# package is installed already (not ours to remove). With CI=true such a
# precondition fails the test instead: CI must run it all. It never loads
# a module into this machine's kernel: DKMS only builds and installs the
# file here (the packages' maintainer scripts run dkms build/install, which
# modprobe nothing without --modprobe-on-install); the module is loaded in
# the guest only. The tests build on each other, in order; teardown_file
# purges whatever is still installed. 13 minutes on the 2-core machine
# without KVM while two other guests ran; about 2 alone (README, Install).

load helpers

: "${BATS_TEST_TIMEOUT:=900}"

PKGS=(qdctl queue-driver-dkms)

# (bats 1.8 cannot skip from setup_file: each test asks need_* instead)
setup_file() {
	local p
	export QD_PKG_OFF='' QD_PKG_NOINSTALL='' QD_VERSION KVER DEBS=$BATS_FILE_TMPDIR/deb
	QD_VERSION=$(cat "$QD_ROOT/VERSION")
	if [ "${CI:-}" != true ] && [ "${QD_TEST_PACKAGES:-}" != 1 ]; then
		QD_PKG_OFF="installs packages on this machine: run make test-packages (or QD_TEST_PACKAGES=1) as root"
		return 0
	fi
	KVER=$("$QD_ROOT/scripts/vm-kdir" --release)
	if [ "$(id -u)" != 0 ]; then
		QD_PKG_NOINSTALL="installs packages: run as root"
		return 0
	fi
	# One run at a time: a second would find our packages installed. Taken
	# before looking, so that the other run's packages are gone by then.
	exec {QD_PKG_LOCK}>/run/lock/queue_driver-packages.lock
	if ! flock -w 600 "$QD_PKG_LOCK"; then
		QD_PKG_NOINSTALL="another run held /run/lock/queue_driver-packages.lock for 10 minutes"
		return 0
	fi
	for p in "${PKGS[@]}"; do
		if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null |
			grep -qv '^not-installed$'; then
			QD_PKG_NOINSTALL="package $p is installed on this machine already (not ours to remove)"
			return 0
		fi
	done
	# The queue group is kept on purge; put the machine back as it was.
	if getent group queue >/dev/null; then
		: >"$BATS_FILE_TMPDIR/had-group"
	fi
	# From here on, what is installed is ours to remove.
	: >"$BATS_FILE_TMPDIR/ours"
}

# skip_or_fail REASON: skip the test, but fail it under CI, which must run
# every test.
skip_or_fail() {
	if [ "${CI:-}" = true ]; then
		fail "cannot run: $1 (CI=true: a failure, not a skip)"
	fi
	skip "$1"
}

# need_opt_in: the tests that build the packages (no root needed).
need_opt_in() {
	if [ -n "$QD_PKG_OFF" ]; then
		skip_or_fail "$QD_PKG_OFF"
	fi
}

# need_install: the tests that install or remove packages (root, ours).
need_install() {
	need_opt_in
	if [ -n "$QD_PKG_NOINSTALL" ]; then
		skip_or_fail "$QD_PKG_NOINSTALL"
	fi
}

teardown_file() {
	local p installed=()
	if ! [ -e "$BATS_FILE_TMPDIR/ours" ]; then
		return 0
	fi
	for p in "${PKGS[@]}"; do
		if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null |
			grep -qv '^not-installed$'; then
			installed+=("$p")
		fi
	done
	if [ ${#installed[@]} -gt 0 ]; then
		qd_dpkg --purge "${installed[@]}" >&3 2>&1 || true
	fi
	if [ -f "$BATS_FILE_TMPDIR/dkms-added" ]; then
		if [ -e "/var/lib/dkms/queue_driver/$QD_VERSION" ]; then
			dkms remove "queue_driver/$QD_VERSION" --all >&3 2>&1 || true
		fi
		rm -rf "/usr/src/queue_driver-$QD_VERSION"
	fi
	if ! [ -e "$BATS_FILE_TMPDIR/had-group" ] && getent group queue >/dev/null; then
		groupdel queue
	fi
}

# The files and directories the packages (and DKMS for them) may touch, one
# per line: only these roots, so that unrelated churn elsewhere (in
# /var/lib, say) cannot fail the test. Left out: the module-signing key
# dkms makes at its first build of any module (/var/lib/dkms/mok.*:
# dkms's, not ours); dpkg's own records are checked with dpkg-query.
snapshot() {
	local r roots=()
	for r in /usr/src "/lib/modules/$KVER" /var/lib/dkms \
		/lib/udev/rules.d /usr/lib/udev/rules.d /etc/udev/rules.d \
		/usr/lib/sysusers.d /etc/sysusers.d \
		/lib/systemd/system /usr/lib/systemd/system /etc/systemd/system \
		/usr/bin /usr/libexec /usr/share/man /usr/share/bash-completion \
		/usr/share/doc; do
		[ -e "$r" ] && roots+=("$r")
	done
	# -H: /lib is a symlink to usr/lib on Debian 12
	find -H "${roots[@]}" -xdev ! -path '/var/lib/dkms/mok.*' -print 2>/dev/null |
		LC_ALL=C sort
}

# qd_dpkg ARGS...: dpkg, waiting up to 2 minutes for the dpkg lock if
# another process (apt, unattended-upgrades) holds it. Debian 12's dpkg
# (1.21) has no --lock-timeout: it fails at once, before doing anything,
# so trying again is safe.
qd_dpkg() {
	local err=$BATS_FILE_TMPDIR/dpkg.err rc i
	for ((i = 0; ; i++)); do
		rc=0
		dpkg "$@" 2>"$err" || rc=$?
		if [ "$rc" != 0 ] && [ "$i" -lt 60 ] &&
			grep -q 'lock was locked by another process' "$err"; then
			sleep 2
			continue
		fi
		cat "$err" >&2
		return "$rc"
	done
}

# The installed packages must be these.
need_installed() {
	local p
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${db:Status-Status}\n' "$p" | grep -qx installed ||
			fail "$p is not installed (an earlier test failed)"
	done
}

# These two only read the tree, and run without being asked to.
@test "scripts/deb rejects a missing --out directory and unknown arguments with 64" {
	run "$QD_ROOT/scripts/deb" --out
	assert_failure 64
	assert_output "deb: --out needs a directory"
	run "$QD_ROOT/scripts/deb" --bogus
	assert_failure 64
	assert_output "deb: unknown argument '--bogus' (try --help)"
	run "$QD_ROOT/scripts/deb" --help
	assert_success
	assert_line --index 0 "scripts/deb - build the Debian packages queue-driver-dkms and qdctl (make deb)."
}

@test "make deb refuses to build when VERSION and debian/changelog differ" {
	local copy=$BATS_TEST_TMPDIR/tree changelog
	changelog=$(dpkg-parsechangelog -l "$QD_ROOT/debian/changelog" -S Version)
	# The packaging files alone, with another VERSION, as a checkout.
	mkdir -p "$copy/scripts"
	cp -a "$QD_ROOT/debian" "$copy/"
	cp -a "$QD_ROOT/scripts/deb" "$copy/scripts/"
	echo "$changelog.1" >"$copy/VERSION"
	git -C "$copy" init -q
	run "$copy/scripts/deb" --no-lintian --out "$BATS_TEST_TMPDIR/out"
	assert_failure
	assert_output --partial "VERSION says $changelog.1 but debian/changelog $changelog: add a changelog entry"
	! compgen -G "$BATS_TEST_TMPDIR/out/*.deb" >/dev/null || fail "it built packages"
}

@test "make deb builds queue-driver-dkms and qdctl at VERSION, lintian-clean" {
	need_opt_in
	local tree
	tree=$(git -C "$QD_ROOT" status --porcelain --ignored -- debian)
	run make -s -C "$QD_ROOT" deb DEB_OUT="$DEBS"
	assert_success
	refute_line --regexp '^[EW]: '
	assert_output --partial "deb: lintian"
	assert [ -f "$DEBS/queue-driver-dkms_${QD_VERSION}_all.deb" ]
	assert [ -f "$DEBS/qdctl_${QD_VERSION}_$(dpkg --print-architecture).deb" ]
	# The build ran in a copy: debian/ is as it was, no debhelper files.
	assert_equal "$(git -C "$QD_ROOT" status --porcelain --ignored -- debian)" "$tree"
}

@test "queue-driver-dkms holds the module source, dkms.conf, the udev rule and the group" {
	need_opt_in
	local deb=$DEBS/queue-driver-dkms_${QD_VERSION}_all.deb src=usr/src/queue_driver-$QD_VERSION
	run dpkg-deb -c "$deb"
	assert_success
	for f in "$src/dkms.conf" "$src/Kbuild" "$src/VERSION" "$src/driver/Kbuild" \
		"$src/driver/qd_main.c" "$src/driver/qd.h" "$src/uapi/linux/queue_driver.h" \
		lib/udev/rules.d/99-queue_driver.rules usr/lib/sysusers.d/queue-driver-dkms.conf; do
		assert_line --regexp " \./$f$"
	done
	run sh -c "dpkg-deb --fsys-tarfile '$deb' | tar -xOf - ./$src/dkms.conf"
	assert_line "PACKAGE_NAME=\"queue_driver\""
	assert_line "PACKAGE_VERSION=\"$QD_VERSION\""
	refute_line --regexp '^CLEAN='
	run sh -c "dpkg-deb --fsys-tarfile '$deb' | tar -xOf - ./usr/lib/sysusers.d/queue-driver-dkms.conf"
	assert_line "g queue - -"
	run dpkg-deb -f "$deb" Depends
	assert_output --regexp '(^|, )dkms( \([^)]*\))?(,|$)'
}

@test "qdctl holds the binary, the seed names, the man page, the completion and the unit" {
	need_opt_in
	local deb a
	deb=$(ls "$DEBS"/qdctl_"${QD_VERSION}"_*.deb)
	run dpkg-deb -c "$deb"
	assert_success
	for f in usr/bin/qdctl usr/share/man/man1/qdctl.1.gz \
		usr/share/bash-completion/completions/qdctl \
		"lib/systemd/system/qdctl-worker@.service"; do
		assert_line --regexp " \./$f$"
	done
	for a in configurator filler reader job_submitter worker; do
		assert_line --regexp " \./usr/libexec/qdctl/$a -> \.\./\.\./bin/qdctl$"
	done
	# dpkg-deb -I: no maintainer scripts besides the md5sums.
	run dpkg-deb -I "$deb"
	refute_line --regexp ' (postinst|prerm|postrm|preinst)( |$)'
}

@test "dpkg -i installs both; DKMS builds the module for the guest kernel, loads nothing" {
	need_install
	[ -f "$DEBS/queue-driver-dkms_${QD_VERSION}_all.deb" ] || fail "no packages (make deb failed)"
	snapshot >"$BATS_FILE_TMPDIR/before"
	cut -d: -f1 /etc/group | LC_ALL=C sort >"$BATS_FILE_TMPDIR/groups-before"

	run qd_dpkg -i "$DEBS/queue-driver-dkms_${QD_VERSION}_all.deb" \
		"$DEBS"/qdctl_"${QD_VERSION}"_*.deb
	assert_success
	need_installed
	run dkms status -m queue_driver -v "$QD_VERSION" -k "$KVER"
	assert_output --regexp "^queue_driver/$QD_VERSION, $KVER, [^:]+: installed$"
	run modinfo -k "$KVER" -n queue_driver
	assert_output --regexp "^/lib/modules/$KVER/updates/dkms/queue_driver\.ko(\.(xz|zst|gz))?$"
	run modinfo -k "$KVER" -F version queue_driver
	assert_output "$QD_VERSION"
	getent group queue
	run /usr/bin/qdctl --version
	assert_output "qdctl $QD_VERSION"
	# Built and installed, never loaded here (/sys/module lists loaded
	# modules on any kernel; /proc/modules is missing without CONFIG_MODULES).
	[ ! -e /sys/module/queue_driver ] || fail "queue_driver is loaded on the host"
}

@test "systemd-analyze verify accepts the installed worker unit; man qdctl exists" {
	need_install
	need_installed
	# --man=no: the man: link is checked on its own, below, so that a
	# missing man-db does not show up as a broken unit.
	run systemd-analyze verify --man=no qdctl-worker@job.service
	assert_success
	assert_output ""
	run man -w qdctl
	assert_success
	assert_output --regexp '^/usr/share/man/man1/qdctl\.1(\.gz)?$'
}

@test "in a guest without insmod: modprobe, udev rule, group, workflow, worker unit" {
	need_install
	local path
	need_installed
	# Not bats' own PATH: bats-core's libexec first breaks a nested bats.
	path=$(tr ':' '\n' <<<"$PATH" | grep -v '/bats-core$' | paste -sd:)
	run "$QD_ROOT/scripts/vm" --no-load --timeout 600 --env "PATH=$path" \
		--env "QD_VERSION=$QD_VERSION" -- \
		bats --tap "$QD_ROOT/tests/packages/in-guest.bats" </dev/null
	printf '# guest: %s\n' "${lines[@]}" >&3
	assert_success
	refute_line --regexp '^not ok '
	assert_line --regexp '^1\.\.[1-9][0-9]*$'
}

@test "dpkg -r removes the module and every file the packages installed" {
	need_install
	local p
	need_installed
	# Conffiles stay after -r, until --purge; the packages have none so
	# far, but any they get are allowed to stay here.
	dpkg-query -W -f='${Conffiles}\n' "${PKGS[@]}" | awk 'NF { print $1 }' |
		LC_ALL=C sort >"$BATS_FILE_TMPDIR/conffiles"
	run qd_dpkg -r "${PKGS[@]}"
	assert_success
	: >"$BATS_FILE_TMPDIR/removed"
	for p in "${PKGS[@]}"; do
		# (without conffiles or a postrm, dpkg forgets it at once)
		run dpkg-query -W -f='${db:Status-Status}' "$p"
		[ "$status" != 0 ] || assert_output --regexp '^(not-installed|config-files)$'
	done
	# The module is gone from the guest kernel's tree and from DKMS.
	run modinfo -k "$KVER" -n queue_driver
	assert_failure
	run find -H "/lib/modules/$KVER" -name 'queue_driver.ko*'
	assert_output ""
	run dkms status -m queue_driver
	assert_output ""
	snapshot >"$BATS_FILE_TMPDIR/after-r"
	# Nothing removed that was there before; nothing new but conffiles.
	run comm -23 "$BATS_FILE_TMPDIR/before" "$BATS_FILE_TMPDIR/after-r"
	assert_output ""
	run comm -13 "$BATS_FILE_TMPDIR/before" "$BATS_FILE_TMPDIR/after-r"
	assert_output "$(cat "$BATS_FILE_TMPDIR/conffiles")"
}

@test "dpkg --purge then leaves the files exactly as before the install" {
	need_install
	local p
	[ -e "$BATS_FILE_TMPDIR/removed" ] || fail "dpkg -r never ran"
	run qd_dpkg --purge "${PKGS[@]}"
	assert_success
	for p in "${PKGS[@]}"; do
		run dpkg-query -W -f='${db:Status-Status}' "$p"
		[ "$status" != 0 ] || assert_output not-installed
	done
	snapshot >"$BATS_FILE_TMPDIR/after"
	run diff "$BATS_FILE_TMPDIR/before" "$BATS_FILE_TMPDIR/after"
	assert_success # no file left behind, none removed
}

@test "the purge keeps the queue group, as Debian keeps system groups, and nothing else" {
	need_install
	[ -f "$BATS_FILE_TMPDIR/groups-before" ] || fail "dpkg -i never ran"
	cut -d: -f1 /etc/group | LC_ALL=C sort >"$BATS_FILE_TMPDIR/groups-after"
	# Groups only before (none allowed) or only after (queue, if it is new).
	run comm -3 "$BATS_FILE_TMPDIR/groups-before" "$BATS_FILE_TMPDIR/groups-after"
	assert_success
	if [ -e "$BATS_FILE_TMPDIR/had-group" ]; then
		assert_output ""
	else
		assert_output "$(printf '\tqueue')"
	fi
}

@test "DKMS adds and builds the checkout at VERSION with its dkms.conf" {
	need_install
	local ko
	[ ! -e "/usr/src/queue_driver-$QD_VERSION" ] || fail "/usr/src/queue_driver-$QD_VERSION exists"
	: >"$BATS_FILE_TMPDIR/dkms-added"
	run dkms add "$QD_ROOT"
	assert_success
	run dkms status -m queue_driver
	assert_output "queue_driver/$QD_VERSION: added"
	run dkms build "queue_driver/$QD_VERSION" -k "$KVER"
	assert_success
	run dkms status -m queue_driver -v "$QD_VERSION" -k "$KVER"
	assert_output --regexp "^queue_driver/$QD_VERSION, $KVER, [^:]+: built$"
	ko=$(find "/var/lib/dkms/queue_driver/$QD_VERSION/$KVER" -name 'queue_driver.ko*' -path '*/module/*')
	[ -n "$ko" ] || fail "dkms build left no queue_driver.ko"
	assert_equal "$(modinfo -F version "$ko")" "$QD_VERSION"
	assert_equal "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" "$KVER"
	run dkms remove "queue_driver/$QD_VERSION" --all
	assert_success
	rm -rf "/usr/src/queue_driver-$QD_VERSION"
	run dkms status -m queue_driver
	assert_output ""
	[ ! -e /var/lib/dkms/queue_driver ] || fail "/var/lib/dkms/queue_driver is left"
}
