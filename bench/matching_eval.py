"""Pairwise precision and recall of `harvest.matching` on a labeled evaluation set.

Run from the repository root:

    python -m bench.matching_eval                 # 4,000 generated editions + real data
    python -m bench.matching_eval --size 20000    # bigger generated part
    python -m bench.matching_eval --scale 1000000 # speed and memory at 10^6 records

Pairwise means: every pair of records is a decision.  A true positive is a pair the
matcher put in one cluster that is one edition; precision = TP / pairs merged, recall =
TP / pairs that are one edition.  Counts come from the cluster × truth contingency table,
so no N² loop is needed.  The set is built by `bench.matching_data` (see there for what
is real, what is generated and which hard negatives are in it).  Besides the totals the
report breaks recall down by cataloguing variant and false merges by hard-negative kind,
and prints example errors with the matcher's own evidence.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.matching_data import SHARED_DATA, EvalSet, Labeled, build, iter_scale_records  # noqa: E402
from harvest.matching import MatchRecord, cluster, evidence, other_editions  # noqa: E402


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    true_pairs: int = 0
    merged_pairs: int = 0

    @property
    def precision(self) -> float:
        return self.tp / self.merged_pairs if self.merged_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.tp / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self) -> str:
        return (f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}  "
                f"(pairs merged {self.merged_pairs:,}, one-edition pairs {self.true_pairs:,}, "
                f"TP {self.tp:,}, FP {self.fp:,}, FN {self.fn:,})")


@dataclass
class Report:
    records: int
    total: Counts
    by_origin: dict[str, Counts]
    recall_by_variant: dict[str, tuple[int, int]]  # variant → (recalled, pairs)
    false_merges_by_kind: dict[str, tuple[int, int]]  # negative kind → (merged, pairs)
    edition_links: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind → linked
    false_positives: list[tuple[Labeled, Labeled]] = field(default_factory=list)
    false_negatives: list[tuple[Labeled, Labeled]] = field(default_factory=list)
    seconds_prepare: float = 0.0
    seconds_cluster: float = 0.0
    excluded: int = 0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pair_counts(truth: dict[str, str], pred: dict[str, str], excluded_merged: int = 0
                ) -> Counts:
    """Pairwise TP/FP/FN over `truth`'s keys from the contingency table; pairs left out
    of the evaluation that the matcher merged are taken off the merged count."""
    cell = Counter((pred[k], t) for k, t in truth.items())
    tp = sum(_pairs(c) for c in cell.values())
    merged = sum(_pairs(c) for c in Counter(pred[k] for k in truth).values()) - excluded_merged
    true_pairs = sum(_pairs(c) for c in Counter(truth.values()).values())
    return Counts(tp, merged - tp, true_pairs - tp, true_pairs, merged)


def _excluded(data: EvalSet, x: Labeled, y: Labeled) -> bool:
    return frozenset((x.truth, y.truth)) in data.excluded or x.excluded_with(y)


def evaluate(data: EvalSet, year_slack: int | None = None, examples: int = 8) -> Report:
    """Run the matcher on the set and count."""
    t0 = time.perf_counter()
    mrecs = [MatchRecord.from_record(it.record) for it in data.items]
    t1 = time.perf_counter()
    pred = cluster(mrecs, year_slack=year_slack)
    t2 = time.perf_counter()
    truth = {it.record.key: it.truth for it in data.items}
    by_pred: dict[str, list[Labeled]] = defaultdict(list)
    for it in data.items:
        by_pred[pred[it.record.key]].append(it)
    # Merged pairs of different truth: false positives, unless left out of the counts.
    fps: list[tuple[Labeled, Labeled]] = []
    left_out: Counter[str] = Counter()
    for group in by_pred.values():
        if len({it.truth for it in group}) < 2:
            continue
        seen_truths: set[tuple[str, str]] = set()
        for i, x in enumerate(group):
            for y in group[i + 1:]:
                if x.truth == y.truth:
                    continue
                if _excluded(data, x, y):
                    left_out["all"] += 1
                    if x.origin == y.origin:
                        left_out[x.origin] += 1
                    continue
                t = (min(x.truth, y.truth), max(x.truth, y.truth))
                if t not in seen_truths:
                    seen_truths.add(t)
                    fps.append((x, y))
    total = pair_counts(truth, pred, left_out["all"])
    by_origin = {}
    for origin in ("generated", "real"):
        sub = {it.record.key: it.truth for it in data.items if it.origin == origin}
        if sub:
            by_origin[origin] = pair_counts(sub, pred, left_out[origin])

    by_truth: dict[str, list[Labeled]] = defaultdict(list)
    for it in data.items:
        by_truth[it.truth].append(it)
    recall_by: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    fns: list[tuple[Labeled, Labeled]] = []
    for group in by_truth.values():
        for i, x in enumerate(group):
            for y in group[i + 1:]:
                hit = pred[x.record.key] == pred[y.record.key]
                cats = set(x.variants) | set(y.variants)
                if x.record.format != y.record.format:
                    cats.add("cross_format")
                cats.add("all")
                for c in cats:
                    recall_by[c][0] += hit
                    recall_by[c][1] += 1
                if not hit:
                    fns.append((x, y))
    neg_by: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for it in data.items:
        if it.negative:
            for other in by_truth.get(it.negative_of, ()):
                if other.negative:
                    continue
                neg_by[it.negative][0] += pred[it.record.key] == pred[other.record.key]
                neg_by[it.negative][1] += 1
    # Natural hard negatives of the generator: the other volumes of a set.
    by_slot: dict[str, list[Labeled]] = defaultdict(list)
    for it in data.items:
        if it.origin == "generated" and not it.negative and not it.truth.endswith("v0"):
            by_slot[it.truth.rsplit("v", 1)[0]].append(it)
    for group in by_slot.values():
        for i, x in enumerate(group):
            for y in group[i + 1:]:
                if x.truth != y.truth:
                    neg_by["other_volume (generated sets)"][0] += (
                        pred[x.record.key] == pred[y.record.key])
                    neg_by["other_volume (generated sets)"][1] += 1
    # "Other editions": a made-up other edition / reprint should be linked to the cluster
    # of the edition it imitates; a same-titled book by someone else should not.
    links = other_editions(mrecs, pred)
    edition_links: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for it in data.items:
        if it.negative in ("other_edition", "reprint_year", "other_author"):
            mine = pred[it.record.key]
            theirs = {pred[o.record.key] for o in by_truth.get(it.negative_of, ())}
            if mine in theirs:
                continue  # merged by mistake: counted above
            edition_links[it.negative][0] += bool(theirs & set(links.get(mine, ())))
            edition_links[it.negative][1] += 1
    return Report(
        edition_links={k: (v[0], v[1]) for k, v in edition_links.items()},
        records=len(data.items), total=total, by_origin=by_origin,
        recall_by_variant={k: (v[0], v[1]) for k, v in recall_by.items()},
        false_merges_by_kind={k: (v[0], v[1]) for k, v in neg_by.items()},
        false_positives=fps[:examples], false_negatives=fns[:examples],
        seconds_prepare=t1 - t0, seconds_cluster=t2 - t1, excluded=len(data.excluded))


def _show(it: Labeled) -> str:
    r = it.record
    authors = ",".join(a.name for a in r.authors[:2])
    return (f"{r.key} [{it.truth}] {r.title!r} vol={r.volume!r} au={authors!r} "
            f"pub={r.publisher!r} {r.year} ed={r.edition!r} isbn={r.isbn}{r.isbn_invalid} "
            f"{'+'.join(it.variants)}")


def print_report(rep: Report, data: EvalSet, command: str) -> None:
    print(f"command: {command}")
    n = rep.records
    print(f"records: {n:,} ({sum(1 for i in data.items if i.origin == 'generated'):,} "
          f"generated, {sum(1 for i in data.items if i.origin == 'real'):,} real or derived "
          f"from real); {rep.excluded} pairs of unknowable truth excluded")
    for note in data.notes:
        print(f"note: {note}")
    print(f"ALL        {rep.total.line()}")
    for origin, c in rep.by_origin.items():
        print(f"{origin:<10} {c.line()}")
    goal = rep.total.precision >= 0.99 and rep.total.recall >= 0.95
    print(f"goal precision ≥ 0.99 and recall ≥ 0.95: {'MET' if goal else 'NOT MET'}")
    total_s = rep.seconds_prepare + rep.seconds_cluster
    print(f"time: MatchRecord.from_record {rep.seconds_prepare:.2f}s, cluster "
          f"{rep.seconds_cluster:.2f}s ({n / rep.seconds_cluster:,.0f} records/s clustering, "
          f"{n / total_s:,.0f} records/s end to end)")
    print("\nrecall by cataloguing variant (pairs where either record has it):")
    for k, (hit, tot) in sorted(rep.recall_by_variant.items(), key=lambda kv: -kv[1][1]):
        print(f"  {k:<28} {hit / tot:7.4f}  ({hit:,}/{tot:,})")
    print("\nhard negatives merged by mistake (pairs with the edition they imitate):")
    for k, (bad, tot) in sorted(rep.false_merges_by_kind.items()):
        print(f"  {k:<32} {bad:,} of {tot:,} pairs merged")
    print("\nlinked as other editions (record of a hard negative → cluster it imitates):")
    for k, (hit, tot) in sorted(rep.edition_links.items()):
        want = "should not be linked" if k == "other_author" else "should be linked"
        print(f"  {k:<32} {hit:,} of {tot:,} records linked ({want})")
    for title, pairs in (("false positives (merged, different editions)", rep.false_positives),
                         ("false negatives (one edition, not merged)", rep.false_negatives)):
        print(f"\n{title}: showing {len(pairs)}")
        for x, y in pairs:
            print(f"  A {_show(x)}\n  B {_show(y)}")
            why = evidence(MatchRecord.from_record(x.record), MatchRecord.from_record(y.record))
            print("    " + " | ".join(why))


def scale_run(n: int, command: str) -> None:
    """Time and memory of the merge at n records, through the JSON form the store keeps."""
    t0 = time.perf_counter()
    blobs: list[str] = []
    truth: dict[str, str] = {}
    facts: dict[str, int] = {}
    for rec, t, f in iter_scale_records(n):
        blobs.append(MatchRecord.from_record(rec).to_json())
        truth[rec.key] = t
        facts[t] = f
    t1 = time.perf_counter()
    mrecs = [MatchRecord.from_json(b) for b in blobs]
    del blobs
    t2 = time.perf_counter()
    pred = cluster(mrecs)
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Pairs of editions identical in every described fact but the ISBN are unknowable.
    cell = Counter((pred[k], t) for k, t in truth.items())
    per_cluster: dict[str, Counter[int]] = defaultdict(Counter)
    for (cid, t), c in cell.items():
        per_cluster[cid][facts[t]] += c
    left_out = 0
    for (cid, t), c in cell.items():
        same_facts = per_cluster[cid][facts[t]]
        left_out += c * (same_facts - c)
    counts = pair_counts(truth, pred, left_out // 2)
    print(f"command: {command}")
    print(f"records: {len(mrecs):,} (30 libraries, straight from editions, 20% with variants, "
          "10% without ISBN)")
    print(f"build records + MatchRecord.from_record + to_json: {t1 - t0:.1f}s "
          f"({len(mrecs) / (t1 - t0):,.0f} records/s)")
    print(f"from_json: {t2 - t1:.1f}s; cluster: {t3 - t2:.1f}s "
          f"({len(mrecs) / (t3 - t2):,.0f} records/s); clusters: {len(set(pred.values())):,}")
    print(f"peak RSS: {peak:,.0f} MB (whole process, incl. the JSON strings and truth tables)")
    print(f"quality on this set ({left_out // 2:,} merged pairs of editions that differ only "
          f"by ISBN left out): {counts.line()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matching_eval",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=4000, help="generated edition slots")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-real", action="store_true", help="generated records only")
    parser.add_argument("--data", default=str(SHARED_DATA), help="the shared data folder")
    parser.add_argument("--year-slack", type=int, default=None,
                        help="override harvest.matching.YEAR_SLACK")
    parser.add_argument("--no-ablation", action="store_true",
                        help="skip the comparison run with the other year slack")
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--scale", type=int, default=0,
                        help="instead: time and memory at this many records")
    parser.add_argument("--json", action="store_true", help="also print the totals as JSON")
    args = parser.parse_args(argv)
    command = "python -m bench.matching_eval " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.scale:
        scale_run(args.scale, command)
        return 0
    t0 = time.perf_counter()
    data = build(args.size, args.seed, Path(args.data), with_real=not args.no_real)
    print(f"built the evaluation set in {time.perf_counter() - t0:.1f}s")
    rep = evaluate(data, args.year_slack, args.examples)
    print_report(rep, data, command.strip())
    if not args.no_ablation:
        from harvest.matching import YEAR_SLACK

        current = YEAR_SLACK if args.year_slack is None else args.year_slack
        other = 0 if current else 1
        alt = evaluate(data, other, 0)
        print(f"\nablation: year slack {other} instead of {current}: {alt.total.line()}")
        for k in ("year_off_by_one",):
            hit, tot = alt.recall_by_variant.get(k, (0, 0))
            if tot:
                print(f"  recall on {k}: {hit / tot:.4f} ({hit}/{tot})")
        for k in ("reprint_year",):
            bad, tot = alt.false_merges_by_kind.get(k, (0, 0))
            print(f"  reprints merged: {bad} of {tot}")
    if args.json:
        print(json.dumps({"precision": rep.total.precision, "recall": rep.total.recall,
                          "f1": rep.total.f1, "tp": rep.total.tp, "fp": rep.total.fp,
                          "fn": rep.total.fn, "records": rep.records}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
