#!/usr/bin/env bash
# maicoin-ws beside the original ``maicoin`` distribution (its REST client maicoin.v3), both
# installed with pip from their wheels into fresh venvs, in every order the README promises:
# after each step, .ci/coexistence_check.py checks what ``import maicoin.ws`` and
# ``import maicoin.v3`` give and that every file either distribution recorded is intact.
#
# Needs PyPI (the original's wheel and both distributions' dependencies, downloaded once).
# The original needs Python >= 3.12 (its maicoin.v3 uses PEP 695 syntax): the first such
# Python found runs the checks, or COEXIST_PYTHON. With none, the machine's python3 runs them
# with the original installed --ignore-requires-python, and maicoin.v3 is checked as found by
# the import system, not imported.
set -euo pipefail
cd "$(dirname "$0")/.."

ORIGINAL_SPEC="${COEXIST_ORIGINAL:-maicoin==0.7.0}"
CHECK="$PWD/.ci/coexistence_check.py"

runs_312() {  # a Python that runs (a pyenv shim may not) and is >= 3.12
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1
}
find_python() {
    if [[ -n "${COEXIST_PYTHON:-}" ]]; then
        echo "$COEXIST_PYTHON"
        return
    fi
    local candidate
    for candidate in python3.12 python3.13 python3.14 \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
        if runs_312 "$candidate"; then
            command -v "$candidate"
            return
        fi
    done
    echo python3
}

PY=$(find_python)
echo "coexistence: $("$PY" --version) ($PY), original: $ORIGINAL_SPEC"
EXTRA=()
V3=import
if ! runs_312 "$PY"; then
    echo "coexistence: no Python >= 3.12 here: maicoin.v3 is checked as found, not imported"
    EXTRA=(--ignore-requires-python)
    V3=found
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/maicoin-coexist.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

quiet() {  # run a command, without pip's notes about this machine's unused local indexes
    "$@" 2>&1 | { grep -v "^WARNING: Location '.*' is ignored" || true; }
}
venv() {
    "$PY" -m venv "$WORK/$1"
}
pip_in() {
    local env=$1
    shift
    quiet "$WORK/$env/bin/python" -m pip --disable-pip-version-check --quiet "$@"
}
add() {  # add ENV WHEEL...: pip install, dependencies from the downloaded folder only
    local env=$1
    shift
    pip_in "$env" install --no-index --find-links "$WORK/deps" "${EXTRA[@]}" "$@"
}
remove() {
    pip_in "$1" uninstall --yes "$2"
}
check() {  # check ENV LABEL EXPECTATION...
    local env=$1
    shift
    (cd "$WORK" && "$WORK/$env/bin/python" "$CHECK" "$@")
}

# Our wheel, built once for this Python; the original's wheel from PyPI; then every
# dependency of both into one folder, so each venv installs from it without the network.
quiet "$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/ours" .
OURS=$(ls "$WORK"/ours/maicoin_ws-*.whl)
quiet "$PY" -m pip download --quiet --no-deps --only-binary=:all: "${EXTRA[@]}" \
    --dest "$WORK/original" "$ORIGINAL_SPEC"
ORIGINAL=$(ls "$WORK"/original/maicoin-*.whl)
quiet "$PY" -m pip download --quiet "${EXTRA[@]}" --dest "$WORK/deps" "$OURS" "$ORIGINAL"

# The two wheels share no path (what makes every order below work).
"$PY" - "$OURS" "$ORIGINAL" <<'PY'
import sys, zipfile
ours, original = (set(zipfile.ZipFile(p).namelist()) for p in sys.argv[1:])
shared = sorted(ours & original)
assert not shared, f"the two wheels share {shared}"
print(f"ok  the wheels share no path ({len(ours)} files in ours, {len(original)} in the original)")
PY

# 1. The original first, then ours; then uninstall the original, then ours too.
venv a
add a "$ORIGINAL"
check a "original alone" ws=original v3=$V3
add a "$OURS"
check a "original, then maicoin-ws" ws=ours v3=$V3
remove a maicoin
check a "  ... uninstall maicoin" ws=ours v3=none
remove a maicoin-ws
check a "  ... uninstall maicoin-ws too" ws=none v3=none

# 2. Ours first, then the original; then uninstall ours.
venv b
add b "$OURS"
check b "maicoin-ws alone" ws=ours v3=none
add b "$ORIGINAL"
check b "maicoin-ws, then original" ws=ours v3=$V3
remove b maicoin-ws
check b "  ... uninstall maicoin-ws" ws=original v3=$V3

# 3. The original first, then ours; uninstall ours.
venv c
add c "$ORIGINAL"
add c "$OURS"
remove c maicoin-ws
check c "original, maicoin-ws, uninstall maicoin-ws" ws=original v3=$V3

# 4. Ours first, then the original; uninstall the original.
venv d
add d "$OURS"
add d "$ORIGINAL"
remove d maicoin
check d "maicoin-ws, original, uninstall maicoin" ws=ours v3=none

# 5. Both in one pip command; then reinstall (as an upgrade does) each over the other.
venv e
add e "$ORIGINAL" "$OURS"
check e "both in one pip install" ws=ours v3=$V3
add e --force-reinstall --no-deps "$ORIGINAL"
check e "  ... reinstall maicoin" ws=ours v3=$V3
add e --force-reinstall --no-deps "$OURS"
check e "  ... reinstall maicoin-ws" ws=ours v3=$V3

echo "coexistence: every sequence holds"
