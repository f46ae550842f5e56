# SPDX-License-Identifier: GPL-2.0
#
# queue_driver: top-level build. `make help` lists the targets.
#
# The module is built out of tree against KDIR (default: scripts/vm-kdir,
# the running kernel's headers if installed, else the newest installed
# /lib/modules/*/build). Tests never load it into the host kernel: they run
# it inside a QEMU guest booting that same kernel (scripts/vm).

KDIR ?= $(shell $(CURDIR)/scripts/vm-kdir 2>/dev/null)
KVER := $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' \
	  $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
export KDIR

PREFIX ?= /usr/local
DESTDIR ?=
INCDIR := $(DESTDIR)$(PREFIX)/include/linux
UDEVDIR := $(DESTDIR)/etc/udev/rules.d
MODDIR := $(DESTDIR)/lib/modules/$(KVER)/extra

# `make test T=tests/120-foo.bats` runs only the named guest suites.
T ?=
# NODEPS=1 skips scripts/deps (fast developer loop).
NODEPS ?=
# Where make deb puts the packages.
DEB_OUT ?= build/deb

KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR)

.PHONY: all module kmod qdctl tools tests-bin bench test test-debug demo vm \
	lint deb test-packages deps install uninstall load unload info clean distclean help \
	check-kdir

## all: build the module, qdctl and the tests' programs (default)
all: module qdctl tests-bin

check-kdir:
	@if [ -z "$(KDIR)" ] || [ ! -e "$(KDIR)/Makefile" ]; then \
		echo "make: no kernel build directory (KDIR='$(KDIR)');" \
			"install the headers (scripts/deps) or pass KDIR=" >&2; \
		exit 1; \
	fi

## module: build driver/queue_driver.ko (with W=1 warnings)
module: check-kdir
	$(KMAKE) W=1 modules

# The test-only module that WARNs on load (tests/host/010-vm.bats).
kmod: check-kdir
	$(MAKE) -C $(KDIR) M=$(CURDIR)/tests/kmod W=1 modules

## qdctl: build qdctl/qdctl
qdctl:
	$(MAKE) -C qdctl

## tools: same as qdctl (the seed's name)
tools: qdctl

## tests-bin: build the tests' C programs into tests/bin and tests/kmod
tests-bin: kmod
	$(MAKE) -C tests

## test: install missing deps, build, run host suites and all guest suites
test: $(if $(NODEPS),,deps)
	$(MAKE) all
	scripts/run-tests $(T)

## test-debug: the tests under a debug kernel (lockdep, KASAN, ...)
test-debug: $(if $(NODEPS),,deps)
	scripts/test-debug $(T)

## bench: build and run the benchmark
bench: module
	@if [ -f bench/Makefile ]; then $(MAKE) -C bench; fi
	scripts/bench

## demo: install missing deps, build, run the user's workflow in the guest
demo: $(if $(NODEPS),,deps)
	$(MAKE) module qdctl
	scripts/demo

## vm: build the module and open a shell in the guest with it loaded
vm: module
	scripts/vm

## lint: sparse, checkpatch --strict, cppcheck, W=1 build: no findings
lint: check-kdir
	scripts/lint

## deb: Debian packages queue-driver-dkms and qdctl in build/deb (scripts/deb)
deb:
	scripts/deb --out $(DEB_OUT)

## test-packages: build, install, use in a guest and purge the packages (root)
# tests/host/300-packages.bats installs packages on this machine, so make
# test skips it unless QD_TEST_PACKAGES=1 or CI=true.
test-packages: $(if $(NODEPS),,deps)
	QD_TEST_PACKAGES=1 scripts/run-tests tests/host/300-packages.bats

## deps: install the Debian packages the project needs (scripts/deps)
deps:
	scripts/deps

## install: install qdctl (+ seed names), man page, module, header, udev rule
install:
	@test -f driver/queue_driver.ko || { echo "make: build first: make" >&2; exit 1; }
	@test -x qdctl/qdctl || { echo "make: build first: make" >&2; exit 1; }
	$(MAKE) -C qdctl install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	install -d $(INCDIR) $(UDEVDIR) $(MODDIR)
	install -m 0644 uapi/linux/queue_driver.h $(INCDIR)/queue_driver.h
	install -m 0644 scripts/99-queue_driver.rules $(UDEVDIR)/99-queue_driver.rules
	install -m 0644 driver/queue_driver.ko $(MODDIR)/queue_driver.ko
	if [ -z "$(DESTDIR)" ]; then \
		getent group queue >/dev/null || groupadd --system queue; \
		depmod -a $(KVER); \
		udevadm control --reload 2>/dev/null || true; \
	fi
	@echo "installed; load it with: sudo modprobe queue_driver"

## uninstall: remove what install put in place
uninstall:
	$(MAKE) -C qdctl uninstall DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	rm -f $(INCDIR)/queue_driver.h $(UDEVDIR)/99-queue_driver.rules \
		$(MODDIR)/queue_driver.ko
	if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi

## load: insert driver/queue_driver.ko (REAL machine only, as root)
load:
	@test -f driver/queue_driver.ko || { echo "make: build first: make module" >&2; exit 1; }
	insmod driver/queue_driver.ko $(MODPARAMS)

## unload: remove the module (REAL machine only, as root)
unload:
	rmmod queue_driver

## info: show the build setup and, if loaded, the device and its counters
info:
	@echo "KDIR:         $(KDIR)"
	@echo "kernel:       $(KVER) (guest: /boot/vmlinuz-$(KVER))"
	@echo "host kernel:  $$(uname -r)"
	@if [ -f driver/queue_driver.ko ]; then \
		echo "module:       driver/queue_driver.ko ($$(modinfo -F vermagic driver/queue_driver.ko))"; \
	else echo "module:       not built (make module)"; fi
	@if [ -x qdctl/qdctl ]; then echo "qdctl:        qdctl/qdctl"; \
	else echo "qdctl:        not built (make qdctl)"; fi
	@if grep -qs '^queue_driver ' /proc/modules; then \
		echo "loaded:       yes"; ls -l /dev/queue_driver 2>/dev/null || true; \
		for f in /sys/class/misc/queue_driver/*; do \
			[ -f "$$f" ] && [ -r "$$f" ] && printf '  %-16s %s\n' "$${f##*/}" "$$(cat $$f)"; \
		done; true; \
	else echo "loaded:       no"; fi

## clean: remove build products (keeps build/cache)
clean:
	-$(KMAKE) clean
	-$(MAKE) -C $(KDIR) M=$(CURDIR)/tests/kmod clean
	-if [ -f qdctl/Makefile ]; then $(MAKE) -C qdctl clean; fi
	-if [ -f tests/Makefile ]; then $(MAKE) -C tests clean; fi
	-if [ -f bench/Makefile ]; then $(MAKE) -C bench clean; fi
	find build -mindepth 1 -maxdepth 1 ! -name cache -exec rm -rf {} + 2>/dev/null || true

## distclean: clean, and drop build/cache (initramfs, checkpatch)
distclean: clean
	rm -rf build

## help: this list
help:
	@echo "queue_driver: make [TARGET] [KDIR=...] [T=tests/NNN-x.bats] [NODEPS=1]"
	@sed -n 's/^## \([a-z-]*\): /  \1\t/p' $(MAKEFILE_LIST) | expand -t 17
