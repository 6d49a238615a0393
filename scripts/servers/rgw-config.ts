/** Paths and ports of one throwaway Ceph cluster, all under `dir`. */
export interface RgwLayout {
  dir: string;
  fsid: string;
  monPort: number;
  rgwPort: number;
}

/**
 * ceph.conf for a single-node cluster that lives entirely in `dir` on 127.0.0.1: no auth, one memstore OSD
 * of 4 GiB (held in memory only as it fills; at 1 GiB the suite's objects plus a fleet on RGW came close to
 * "full", after which every write hangs), pools of size 1 with 8 PGs, every run/log/pid/socket path inside `dir`. `osd crush update on
 * start = false` and `osd class update on start = false` because the OSD otherwise sends CRUSH commands
 * during init, sometimes before its monitor client knows the cluster fsid, and dies with "wrong fsid".
 */
export function renderCephConf(l: RgwLayout): string {
  const d = l.dir;
  return `[global]
fsid = ${l.fsid}
mon host = v1:127.0.0.1:${l.monPort}
mon initial members = a
public addr = 127.0.0.1
ms bind msgr2 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
mon warn on insecure global id reclaim allowed = false
mon warn on pool no redundancy = false
run dir = ${d}/run
log file = ${d}/log/$name.log
pid file = ${d}/run/$name.pid
admin socket = ${d}/run/$name.asok
crash dir = ${d}/crash
exporter sock dir = ${d}/run
mon data = ${d}/mon/$cluster-$id
osd data = ${d}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = 4294967296
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd crush update on start = false
osd class update on start = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${l.rgwPort} tcp_nodelay=1
rgw data = ${d}/rgw
rgw enable usage log = false
`;
}
