#!/usr/bin/env bash
# A two-node Slurm cluster for tests, made of network namespaces of its own:
#   - "ctl" holds a bridge at 10.213.0.1, slurmctld and S3Proxy (the store both nodes share);
#   - "n1" (10.213.0.11) and "n2" (10.213.0.12) each run a slurmd, joined to the bridge by a veth,
#     so that Slurm sees two hosts.
# munged runs outside them with its own key and socket (a Unix socket: every namespace reaches it).
# Usage: cluster.sh start DIR S3PROXY_JAR | cluster.sh stop DIR
# "start" prints nothing on success and leaves in DIR: slurm.conf, env (variables for the client
# commands), netns (the namespace names), s3.endpoint. Everything is stopped and removed by "stop".
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"
cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: cluster.sh start DIR S3PROXY_JAR | stop DIR" >&2; exit 2; }

stop() {
  if [ -f "$dir/netns" ]; then
    for ns in $(cat "$dir/netns"); do
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    done
    sleep 0.2
    for ns in $(cat "$dir/netns"); do ip netns del "$ns" 2>/dev/null || true; done
  fi
  if [ -f "$dir/munge/munged.pid" ]; then
    kill "$(cat "$dir/munge/munged.pid")" 2>/dev/null || true
  fi
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi
[ "$cmd" = start ] || { echo "cluster.sh: unknown command $cmd" >&2; exit 2; }
jar="${3:?cluster.sh start needs the S3Proxy jar}"
for bin in slurmctld slurmd sbatch scontrol sinfo munged ip; do
  command -v "$bin" >/dev/null 2>&1 || {
    echo "cluster.sh: $bin is missing: install the Debian packages slurmctld, slurmd, slurm-client, munge and iproute2 (./scripts/test does)" >&2
    exit 1
  }
done
trap 'stop' ERR
mkdir -p "$dir"/{munge,ctld,log,s3} "$dir"/spool/n1 "$dir"/spool/n2
chmod 700 "$dir" "$dir/munge"
tag="cks$$"
echo "$tag-ctl $tag-n1 $tag-n2" > "$dir/netns"

# munge: a fresh key, a socket of its own.
head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chmod 600 "$dir/munge/munge.key"
munged --force -S "$dir/munge/munge.sock" --key-file="$dir/munge/munge.key" --log-file="$dir/log/munged.log" \
  --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed" >/dev/null 2>>"$dir/log/munged.log"

# The namespaces and their links.
ip netns add "$tag-ctl"
ip -n "$tag-ctl" link set lo up
ip -n "$tag-ctl" link add br0 type bridge
ip -n "$tag-ctl" addr add 10.213.0.1/24 dev br0
ip -n "$tag-ctl" link set br0 up
for i in 1 2; do
  ip netns add "$tag-n$i"
  ip -n "$tag-n$i" link set lo up
  ip link add "$tag-h$i" netns "$tag-ctl" type veth peer name eth0 netns "$tag-n$i"
  ip -n "$tag-ctl" link set "$tag-h$i" master br0 up
  ip -n "$tag-n$i" addr add "10.213.0.1$i/24" dev eth0
  ip -n "$tag-n$i" link set eth0 up
done

cat > "$dir/slurm.conf" <<CONF
ClusterName=ckpttest
SlurmctldHost=$(hostname -s)(10.213.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock,cred_expire=10
CredType=cred/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/ctld/slurmctld.pid
SlurmdPidFile=$dir/spool/%n/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/linear
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
JobRequeue=1
KillWait=30
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
Waittime=0
NodeName=n1 NodeAddr=10.213.0.11 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
NodeName=n2 NodeAddr=10.213.0.12 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=main Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
# The machine's cgroup v1 hierarchies are mounted on a tmpfs, which autodetection takes for no
# cgroup at all; nothing here confines jobs (proctrack/linuxproc, task/none).
echo "CgroupPlugin=cgroup/v1" > "$dir/cgroup.conf"
export SLURM_CONF="$dir/slurm.conf"
echo "SLURM_CONF=$dir/slurm.conf" > "$dir/env"

ip netns exec "$tag-ctl" slurmctld -c -i >>"$dir/log/slurmctld.out" 2>&1
for i in 1 2; do
  ip netns exec "$tag-n$i" slurmd -N "n$i" >>"$dir/log/slurmd-n$i.out" 2>&1
done

# S3Proxy on the bridge address: the store both nodes reach.
cat > "$dir/s3/s3proxy.properties" <<PROPS
s3proxy.endpoint=http://10.213.0.1:9000
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=testkey
s3proxy.credential=testsecret
jclouds.provider=filesystem
jclouds.filesystem.basedir=$dir/s3/data
s3proxy.ignore-unknown-headers=true
PROPS
mkdir -p "$dir/s3/data/ckpt"
ip netns exec "$tag-ctl" setsid java -Xmx512m -jar "$jar" --properties "$dir/s3/s3proxy.properties" \
  >"$dir/log/s3proxy.log" 2>&1 < /dev/null &
echo "http://10.213.0.1:9000" > "$dir/s3.endpoint"

# Ready when both nodes are idle and S3Proxy answers.
for _ in $(seq 1 300); do
  idle=$(ip netns exec "$tag-ctl" sinfo -h -N -o "%N %t" 2>/dev/null | grep -c " idle" || true)
  s3=$(ip netns exec "$tag-n1" bash -c 'exec 3<>/dev/tcp/10.213.0.1/9000' 2>/dev/null && echo up || true)
  if [ "$idle" = 2 ] && [ "$s3" = up ]; then
    trap - ERR
    exit 0
  fi
  sleep 0.2
done
echo "cluster.sh: the cluster was not ready in 60 s: nodes: $(ip netns exec "$tag-ctl" sinfo -h -N -o '%N %t' 2>&1 | tr '\n' ' ')" >&2
tail -5 "$dir/log/slurmctld.log" "$dir"/log/slurmd-*.log "$dir/log/s3proxy.log" >&2 || true
stop
exit 1
