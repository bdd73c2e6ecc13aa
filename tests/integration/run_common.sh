# run_common.sh: shared setup of the driverfs-run tests (sourced, not run).
#
# Builds on lib/common.sh (fail/pass/expect_*, setup's temp dir and EXIT
# trap). Every driverfs-run here gets TMPDIR=$RUN_TMP, so its state directory
# is ours alone and expect_nothing_left can tell, even with other tests
# running at the same time, that no mount, daemon or directory of ours stays.
#
# Environment (set by tests/integration/meson.build):
#   DRIVERFS_RUN   the built driverfs-run
#   DRIVERFSCTL    the built driverfsctl
#   DRIVERFS_SRC   the source tree (for mountscripts/etc/demo.json)
#   SYS_PYTHON     a python3 with pyudev (the system one)

source "$(dirname "$0")/lib/common.sh"

run_setup() {
    setup
    [[ -n "${DRIVERFS_RUN:-}" && -x "$DRIVERFS_RUN" ]] || fail "DRIVERFS_RUN=${DRIVERFS_RUN:-} is not an executable"
    [[ -n "${DRIVERFSCTL:-}" && -x "$DRIVERFSCTL" ]] || fail "DRIVERFSCTL=${DRIVERFSCTL:-} is not an executable"
    [[ -f "${DRIVERFS_SRC:-}/mountscripts/etc/demo.json" ]] || fail "DRIVERFS_SRC=${DRIVERFS_SRC:-} has no mountscripts/etc/demo.json"
    DEMO="$DRIVERFS_SRC/mountscripts/etc/demo.json"
    RUN_TMP="$WORK/tmp"
    mkdir -p "$RUN_TMP" "$WORK/out"
    OUT="$WORK/out"
    # driverfsctl inside COMMAND is found on PATH, as a user would call it.
    PATH="$(dirname "$DRIVERFSCTL"):$PATH"
    printf '%s' "$INNER_LIB" > "$WORK/inner_lib.sh"
    INNER_LIB_FILE="$WORK/inner_lib.sh"
    export PATH OUT INNER_LIB_FILE
}

# drun ARGS...: driverfs-run with our private TMPDIR; status as it is.
drun() { TMPDIR="$RUN_TMP" "$DRIVERFS_RUN" "$@"; }

# expect_nothing_left: after a driverfs-run has exited, no process of it
# runs (its daemon's arguments name the state dir), nothing of it is mounted
# in this namespace, and its state dir is gone.
expect_nothing_left() {
    local procs mounts left
    procs=$(ps -eo pid=,args= | grep -F -- "$RUN_TMP/driverfs-run." | grep -v -e grep -e "ps -eo")
    [[ -z "$procs" ]] || fail "processes of driverfs-run still running: $procs"
    mounts=$(findmnt -rn -o TARGET,FSTYPE | grep -F -e "$RUN_TMP" || true)
    [[ -z "$mounts" ]] || fail "still mounted after driverfs-run: $mounts"
    left=$(ls -A "$RUN_TMP")
    [[ -z "$left" ]] || fail "driverfs-run left $left in its TMPDIR"
    pass "nothing left behind (ps, findmnt, TMPDIR)"
}

# wait_for_file FILE SECS [REGEX]: until FILE exists (and matches REGEX).
wait_for_file() {
    local i
    for ((i = 0; i < $2 * 20; i++)); do
        if [[ -f "$1" ]] && { [[ $# -lt 3 ]] || grep -qE -- "$3" "$1"; }; then return 0; fi
        sleep 0.05
    done
    fail "$1 did not ${3:+match /$3/ }within $2 s; it holds: $(cat "$1" 2>/dev/null)"
}

# expect_line WHAT FILE LINE: FILE has LINE, whole.
expect_line() {
    grep -qxF -- "$3" "$2" || fail "$1: no line '$3' in $(basename "$2"):"$'\n'"$(cat "$2")"
    pass "$1: '$3'"
}

# expect_grep WHAT FILE REGEX: some line of FILE matches REGEX.
expect_grep() {
    grep -qE -- "$3" "$2" || fail "$1: no line matches /$3/ in $(basename "$2"):"$'\n'"$(cat "$2")"
    pass "$1: a line matches /$3/"
}

# expect_no_line WHAT FILE REGEX: no line of FILE matches REGEX.
expect_no_line() {
    if grep -qE -- "$3" "$2"; then fail "$1: a line matches /$3/ in $(basename "$2"):"$'\n'"$(cat "$2")"; fi
    pass "$1: nothing matches /$3/"
}

# The inner scripts' helper, given to COMMAND as a file to source: waitfor
# FILE REGEX (bounded, 60 s) and a note of what timed out in $OUT/errors.
INNER_LIB='
waitfor() {
    local i
    for ((i = 0; i < 1200; i++)); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "timed out waiting for /$2/ in $1" >> "$OUT/errors"
    exit 1
}
waitgone() {
    local i
    for ((i = 0; i < 1200; i++)); do
        [[ -e "$1" ]] || return 0
        sleep 0.05
    done
    echo "timed out waiting for $1 to go" >> "$OUT/errors"
    exit 1
}
'

# inner_status WHAT STATUS: a COMMAND script's status must be 0; else show why.
inner_status() {
    if [[ "$2" != 0 ]]; then
        fail "$1: COMMAND exited $2; ${OUT}/errors: $(cat "$OUT/errors" 2>/dev/null)"
    fi
    pass "$1: COMMAND exited 0"
}
