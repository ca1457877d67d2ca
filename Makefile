# Convenience targets; the build itself is meson + ninja.
#   make demo   - install what is missing, build, run the demo in a lab
#   make test   - the whole test suite (what CI runs)
#   make fuzz   - every fuzz target for FUZZ_SECONDS (default 300) each
#   make bench  - benchmarks against the peers (bench/README.md)
#   make build  - release build in build/release
.PHONY: all build demo test fuzz bench docs clean deps

all: build

deps:
	@scripts/deps.sh

build: deps
	@scripts/build_release.sh

demo: build
	@scripts/demo.sh

test:
	@scripts/test.sh

fuzz: deps
	@scripts/fuzz.sh

bench: build
	@bench/run.sh

docs: build
	@scripts/gen-docs.sh

clean:
	rm -rf build
