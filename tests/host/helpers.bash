# SPDX-License-Identifier: GPL-2.0
#
# Host suites (tests/host/NNN-*.bats) say `load helpers` like the guest
# suites; bats looks next to the suite, so this forwards to tests/helpers.bash.
source "$(dirname "${BASH_SOURCE[0]}")/../helpers.bash"
