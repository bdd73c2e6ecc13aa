#!/bin/bash
# Lint every man page in a directory: `groff -man -ww -z PAGE` must print
# nothing. Usage: lint.sh MANDIR. Exit 0 when every page is clean, 1 when a
# page has warnings, groff is missing or there is nothing to check.
set -u

dir=${1:-}
if [[ -z $dir || ! -d $dir ]]; then
    echo "usage: $0 MANDIR" >&2
    exit 1
fi
if ! command -v groff >/dev/null 2>&1; then
    echo "$0: groff is not installed (apt-get install groff)" >&2
    exit 1
fi

shopt -s nullglob
pages=("$dir"/*.[1-9])
if ((${#pages[@]} == 0)); then
    echo "$0: no man pages (*.[1-9]) in $dir" >&2
    exit 1
fi

status=0
for page in "${pages[@]}"; do
    out=$(groff -man -ww -z "$page" 2>&1)
    if [[ $? -ne 0 || -n $out ]]; then
        echo "$page: groff -man -ww -z reported:" >&2
        [[ -n $out ]] && printf '%s\n' "$out" >&2
        status=1
    else
        echo "$page: clean"
    fi
done
exit $status
