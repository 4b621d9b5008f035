#!/bin/sh
# tools/dev.sh — one entry point for a fresh Debian bookworm machine (as root) or a developer:
#   sh tools/dev.sh run [ember flags]   install what is missing, build, run ember
#   sh tools/dev.sh test                install what is missing, build twice (gcc -Werror;
#                                       clang -Werror with ASan+UBSan and libFuzzer), run every
#                                       test, print "N passed, M failed"
#   sh tools/dev.sh build               install and build only
#   sh tools/dev.sh fuzz [secs] [name…] a long libFuzzer campaign (default 300 s per target, all
#                                       targets), random seeds, crashes kept in build-asan/fuzz-crashes
# Set-up is idempotent: packages already present are not touched, builds are incremental.
set -eu
cd "$(dirname "$0")/.."

BUILD_PKGS="gcc clang libclang-rt-14-dev meson ninja-build pkg-config libuv1-dev node-llhttp
libzstd-dev libyaml-dev libpcre2-dev zlib1g-dev libcrypt-dev libssl-dev"
TEST_PKGS="python3 python3-pytest prometheus-node-exporter prometheus-alertmanager curl openssl apache2-utils chromium"

install_missing() {
    missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    echo "dev.sh: installing:$missing"
    if [ "$(id -u)" -ne 0 ]; then
        echo "dev.sh: need root to install packages (run as root or install them)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Debian's postinst scripts try to start services (node exporter); in containers without an
    # init system that is expected to be refused, so policy-rc.d tells them not to.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        remove_policy=1
    fi
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
    [ "${remove_policy:-0}" = 1 ] && rm -f /usr/sbin/policy-rc.d
    return 0
}

# $1 build dir, then meson options. Reconfigures every time: modules compile the files present.
build() {
    dir=$1
    shift
    if [ -d "$dir" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
    ninja -C "$dir"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
run)
    install_missing $BUILD_PKGS
    build build -Dwerror=true
    exec ./build/server/ember "$@"
    ;;
build)
    install_missing $BUILD_PKGS
    build build -Dwerror=true
    ;;
test)
    install_missing $BUILD_PKGS $TEST_PKGS
    build build -Dwerror=true
    CC=clang build build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dfuzzing_engine=libfuzzer -Dc_args=-fno-sanitize-recover=all
    status=0
    meson test -C build --no-rebuild --print-errorlogs --num-processes 2 || status=1
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        meson test -C build-asan --no-rebuild --print-errorlogs --num-processes 2 || status=1
    # End-to-end: the real binary (plain and sanitized) against real peers on 127.0.0.1.
    for b in build build-asan; do
        EMBER_BIN="$PWD/$b/server/ember" ASAN_OPTIONS=detect_leaks=1 \
            /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e --junitxml="$b/e2e-junit.xml" \
            || status=1
    done
    # The web UI in Debian's headless chromium, once, against the gcc build (about half a
    # minute); screenshots land in build/browser-artifacts.
    rm -f build/browser-junit.xml
    EMBER_BIN="$PWD/build/server/ember" BROWSER_ARTIFACTS="$PWD/build/browser-artifacts" \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/browser \
        --junitxml=build/browser-junit.xml || status=1
    /usr/bin/python3 tools/testsum.py build build-asan
    exit $status
    ;;
fuzz)
    # The test suite fuzzes each target for 10 s from a fixed seed, so CI is repeatable; this is
    # the deeper search a developer runs before landing a parser change. Its work corpus persists
    # in build-asan/fuzz-work; add an input that matters to tests/fuzz/corpus/<name>/ by hand.
    install_missing $BUILD_PKGS
    CC=clang build build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dfuzzing_engine=libfuzzer -Dc_args=-fno-sanitize-recover=all
    secs=${1:-300}
    [ $# -gt 0 ] && shift
    names=${*:-$(ls build-asan/tests/fuzz | sed -n 's/^fuzz_\([a-z_]*\)$/\1/p')}
    status=0
    for n in $names; do
        mkdir -p "build-asan/fuzz-work/$n" build-asan/fuzz-crashes
        echo "dev.sh: fuzzing $n for $secs s"
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
            "build-asan/tests/fuzz/fuzz_$n" -max_total_time="$secs" -max_len=65536 -timeout=10 \
            -error_exitcode=1 -print_final_stats=1 -artifact_prefix="build-asan/fuzz-crashes/$n-" \
            "build-asan/fuzz-work/$n" "tests/fuzz/corpus/$n" \
            > "build-asan/fuzz-work/$n.log" 2>&1 || { status=1; echo "dev.sh: $n FAILED, see build-asan/fuzz-work/$n.log"; }
    done
    exit $status
    ;;
*)
    echo "usage: sh tools/dev.sh run|build|test|fuzz" >&2
    exit 2
    ;;
esac
