# The two commands of the README:
#   make run   installs what is needed, builds, and runs tock on examples/
#   make test  installs what is needed, builds, and runs every test (ctest)
# `make` alone builds build/tock.  SANITIZE=1 builds with ASan+UBSan in
# build-asan/.  FUZZ=0 skips the bounded fuzzing runs of `make test`.

SANITIZE ?= 0
FUZZ ?= 1
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

ifeq ($(SANITIZE),1)
BUILD := build-asan
CMAKE_FLAGS := -DTOCK_SANITIZE=ON
else
BUILD := build
CMAKE_FLAGS :=
endif
FUZZ_BUILD := build-fuzz

.PHONY: all deps build build-tock run run-replicas test test-unit test-fuzz bench clean

all: build

deps:
	@sh scripts/install-deps

$(BUILD)/Makefile: CMakeLists.txt
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

build: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

build-tock: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS) --target tock -- --no-print-directory

run: deps build-tock
	@sh scripts/run-example $(BUILD)/tock

# The example on three replicas sharing a private PostgreSQL (scripts/run-replicas).
run-replicas: deps build-tock
	@sh scripts/run-replicas $(BUILD)/tock

test: deps build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE fuzz
ifeq ($(FUZZ),1)
	@$(MAKE) --no-print-directory test-fuzz
endif

# Fuzz targets need clang's libFuzzer; they always build with ASan+UBSan.
test-fuzz:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DTOCK_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers -- --no-print-directory
	@cd $(FUZZ_BUILD) && ctest --output-on-failure -L fuzz

bench: deps build
	@sh bench/run-all $(BUILD)

clean:
	rm -rf build build-asan build-fuzz
