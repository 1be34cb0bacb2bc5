#!/usr/bin/env bash
# Fault injection on the release binary, as a hostile or unlucky user would: a kill at each step of
# the final phase of a run (with and without an earlier result to replace) and SIGKILL at random
# moments, each followed by --resume; two writers of one result folder; tampered work and shard
# folders. Every check must hold; the last line says how many passed and failed.
# Usage: tests/fault/inject.sh [path/to/forumsim]  (about a minute on 2 cores)
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "${1:-target/release/forumsim}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
passed=0
failed=0
check() { # check NAME COMMAND...: the command must succeed
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $name"
  fi
}
same() { # same A B: the result files of A and B are byte-identical
  for f in summary.csv replications.csv states.csv scenario.toml; do
    cmp -s "$1/$f" "$2/$f" || { echo "  $f differs between $1 and $2"; return 1; }
  done
}
clean() { # clean: no work, trash or lock folder left in this folder
  local left
  left=$(find . -maxdepth 1 -name '.*' ! -name . | head -3)
  [ -z "$left" ] || { echo "  left behind: $left"; return 1; }
}
refused() { # refused WORD COMMAND...: exit code 2 and WORD in the message
  local word=$1 out code
  shift
  out=$("$@" 2>&1 >/dev/null)
  code=$?
  [ "$code" = 2 ] && grep -q -- "$word" <<<"$out" || { echo "  exit $code: $out"; return 1; }
}
flip() { # flip FILE OFFSET: changes one byte in place
  local old new
  old=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
  if [ "$old" = 90 ]; then new='\x5b'; else new='\x5a'; fi
  printf "$new" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

cat >small.toml <<TOML
extends = "$OLDPWD/scenarios/status_quo.toml"
name = "small"
[run]
end_year = 2016
TOML
quick=(run small.toml --quiet --no-charts --reps 6)
"$bin" "${quick[@]}" --out reference >/dev/null

# 1. A kill at each step of the final phase, then --resume.
for replace in no yes; do
  for step in staged marked moved-old published trashed removing; do
    [ "$step" = moved-old ] && [ "$replace" = no ] && continue
    out="kill-$step-$replace"
    extra=()
    if [ "$replace" = yes ]; then
      "$bin" run small.toml --quiet --no-charts --reps 3 --out "$out" >/dev/null
      extra=(--force)
    fi
    FORUMSIM_FAULT_KILL_AT=$step "$bin" "${quick[@]}" --out "$out" "${extra[@]}" >/dev/null 2>&1
    check "killed at $step (replace: $replace) ends with 137" test $? = 137
    check "resume after $step (replace: $replace)" \
      "$bin" "${quick[@]}" --out "$out" "${extra[@]}" --resume >/dev/null
    check "same files after $step (replace: $replace)" same reference "$out"
    check "nothing left after $step (replace: $replace)" clean
  done
done

# 2. SIGKILL at random moments of a longer run, then --resume.
long=(run small.toml --quiet --no-charts --reps 1500 --threads 2)
"$bin" "${long[@]}" --out long-reference >/dev/null
for k in 1 2 3; do
  "$bin" "${long[@]}" --out "long-$k" >/dev/null &
  pid=$!
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  check "resume after SIGKILL $k" "$bin" "${long[@]}" --out "long-$k" --resume >/dev/null
  check "same files after SIGKILL $k" same long-reference "long-$k"
done
check "nothing left after SIGKILL" clean

# 3. Two writers of one result folder: the second is refused, the first finishes.
"$bin" "${long[@]}" --out shared >/dev/null &
first=$!
for _ in $(seq 1 2000); do [ -e .shared.partial/checkpoint.json ] && break; sleep 0.01; done
check "a second writer is refused" refused "another forumsim process" "$bin" "${long[@]}" --out shared
check "a second writer with --force is refused" \
  refused "another forumsim process" "$bin" "${long[@]}" --out shared --force
wait "$first"
check "the first writer finishes" test $? = 0
check "the first writer's files" same long-reference shared

# 4. Tampered work folder: refused, left as it was; repaired, the resume goes on.
"$bin" "${long[@]}" --out tampered >/dev/null &
pid=$!
for _ in $(seq 1 2000); do [ -e .tampered.partial/checkpoint.json ] && break; sleep 0.01; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
for file in traces.bin records.bin checkpoint.json; do
  cp ".tampered.partial/$file" "$file.saved"
  flip ".tampered.partial/$file" 40
  check "a flipped byte in $file is refused" \
    refused "$file" "$bin" "${long[@]}" --out tampered --resume
  check "$file is left as it was" bash -c "! cmp -s .tampered.partial/$file $file.saved"
  cp "$file.saved" ".tampered.partial/$file"
done
check "the repaired work folder resumes" "$bin" "${long[@]}" --out tampered --resume >/dev/null
check "the repaired work folder's files" same long-reference tampered

# 5. Tampered and forged shard folders: the merge refuses them.
for i in 0 1 2; do "$bin" run small.toml --quiet --reps 7 --shard "$i/3" --out "s$i" >/dev/null; done
"$bin" merge s0 s1 s2 --out merged --no-charts >/dev/null
check "untouched shards merge" test -s merged/summary.csv
cp s1/results.bin results.saved
flip s1/results.bin 300
check "a flipped byte in a shard is refused" \
  refused checksum "$bin" merge s0 s1 s2 --out m1 --no-charts
cp results.saved s1/results.bin
sed -i 's/"master_seed": [0-9]*/"master_seed": 8/' s0/shard.json s1/shard.json s2/shard.json
check "a seed changed in every marker is refused" \
  refused "does not give the shard's results" "$bin" merge s0 s1 s2 --out m2 --no-charts
check "no merged folder from refused shards" test ! -e m1 -a ! -e m2

echo "fault injection: $passed passed, $failed failed"
[ "$failed" = 0 ]
