#!/bin/bash
# The cluster path, tested for real: a one-node Slurm cluster runs deploy/slurm/array.sbatch (the
# file users submit, unchanged) as a job array of 3 shards plus the dependent merge job; the merged
# result must be byte-identical to the same run in one process. Then a shard's completion marker is
# removed and the merge job must fail with a message naming the shard. Run from the repository root
# after `cargo build --release`; needs root (it starts munged, slurmctld and slurmd, and stops them).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin=$root/target/release/forumsim
work=$(mktemp -d /tmp/forumsim-slurm.XXXXXX)
cluster=$root/deploy/slurm/local-cluster.sh

cleanup() {
  "$cluster" stop || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "slurm test: FAILED: $*" >&2
  for log in "$work"/*.log; do
    [ -f "$log" ] && { echo "--- $log" >&2; cat "$log" >&2; }
  done
  exit 1
}

wait_for() {
  local deadline=$((SECONDS + 300))
  while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
    [ $SECONDS -gt $deadline ] && fail "job $1 still queued after 300 s"
    sleep 2
  done
}

"$cluster" start >/dev/null

cat > "$work/small.toml" <<TOML
extends = "$root/scenarios/status_quo.toml"
name = "slurm_small"
[run]
end_year = 2016
TOML

common="ALL,FORUMSIM=$bin,SCENARIO=$work/small.toml,REPS=9,SHARDS=3,OUT=$work/cluster"
cd "$work"
array=$(sbatch --parsable --array=0-2 --output="$work/shard-%a.log" --export="$common" "$root/deploy/slurm/array.sbatch")
merge=$(sbatch --parsable --dependency=afterok:"$array" --output="$work/merge.log" \
  --export="$common,MODE=merge" "$root/deploy/slurm/array.sbatch")
echo "slurm test: submitted array $array and merge $merge"
wait_for "$array"
wait_for "$merge"
[ -f "$work/cluster/result/summary.csv" ] || fail "the merge job wrote no result"
for i in 0 1 2; do
  grep -q "shard $i/3" "$work/shard-$i.log" || fail "array task $i did not run shard $i/3"
done

"$bin" run "$work/small.toml" --reps 9 --quiet --out "$work/single" >/dev/null
for f in summary.csv replications.csv states.csv; do
  cmp "$work/single/$f" "$work/cluster/result/$f" || fail "$f differs from the single-process run"
done
echo "slurm test: merged result is byte-identical to one process (summary, replications, states)"

# An incomplete shard: the merge job must fail and name it.
cp -r "$work/cluster" "$work/broken"
rm -rf "$work/broken/result"
rm "$work/broken/shard-1/shard.json"
broken=$(sbatch --parsable --output="$work/broken-merge.log" \
  --export="ALL,FORUMSIM=$bin,SHARDS=3,OUT=$work/broken,MODE=merge" "$root/deploy/slurm/array.sbatch")
wait_for "$broken"
grep -q "shard 1/3 is missing or incomplete" "$work/broken-merge.log" \
  || fail "the merge of an incomplete shard did not name it"
[ ! -e "$work/broken/result" ] || fail "the merge of an incomplete shard wrote a result"
echo "slurm test: a missing completion marker fails the merge job, naming shard 1/3"
echo "slurm: 2 passed, 0 failed"
