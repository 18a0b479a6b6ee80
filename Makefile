# copysweep: `make` builds ./copysweep; `make test` builds and runs every test.
# OpenMP is on by default (NO_OMP=1 turns it off); HDF5 and inih come from pkg-config. No BLAS computes
# a result (every product runs on copysweep's own kernels, the same bits on every CPU); `make bench`
# links OpenBLAS (BLAS_PC) and BLIS into its GEMM benchmark, to compare.

ifeq ($(origin CC),default)
CC = mpicc
endif
PKG_CONFIG ?= pkg-config
HDF5_PC ?= hdf5
BLAS_PC ?= openblas
INIH_PC ?= inih
PYTHON ?= /usr/bin/python3

OMPFLAGS := $(if $(NO_OMP),,-fopenmp)
# recursive (=) so that pkg-config runs after `make deps` has installed what it asks about
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(HDF5_PC) $(INIH_PC))
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(HDF5_PC) $(INIH_PC))
CPPFLAGS += -Iinclude -D_GNU_SOURCE $(PKG_CFLAGS)
CFLAGS ?= -O2 -g
# -ffp-contract=off: no multiply and add is fused unless the source says fmaf, so that every kernel
# path (each compiled for its own instruction set) computes the same bits; GCC's default under -std=c11
# but not clang's, and not GCC's under gnu11. -fno-trapping-math lets the compiler vectorize the
# branch-free nonlinearities, -fno-math-errno the square roots of Adam (no errno is read); no result
# changes. WERROR=1 (CI) makes every warning an error.
CFLAGS += -std=c11 -Wall -Wextra -MMD -MP -ffp-contract=off -fno-trapping-math -fno-math-errno $(OMPFLAGS) \
          $(if $(WERROR),-Werror)
LDLIBS += $(PKG_LIBS) -lm
LDFLAGS += $(OMPFLAGS)

SRC := $(wildcard src/*.c)
LIB_SRC := $(filter-out src/main.c,$(SRC))
OBJ := $(SRC:src/%.c=build/f32/%.o)
LIB_OBJ_F32 := $(LIB_SRC:src/%.c=build/f32/%.o)
# the double-precision build of the same sources, with sanitizers, for the gradient tests
LIB_OBJ_F64 := $(LIB_SRC:src/%.c=build/f64/%.o)
F64FLAGS := -DCS_DOUBLE -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
# the whole program and the float tests with AddressSanitizer and UBSan (make test-asan)
ASANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OBJ_ASAN := $(SRC:src/%.c=build/asan/%.o)
LIB_OBJ_ASAN := $(LIB_SRC:src/%.c=build/asan/%.o)

.PHONY: all test test-asan test-slurm test-hosts fuzz clean bench deps run report study long lr-search lr-search-tpe install uninstall docs
.SECONDARY: $(LIB_OBJ_F32) $(LIB_OBJ_F64) $(OBJ_ASAN)
all: copysweep

copysweep: $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/f32/%.o: src/%.c | build/f32
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
build/f64/%.o: src/%.c | build/f64
	$(CC) $(CPPFLAGS) $(CFLAGS) $(F64FLAGS) -c -o $@ $<
build/asan/%.o: src/%.c | build/asan
	$(CC) $(CPPFLAGS) $(CFLAGS) $(ASANFLAGS) -c -o $@ $<
build/f32 build/f64 build/tests build/asan build/asan/tests:
	mkdir -p $@
build/asan/copysweep: $(OBJ_ASAN)
	$(CC) $(LDFLAGS) -fsanitize=address,undefined -o $@ $^ $(LDLIBS)
build/asan/tests/%: tests/%.c $(LIB_OBJ_ASAN) | build/asan/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) $(ASANFLAGS) -o $@ $^ $(LDFLAGS) -fsanitize=address,undefined $(LDLIBS)

# tests/test_X.c links the library objects; *_f64 tests use the double build
build/tests/%_f64: tests/%.c $(LIB_OBJ_F64) | build/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) $(F64FLAGS) -o $@ $^ $(LDFLAGS) -fsanitize=address,undefined $(LDLIBS)
build/tests/%: tests/%.c $(LIB_OBJ_F32) | build/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

TEST_BINS := build/tests/test_gradcheck_f64 build/tests/xcheck_dump_f64 build/tests/test_data \
             build/tests/test_info build/tests/test_train build/tests/test_exec build/tests/test_tpe
test: copysweep $(TEST_BINS)
	PYTHON=$(PYTHON) tests/run_tests.sh

# the same suite with the program and the float tests built with ASan and UBSan (memory errors and
# undefined behaviour; leaks are valgrind's part: tests/test_valgrind.sh)
test-asan: build/asan/copysweep build/asan/tests/test_data build/asan/tests/test_info build/asan/tests/test_train \
           build/asan/tests/test_exec build/asan/tests/test_tpe \
           $(TEST_BINS)
	PYTHON=$(PYTHON) COPYSWEEP=build/asan/copysweep TEST_BINS=build/asan/tests SANITIZED=1 \
	    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run_tests.sh

# libFuzzer targets (clang; the library without OpenMP and MPI) for the readers of everything a user
# hands in: job files, the command line, checkpoints and results files. `make fuzz` runs each for
# FUZZ_SECONDS from its seed corpus (real files written by the target itself); a crash stops it and
# leaves the input in build/fuzz/; every crash found is kept in tests/fuzz/regressions/ and rerun.
# libhdf5 keeps memory of a corrupt file it gave up on: fuzz_results checks memory errors, not leaks.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := jobfile cli checkpoint results journal exec
FUZZ_CC := clang
FUZZFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LIB_OBJ_FUZZ := $(patsubst src/%.c,build/fuzz/%.o,$(filter-out src/sweep.c,$(LIB_SRC)))
.SECONDARY: $(LIB_OBJ_FUZZ)
build/fuzz:
	mkdir -p $@
build/fuzz/%.o: src/%.c | build/fuzz
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 -Wall -Wextra -Wno-unknown-pragmas -MMD -MP -ffp-contract=off -fno-trapping-math -fno-math-errno $(FUZZFLAGS) \
	    -fsanitize=fuzzer-no-link $(if $(WERROR),-Werror) -c -o $@ $<
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_OBJ_FUZZ) | build/fuzz
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 -Wall -Wextra $(FUZZFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lm
fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	tests/fuzz/run_fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# slurm/sweep.sbatch on a one-node Slurm cluster it starts on localhost (root; installs Slurm and munge)
test-slurm: copysweep
	PYTHON=$(PYTHON) tests/test_slurm.sh

# a sweep across three hosts, each a network namespace on this machine (root; about 25 s): equal to
# one host, a host lost, the master's host lost, slow links
test-hosts: copysweep
	PYTHON=$(PYTHON) tests/test_hosts.sh

bench: copysweep build/tests/bench_gemm_openblas
	-$(MAKE) --no-print-directory build/tests/bench_gemm_blis
	$(PYTHON) tests/bench.py $(BENCH_ARGS)

# the same GEMM benchmark against OpenBLAS and against BLIS (Debian's serial build, unpacked into
# build/blis so that no BLAS alternative of the system changes); single-threaded both
BLIS := build/blis/root/usr
MULTIARCH := $(shell gcc -print-multiarch)
build/tests/bench_gemm_openblas: tests/bench_gemm.c | build/tests
	gcc -O2 -std=c11 -D_GNU_SOURCE $(shell $(PKG_CONFIG) --cflags $(BLAS_PC)) -o $@ $< \
	    $(shell $(PKG_CONFIG) --libs $(BLAS_PC))
build/blis/.unpacked:
	mkdir -p build/blis && cd build/blis && apt-get download libblis4-serial libblis-serial-dev && \
	    for f in *.deb; do dpkg -x $$f root; done && touch .unpacked
build/tests/bench_gemm_blis: tests/bench_gemm.c build/blis/.unpacked | build/tests
	gcc -O2 -std=c11 -D_GNU_SOURCE -I$(BLIS)/include/$(MULTIARCH)/blis-serial -o $@ $< \
	    -L$(BLIS)/lib/$(MULTIARCH)/blis-serial -Wl,-rpath,$(abspath $(BLIS))/lib/$(MULTIARCH)/blis-serial -lblis

# the reference text of README.md and docs/usage.md (settings, exit statuses) from the program's help
docs: copysweep
	$(PYTHON) tests/gen_reference.py ./copysweep

# tables and figures of a results file (default: the main job's) in report/
RESULTS ?= quick.h5
report:
	$(PYTHON) analysis/report.py $(RESULTS) -o report

clean:
	rm -rf build copysweep

# make install [PREFIX=/usr/local] [DESTDIR=]: the program, its man page (generated from its help),
# copysweep-report (the report of a results file, under $(PYTHON)), the analysis modules (importable
# with PYTHONPATH=PREFIX/share/copysweep/analysis; the report's own, report_*.py and report_sections/,
# beside report.py), the sbatch scripts and the job files.
PREFIX ?= /usr/local
SHARE = $(DESTDIR)$(PREFIX)/share/copysweep
INSTALLED = $(DESTDIR)$(PREFIX)/bin/copysweep $(DESTDIR)$(PREFIX)/bin/copysweep-report \
            $(DESTDIR)$(PREFIX)/share/man/man1/copysweep.1 $(SHARE)
build/copysweep.1: copysweep | build
	./copysweep help man > $@
build:
	mkdir -p build
install: copysweep build/copysweep.1
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(SHARE)/analysis \
	    $(SHARE)/analysis/report_sections $(SHARE)/slurm $(SHARE)/jobs
	install -m 755 copysweep $(DESTDIR)$(PREFIX)/bin/copysweep
	install -m 644 build/copysweep.1 $(DESTDIR)$(PREFIX)/share/man/man1/copysweep.1
	install -m 644 analysis/load.py analysis/stats.py analysis/report_data.py analysis/report_doc.py \
	    analysis/report_explore.py $(SHARE)/analysis/
	install -m 644 analysis/report_sections/*.py $(SHARE)/analysis/report_sections/
	install -m 755 analysis/report.py $(SHARE)/analysis/
	install -m 755 slurm/sweep.sbatch slurm/array.sbatch $(SHARE)/slurm/
	install -m 644 jobs/*.ini $(SHARE)/jobs/
	printf '#!/bin/sh\n# the report of a copysweep results file: copysweep-report RESULTS.h5 [-o FOLDER]\nexec "$${COPYSWEEP_PYTHON:-%s}" "%s/share/copysweep/analysis/report.py" "$$@"\n' \
	    '$(PYTHON)' '$(PREFIX)' > $(DESTDIR)$(PREFIX)/bin/copysweep-report
	chmod 755 $(DESTDIR)$(PREFIX)/bin/copysweep-report
uninstall:
	rm -rf $(INSTALLED)

# Debian 12 packages: build, run, tests (python3-torch for the cross-check, procps for pgrep,
# valgrind, clang and its libFuzzer runtime for the fuzz targets), the analysis readers, and
# libopenblas-dev for make bench's comparison (no product of copysweep runs on a BLAS), iproute2 for
# make test-hosts, python3-plotly and chromium for the report to explore and its test
DEB_PACKAGES := build-essential pkg-config openmpi-bin libopenmpi-dev libhdf5-dev hdf5-tools \
                libopenblas-dev libinih-dev python3-h5py python3-numpy python3-pandas \
                python3-matplotlib python3-torch procps valgrind clang libclang-rt-14-dev iproute2 \
                python3-plotly chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# installs only what is missing, quietly
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    $(SUDO) apt-get -q update >/dev/null && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 \
	        install --no-install-recommends $$missing >/dev/null; \
	else echo "all packages present"; fi

# the main job: jobs/quick.ini on the local cores (a master and one single-threaded worker per
# core), written to quick.h5; mpirun needs --allow-run-as-root when run by root
NPROC := $(shell nproc)
MPIRUN ?= mpirun $(if $(filter 0,$(shell id -u)),--allow-run-as-root)
run: copysweep
	OMP_NUM_THREADS=1 $(MPIRUN) --oversubscribe -n $$(( $(NPROC) + 1 )) ./copysweep jobs/quick.ini

# the study (jobs/study.ini, 32 minutes on 2 cores with AVX-512) into study.h5, and its report in study-report/
study: copysweep
	OMP_NUM_THREADS=1 $(MPIRUN) --oversubscribe -n $$(( $(NPROC) + 1 )) ./copysweep jobs/study.ini
	$(PYTHON) analysis/report.py study.h5 -o study-report

# the long-range study (jobs/long.ini, 41 minutes on 2 cores with AVX-512) into long.h5, and its report in long-report/
long: copysweep
	OMP_NUM_THREADS=1 $(MPIRUN) --oversubscribe -n $$(( $(NPROC) + 1 )) ./copysweep jobs/long.ini
	$(PYTHON) analysis/report.py long.h5 -o long-report

# the learning-rate search beside the study (jobs/lr-search.ini, about 15 minutes on 2 cores)
lr-search: copysweep
	OMP_NUM_THREADS=1 $(MPIRUN) --oversubscribe -n $$(( $(NPROC) + 1 )) ./copysweep jobs/lr-search.ini
	$(PYTHON) analysis/report.py lr-search.h5 -o lr-search-report

# random search against TPE on the same learning-rate search (jobs/lr-search-late.ini and
# jobs/lr-search-tpe.ini, about 20 minutes each on 2 cores), compared by tests/bench_search.py
lr-search-tpe: copysweep
	OMP_NUM_THREADS=1 $(MPIRUN) --oversubscribe -n $$(( $(NPROC) + 1 )) ./copysweep jobs/lr-search-late.ini
	OMP_NUM_THREADS=1 $(MPIRUN) --oversubscribe -n $$(( $(NPROC) + 1 )) ./copysweep jobs/lr-search-tpe.ini
	$(PYTHON) tests/bench_search.py compare lr-search-late.h5 lr-search-tpe.h5
	$(PYTHON) analysis/report.py lr-search-tpe.h5 -o lr-search-tpe-report

-include $(OBJ:.o=.d) $(LIB_OBJ_F64:.o=.d) $(OBJ_ASAN:.o=.d) $(LIB_OBJ_FUZZ:.o=.d)
