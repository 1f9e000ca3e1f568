# The two commands of the README: `make demo` and `make test`. Everything else is a helper.
BUILD ?= build
JOBS  ?= $(shell nproc)
CTEST_JOBS ?= 3

.PHONY: all deps build test demo bench soak lint format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)

# Every test: unit, integration against real servers, fuzz smoke runs. ctest's summary is last.
test: build
	@cd $(BUILD) && ctest --output-on-failure --timeout 600 -j $(CTEST_JOBS) -LE soak

demo: build
	@scripts/demo.sh

bench: build
	@for b in bench/*.sh; do echo "== $$b"; "$$b" || exit 1; done

soak: build
	@cd $(BUILD) && HECS_SOAK=1 ctest --output-on-failure -L soak

# clang-tidy over the C++ files changed since main's merge base (slow: not part of `make test`).
lint: build
	@files=$$(git diff --name-only --diff-filter=AM $$(git merge-base HEAD origin/main 2>/dev/null || git rev-list --max-parents=0 HEAD) -- 'src/*.cpp' 'tests/*.cpp'); \
	  if [ -n "$$files" ]; then clang-tidy-14 -p $(BUILD) $$files; else echo "lint: nothing changed"; fi

format:
	@git ls-files 'src/*.h' 'src/*.cpp' 'tests/*.h' 'tests/*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
