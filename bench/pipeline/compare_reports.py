#!/usr/bin/env python3
"""Checks leadflow's pipeline report (`leadflow report pipeline --format json`) against the
pipeline benchmark's reference figures (reference_reports.py's JSON), figure by figure, rounded
as the reference rounds. Exits 1 on the first difference it prints.

  compare_reports.py REFERENCE.json LEADFLOW.json"""
import json, sys

def main():
    ref, ours = (json.load(open(p)) for p in sys.argv[1:3])
    stages = {s["stage"]: s for s in ours["stages"]}
    r6 = lambda x: None if x is None else round(x, 6)
    diffs = []
    def check(what, want, got):
        if want != got:
            diffs.append(f"{what}: reference {want}, leadflow {got}")
    for s, n in ref["reached"].items():
        check(f"reached[{s}]", n, stages[s]["reached"])
    conv = {f'{c["from"]}->{c["to"]}': c for c in ours["conversion"]}
    for k, v in ref["conversion"].items():
        check(f"conversion[{k}]", v, r6(conv[k]["rate"]))
    for s, f in ref["time_in_stage"].items():
        check(f"open[{s}]", f.get("open", 0), stages[s]["open"])
        check(f"completed[{s}]", f.get("completed", 0), stages[s]["completed"])
        for k in ("median_days", "p90_days"):
            check(f"{k}[{s}]", f.get(k), r6(stages[s][k]))
    owners = {o["owner"]: o for o in ours["owners"]}
    check("owners", sorted(ref["owners"]), sorted(owners))
    for o, f in ref["owners"].items():
        for k in ("leads", "won", "lost"):
            check(f"owners[{o}].{k}", f[k], owners[o][k])
        for k in ("win_rate", "median_days_to_won"):
            check(f"owners[{o}].{k}", f[k], r6(owners[o][k]))
    months = {m["month"]: m for m in ours["months"]}
    check("months with MQLs", sorted(ref["mql_per_month"]), sorted(m for m, v in months.items() if v["mqls"]))
    for m, n in ref["mql_per_month"].items():
        check(f"mql_per_month[{m}]", n, months[m]["mqls"])
    for m, v in ref["lead_velocity_rate"].items():
        check(f"lead_velocity_rate[{m}]", v, r6(months[m]["velocity_rate"]))
    sources = {s["source"]: s for s in ours["sources"]}
    check("sources", sorted(ref["sources"]), sorted(sources))
    for s, f in ref["sources"].items():
        check(f"sources[{s}]", (f["leads"], f["won"], f["conversion"]),
              (sources[s]["leads"], sources[s]["won"], r6(sources[s]["conversion"])))
    reasons = {f'{x["stage"]}:{x["reason"]}': x["count"] for x in ours["reasons"]}
    check("reasons", ref["reasons"], reasons)
    figures = (len(ref["reached"]) + len(ref["conversion"]) + 4 * len(ref["time_in_stage"])
               + 5 * len(ref["owners"]) + len(ref["mql_per_month"]) + len(ref["lead_velocity_rate"])
               + 3 * len(ref["sources"]) + len(ref["reasons"]))
    if diffs:
        print("\n".join(diffs[:20]))
        sys.exit(1)
    print(f"every figure matches the reference ({figures} figures)")

if __name__ == "__main__":
    main()
