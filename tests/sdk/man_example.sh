#!/bin/bash
# man_example.sh PAGE SOURCE: the example plugin printed in PAGE (between the
# roff comments `.\" BEGIN example.cpp` and `.\" END example.cpp`, inside
# .EX/.EE) is SOURCE verbatim once the roff escapes \e and \- are undone, so
# the page shows exactly the file the test suite builds and loads
# (plugins/example, tests/integration/plugin_example.sh). To refresh the page
# after editing the file, replace the block with:
#   sed -e 's/\\/\\e/g' -e 's/-/\\-/g' SOURCE
set -u
page=${1:?usage: $0 PAGE SOURCE}
src=${2:?usage: $0 PAGE SOURCE}
[[ -r $page && -r $src ]] || { echo "$0: cannot read $page or $src" >&2; exit 1; }
block=$(awk '/^\.\\" BEGIN example\.cpp/ {on = 1; next} /^\.\\" END example\.cpp/ {on = 0} on' "$page" |
        sed -e '/^\.EX$/d' -e '/^\.EE$/d' -e 's/\\-/-/g' -e 's/\\e/\\/g')
if [[ -z $block ]]; then
    echo "FAIL: no example block in $page" >&2
    exit 1
fi
if ! diff -u "$src" <(printf '%s\n' "$block"); then
    echo "FAIL: the example in $page differs from $src (diff above)" >&2
    exit 1
fi
echo "ok: the example in $(basename "$page") is $(basename "$src") verbatim ($(wc -l <"$src") lines)"
