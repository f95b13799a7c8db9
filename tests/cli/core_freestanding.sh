#!/usr/bin/env bash
# The verifier core must link on a bare microcontroller: build the fwseal_core_freestanding
# archive (-ffreestanding -fno-builtin -nostdinc), list every symbol it imports, and fail on
# anything beyond the four routines a freestanding C compiler may emit calls to on its own
# (memcpy, memset, memmove, memcmp: GCC documents that a freestanding environment must provide
# them, for struct copies and loops it recognises). No malloc/free, no stdio, no other libc.
# In a sanitizer build (FWS_SANITIZE=ON) the compiler's own instrumentation calls (__asan_*,
# __ubsan_*) are allowed too; they come from the build flags, not from the code.
set -euo pipefail

: "${FWS_BUILD_DIR:?FWS_BUILD_DIR must name the CMake build directory}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "core_freestanding: $*" >&2
    exit 1
}

cmake --build "$FWS_BUILD_DIR" --target fwseal_core_freestanding >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; fail "building fwseal_core_freestanding failed"; }

archive="$FWS_BUILD_DIR/libfwseal_core_freestanding.a"
[[ -f "$archive" ]] || fail "no archive at $archive"

# Symbols defined anywhere in the archive, and symbols some member leaves undefined.
nm --defined-only -j "$archive" 2>/dev/null | grep -v -e '^$' -e ':$' | sort -u >"$tmp/defined"
nm -u -j "$archive" 2>/dev/null | grep -v -e '^$' -e ':$' | sort -u >"$tmp/undefined"
# Imports: undefined in some member and defined in none.
comm -23 "$tmp/undefined" "$tmp/defined" >"$tmp/imports"

# The archive must really hold the core (an empty archive would import nothing).
for sym in fws_sha256_portable_ops fws_hash_buf fws_image_verify_init fws_image_verify_update \
    fws_image_verify_final fws_policy_check fws_counter_raise fws_ct_eq fws_wipe fws_strerror; do
    grep -qx "$sym" "$tmp/defined" || fail "$sym is not defined in $archive"
done

allowed='^(memcpy|memset|memmove|memcmp)$'
if grep -qs '^FWS_SANITIZE:BOOL=ON$' "$FWS_BUILD_DIR/CMakeCache.txt"; then
    allowed='^(memcpy|memset|memmove|memcmp|__asan_.*|__ubsan_.*)$'
    echo "sanitizer build: allowing __asan_*/__ubsan_* instrumentation calls"
fi

echo "members: $(ar t "$archive" | tr '\n' ' ')"
echo "imports of libfwseal_core_freestanding.a ($(wc -l <"$tmp/imports") distinct):"
if [[ -s "$tmp/imports" ]]; then
    sed 's/^/  /' "$tmp/imports"
else
    echo "  (none)"
fi

bad=$(grep -Ev "$allowed" "$tmp/imports" || true)
[[ -z "$bad" ]] || fail "forbidden imports: $(echo "$bad" | tr '\n' ' ')"
echo "core_freestanding: ok"
