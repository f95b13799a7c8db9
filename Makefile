# fwseal: two commands for a newcomer.
#   make demo   installs what is missing, builds, and runs the main job
#   make test   installs what is missing, builds, and runs every test
# Other targets: build, asan, fuzz, format, format-check, bench, clean.

NPROC    ?= $(shell nproc 2>/dev/null || echo 2)
BUILD    ?= build
ASAN     ?= build-asan
CMAKE    ?= cmake
SOURCES   = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find src include tests bench -name '*.[ch]')

.PHONY: all setup build install asan test test-asan-all test-fast demo fuzz format format-check bench clean

all: build

setup:
	@scripts/setup

build:
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build $(BUILD) -j$(NPROC)

# clang with AddressSanitizer + UndefinedBehaviorSanitizer; also builds the libFuzzer targets.
asan:
	@$(CMAKE) -S . -B $(ASAN) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DFWS_SANITIZE=ON -DFWS_FUZZ=ON >/dev/null
	@$(CMAKE) --build $(ASAN) -j$(NPROC)

test: setup format-check build asan
	@echo "== tests (gcc, -Werror) =="
	@ctest --test-dir $(BUILD) -j$(NPROC) --output-on-failure -LE fuzz
	@echo "== unit tests under ASan+UBSan, each libFuzzer target for 10 s =="
	@ctest --test-dir $(ASAN) -j$(NPROC) --output-on-failure -L 'unit|fuzz'

# The command-line and interop tests under ASan+UBSan too (slower; not part of `make test`).
test-asan-all: setup asan
	@ctest --test-dir $(ASAN) -j$(NPROC) --output-on-failure -LE interop

# Only the normal build's tests, no setup: for a quick loop while editing.
test-fast: build
	@ctest --test-dir $(BUILD) -j$(NPROC) --output-on-failure -LE fuzz

demo: setup build
	@scripts/demo

fuzz: setup
	@$(CMAKE) -S . -B $(ASAN) -DFWS_FUZZ_SECONDS=60 >/dev/null
	@$(MAKE) --no-print-directory asan
	@ctest --test-dir $(ASAN) --output-on-failure -L fuzz
	@$(CMAKE) -S . -B $(ASAN) -DFWS_FUZZ_SECONDS=10 >/dev/null

format:
	@clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run -Werror $(SOURCES) && echo "format: ok"

bench: setup build
	@for b in bench/*.sh; do echo "== $$b"; bash $$b || exit 1; done

PREFIX ?= /usr/local
# Binaries, man pages, systemd units, data (CycloneDX schemas), headers and libraries.
install: build
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX="$(PREFIX)" >/dev/null
	@$(CMAKE) --build $(BUILD) -j$(NPROC)
	@DESTDIR="$(DESTDIR)" $(CMAKE) --install $(BUILD) --prefix "$(PREFIX)"

clean:
	rm -rf $(BUILD) $(ASAN)
