#!/usr/bin/env python3
"""collector_vms_check.py — the collector's VM view against the stored
flows and against the VMs' own captures (tests/integration/collector_vms.sh).

Inputs:
  --inventory FILE     the lab's inventory.json
  --vm-pcap NAME=FILE  a capture on VM NAME's eth0 (every VM of the lab)
  --rows FILE          `vtap flows -d STORE -j -n 0` (every stored row)
  --vms FILE           `vtap vms -j` (the collector's per-VM statistics)
  --service VM=PROTO/PORT   a service VM must list as answered (repeatable)
  --once-agg KEY=FILE  `vtap flows --once -j -A KEY -n 0` (or the API with
                       once=1), KEY srcvm or dstvm (repeatable)
  --rows-once FILE     `vtap flows --once -j -n 0`

Checks, for every VM, exactly:
  1. bytes/packets in/out of `vtap vms -j` = the sums of the stored rows
     under the count-once rule (recomputed here from the rows: the
     collector's own bookkeeping is not trusted);
  2. = the ground truth: IP packets and bytes the VM sent (source MAC its
     own) and received (destination MAC its own) on its eth0, by tshark;
  3. the locality split (same-host / cross-host / outside) of 2, by the
     peer's address: a VM of the same host, of another host, or neither;
  4. same-host flows stored once (one row per flow key), cross-host flows
     twice (both agents) with exactly one of the two counted, and the
     collector's duplicate count equal to the receiver-side rows;
  5. the services listed;
  6. the verdict stored with each row (`dup`) is exactly the rule's: the
     rows marked dup are the ones it does not count, and `--once`
     aggregates per VM (srcvm: out, dstvm: in) equal `vtap vms -j` exactly.
Prints what it checked; exits 1 on any mismatch.
"""
import argparse
import collections
import ipaddress
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_compare import tshark_flows  # noqa: E402  (ground truth, shared)

INGRESS, EGRESS = 0, 1
LOCS = ("same_host", "cross_host", "outside")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inventory", required=True)
    ap.add_argument("--vm-pcap", action="append", default=[])
    ap.add_argument("--rows", required=True)
    ap.add_argument("--vms", required=True)
    ap.add_argument("--service", action="append", default=[])
    ap.add_argument("--once-agg", action="append", default=[])
    ap.add_argument("--rows-once")
    a = ap.parse_args()

    inv = json.load(open(a.inventory))
    host_of = {v["name"]: v["host"] for v in inv["vms"]}
    vm_of_ip = {str(ipaddress.ip_address(v["ipv4"])): v["name"] for v in inv["vms"]}
    mac_of = {v["name"]: v["mac"].lower() for v in inv["vms"]}
    rows = json.load(open(a.rows))["flows"]
    vj = json.load(open(a.vms))
    vms = {v["name"]: v for v in vj["vms"]}
    bad = []

    def zero():
        return {"bytes_in": 0, "bytes_out": 0, "packets_in": 0, "packets_out": 0,
                "loc": {l: [0, 0] for l in LOCS}}

    # ---- 2, 3: ground truth from the VMs' own interfaces ------------------
    truth = collections.defaultdict(zero)
    for spec in a.vm_pcap:
        name, pcap = spec.split("=", 1)
        for (key, way), (pkts, byts, _mx, group, _smac) in tshark_flows(pcap, mac_of[name]).items():
            if group:
                bad.append("%s: a broadcast/multicast flow %s in the capture: the truth is "
                           "ambiguous, the test's traffic should have none" % (name, key))
                continue
            peer = vm_of_ip.get(key[1] if way == "out" else key[0])
            loc = ("outside" if peer is None else
                   "same_host" if host_of[peer] == host_of[name] else "cross_host")
            t = truth[name]
            t["bytes_" + way] += byts
            t["packets_" + way] += pkts
            t["loc"][loc][0 if way == "in" else 1] += byts

    # ---- 1: the count-once rule, recomputed from the stored rows ----------
    mgmt = {h["mgmt_ip"]: h["name"] for h in inv["hosts"]}
    metered = {r["vm"] for r in rows if r["vm"]}
    agent_hosts = {mgmt.get(r["exporter"]) for r in rows if r["vm"]}

    def is_metered(vm):
        return bool(vm) and (vm in metered or host_of.get(vm) in agent_hosts)

    def primary(r):
        if r["vm"] and r["vm"] == r["srcvm"] and r["direction"] != EGRESS:
            return True                                  # seen at the sender
        if r["vm"] and r["vm"] == r["dstvm"] and r["direction"] != INGRESS:
            return not is_metered(r["srcvm"])            # seen at the receiver
        return not (is_metered(r["srcvm"]) or is_metered(r["dstvm"]))

    stored = collections.defaultdict(zero)
    dups = [0, 0, 0]
    for r in rows:
        if not primary(r):
            dups = [dups[0] + 1, dups[1] + r["bytes"], dups[2] + r["packets"]]
            continue
        for side, d in (("srcvm", "out"), ("dstvm", "in")):
            if r[side]:
                w = stored[r[side]]
                w["bytes_" + d] += r["bytes"]
                w["packets_" + d] += r["packets"]

    for name in sorted(host_of):
        v = vms.get(name)
        if v is None:
            bad.append("%s missing from vtap vms -j" % name)
            continue
        for k in ("bytes_in", "bytes_out", "packets_in", "packets_out"):
            if v[k] != stored[name][k]:
                bad.append("%s %s: vtap vms says %d, the stored flows (count once) %d"
                           % (name, k, v[k], stored[name][k]))
            if v[k] != truth[name][k]:
                bad.append("%s %s: vtap vms says %d, the VM's own interface %d"
                           % (name, k, v[k], truth[name][k]))
        for l in LOCS:
            got = [v["locality"][l]["bytes_in"], v["locality"][l]["bytes_out"]]
            if got != truth[name]["loc"][l]:
                bad.append("%s %s bytes in/out: vtap vms says %s, the VM's interface %s"
                           % (name, l, got, truth[name]["loc"][l]))
        print("ok   %s: in %d B / %d pkts, out %d B / %d pkts; same-host %s, cross-host %s, "
              "outside %s (in, out bytes)" % (
                  name, v["bytes_in"], v["packets_in"], v["bytes_out"], v["packets_out"],
                  truth[name]["loc"]["same_host"], truth[name]["loc"]["cross_host"],
                  truth[name]["loc"]["outside"]))
        if v["bytes_in"] + v["bytes_out"] == 0:
            bad.append("%s: no traffic at all: the test's traffic did not run" % name)

    # ---- 4: same-host once, cross-host twice with one counted -------------
    per_key = collections.defaultdict(list)
    for r in rows:
        per_key[(r["src"], r["dst"], r["proto"], r["sport"], r["dport"])].append(r)
    same = cross = 0
    for key, rs in per_key.items():
        s, d = vm_of_ip.get(key[0]), vm_of_ip.get(key[1])
        if not (s and d):
            continue
        counted = sum(1 for r in rs if primary(r))
        if host_of[s] == host_of[d]:
            same += 1
            if len(rs) != 1:
                bad.append("same-host flow %s stored %d times (agent exported it more than once)"
                           % (key, len(rs)))
        else:
            cross += 1
            if len(rs) != 2 or counted != 1:
                bad.append("cross-host flow %s: %d rows, %d counted (want 2 rows, 1 counted)"
                           % (key, len(rs), counted))
    if same == 0 or cross == 0:
        bad.append("%d same-host and %d cross-host VM-to-VM flows: the traffic did not run"
                   % (same, cross))
    d = vj["totals"]["duplicates"]
    if [d["flows"], d["bytes"], d["packets"]] != dups:
        bad.append("the collector counted duplicates %s, the rows say %s (flows, bytes, packets)"
                   % (d, dups))
    print("ok   %d same-host flows stored once, %d cross-host flows stored twice and counted "
          "once (duplicates: %d rows, %d bytes, %d packets)" % (same, cross, *dups))

    # ---- 6: the stored verdict ---------------------------------------------
    wrong = [r for r in rows if r.get("dup") != (0 if primary(r) else 1)]
    for r in wrong[:5]:
        bad.append("row %s:%d -> %s:%d seen by %r (%s): stored dup=%r, the rule says %d"
                   % (r["src"], r["sport"], r["dst"], r["dport"], r["vm"], r["exporter"],
                      r.get("dup"), 0 if primary(r) else 1))
    if wrong:
        bad.append("%d of %d rows carry a verdict other than the rule's" % (len(wrong), len(rows)))
    marked = sum(1 for r in rows if r.get("dup") == 1)
    if marked != dups[0]:
        bad.append("%d rows marked dup, the rule finds %d duplicates" % (marked, dups[0]))
    if marked == 0:
        bad.append("no row marked dup: the cross-host traffic did not run")
    print("ok   the rows marked dup are exactly the %d the rule does not count" % marked)
    if a.rows_once:
        ro = json.load(open(a.rows_once))["flows"]
        if len(ro) != len(rows) - marked or any(r["dup"] for r in ro):
            bad.append("vtap flows --once lists %d rows (%d marked dup), want the %d counted"
                       % (len(ro), sum(1 for r in ro if r["dup"]), len(rows) - marked))
        else:
            print("ok   vtap flows --once lists the %d counted rows" % len(ro))
    for spec in a.once_agg:
        key, path = spec.split("=", 1)
        way = {"srcvm": "out", "dstvm": "in"}[key]
        res = json.load(open(path))
        got = {g[key]: g for g in res["groups"] if g[key] != "-"}
        for name in got:
            if name not in host_of:
                bad.append("%s: a group for %r, not a VM of the lab" % (path, name))
        for name in sorted(host_of):
            g = got.get(name, {"bytes": 0, "packets": 0})
            v = vms.get(name, {})
            for k in ("bytes", "packets"):
                if g[k] != v.get(k + "_" + way):
                    bad.append("%s %s_%s: %s says %d, vtap vms %s"
                               % (name, k, way, os.path.basename(path), g[k],
                                  v.get(k + "_" + way)))
        want = len(rows) - marked
        if res["summary"]["flows"] != want:
            bad.append("%s: %d flows counted once, the rows say %d"
                       % (path, res["summary"]["flows"], want))
        print("ok   %s (%s, count once) per VM = vtap vms %s, %d flows"
              % (os.path.basename(path), key, way, res["summary"]["flows"]))

    # ---- 5: services -------------------------------------------------------
    for spec in a.service:
        name, svc = spec.split("=", 1)
        proto, port = svc.split("/")
        have = {(s["proto"], s["port"]) for s in vms.get(name, {}).get("services", [])}
        if (proto, int(port)) not in have:
            bad.append("%s does not offer %s: %s" % (name, svc, sorted(have)))
        else:
            print("ok   %s offers %s" % (name, svc))

    if bad:
        print("\n".join(bad))
        return 1
    print("mismatches: 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
