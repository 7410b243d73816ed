#!/usr/bin/env bash
# Checkpoint and restore of a 1 GiB image through the NFS store's direct mode, against a raw
# sequential NFSv3 write and read of the same bytes, in the same run. NFS-Ganesha exports a
# directory on tmpfs inside a network namespace made for this run. Needs root, nfs-ganesha,
# nfs-ganesha-vfs and rpcbind. Usage: benchmarks/nfs.sh [iterations, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-5}
mvn -B -q -ntp -Dquick -DskipTests -Dstyle.color=never -pl benchmarks -am package
ns="ckpt-nfs-bench-$$"
work=$(mktemp -d /dev/shm/ckpt-nfsbench-XXXXXX)
mkdir -p "$work/export" "$work/recovery"
sed -e "s#@EXPORT_DIR@#$work/export#" -e "s#@RECOVERY_DIR@#$work/recovery#" > "$work/ganesha.conf" <<'CONF'
NFS_CORE_PARAM { NFS_Port = 2049; MNT_Port = 20048; Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; Protocols = 3, 4; mount_path_pseudo = true; }
NFSV4 { Graceless = true; Lease_Lifetime = 10; RecoveryRoot = @RECOVERY_DIR@; }
EXPORT_DEFAULTS { Attr_Expiration_Time = 0; Access_Type = RW; Squash = No_Root_Squash; SecType = sys; }
EXPORT { Export_Id = 1; Path = @EXPORT_DIR@; Pseudo = /export; Protocols = 3, 4; Transports = TCP; Access_Type = RW; Squash = No_Root_Squash; FSAL { Name = VFS; } }
NFS_KRB5 { Active_krb5 = false; }
MDCACHE { Dir_Chunk = 0; }
LOG { Default_Log_Level = EVENT; }
CONF
ip netns add "$ns"
cleanup() {
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
  sleep 1
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" rpcbind -f -w &
sleep 1
ip netns exec "$ns" ganesha.nfsd -F -f "$work/ganesha.conf" -L "$work/ganesha.log" -p "$work/ganesha.pid" &
for _ in $(seq 1 100); do
  ip netns exec "$ns" rpcinfo -p 127.0.0.1 2>/dev/null | grep -q mountd && break
  sleep 0.2
done
sleep 2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, Linux $(uname -r), $(java -version 2>&1 | head -1)"
echo "NFS-Ganesha $(ganesha.nfsd -v 2>&1 | grep -o 'V[0-9.]*' | head -1) (VFS on tmpfs), NFSv3/TCP on 127.0.0.1 in a network namespace, $iterations iterations, medians:"
ip netns exec "$ns" java -Xmx2g -cp benchmarks/target/benchmarks.jar dev.ckpt.benchmarks.NfsTransfer 127.0.0.1 /export "$iterations"
