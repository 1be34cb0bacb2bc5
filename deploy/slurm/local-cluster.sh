#!/bin/bash
# A one-node Slurm cluster on this machine, to try deploy/slurm/array.sbatch for real.
# Needs root and Debian's slurm-wlm and munge (installed by `install`).
#
#   deploy/slurm/local-cluster.sh install   # apt-get install slurm-wlm munge
#   deploy/slurm/local-cluster.sh start     # write the configuration, start munged, slurmctld, slurmd
#   deploy/slurm/local-cluster.sh status    # sinfo and squeue
#   deploy/slurm/local-cluster.sh stop      # stop the daemons this script started
set -euo pipefail

host=$(hostname)
state=/run/forumsim-local-cluster

install_packages() {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

start() {
  command -v slurmctld >/dev/null || install_packages
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm \
    /run/munge /var/lib/munge /var/log/munge /etc/munge "$state"
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key /run/munge /var/lib/munge /var/log/munge /etc/munge
  chmod 400 /etc/munge/munge.key
  local mem
  mem=$(( $(free -m | awk '/^Mem:/ {print $2}') - 1024 ))
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmUser=root
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- munged --force 2>/dev/null || munged --force
    touch "$state/munged"
  fi
  if ! pgrep -x slurmctld >/dev/null; then
    slurmctld
    touch "$state/slurmctld"
  fi
  if ! pgrep -x slurmd >/dev/null; then
    slurmd
    touch "$state/slurmd"
  fi
  for _ in $(seq 1 60); do
    if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      sinfo
      return 0
    fi
    sleep 1
  done
  echo "local-cluster: the node did not come up; see /var/log/slurm" >&2
  sinfo >&2 || true
  return 1
}

stop() {
  [ -f "$state/slurmd" ] && [ -f /run/slurmd.pid ] && kill "$(cat /run/slurmd.pid)" 2>/dev/null || true
  [ -f "$state/slurmctld" ] && [ -f /run/slurmctld.pid ] && kill "$(cat /run/slurmctld.pid)" 2>/dev/null || true
  [ -f "$state/munged" ] && pkill -x munged 2>/dev/null || true
  rm -rf "$state"
}

case "${1:-}" in
  install) install_packages ;;
  start) start ;;
  stop) stop ;;
  status) sinfo; squeue ;;
  *) echo "usage: $0 install|start|status|stop" >&2; exit 2 ;;
esac
