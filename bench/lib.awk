# SPDX-License-Identifier: GPL-2.0
#
# bench/lib.awk - awk functions bench/pairs, fillread-pairs and
# pingpong-pairs share, put in front of their programs
# (awk "$(cat bench/lib.awk)"'...'): Debian's awk is mawk, which has no
# -i/@include.

# med(a, n): the median of a[1..n]; sorts a.
function med(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
