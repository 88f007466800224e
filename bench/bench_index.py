"""Indexing and query speed of the tantivy backend on synthetic Chinese records.

Run: python bench/bench_index.py [N] [--disk]
Prints docs/s for building documents and for indexing, and query latency percentiles.
The records are synthetic (titles made of common words), so the numbers say how the code
scales, not what a real catalogue's relevance looks like.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.model import Author, Holding, Record  # noqa: E402
from index.backend import SearchRequest  # noqa: E402
from index.documents import cluster_document  # noqa: E402
from index.tantivy_backend import TantivyBackend  # noqa: E402


def _split(words: str) -> list[str]:
    return words.split()


WORDS = _split(
    "中国 发展 报告 经济 社会 历史 文化 研究 教育 科学 技术 计算机 网络 数据 管理 理论 实践 "
    "陕西 西安 咸阳 宝鸡 农业 工业 城市 乡村 文学 小说 诗歌 散文 哲学 艺术 音乐 美术 法律 "
    "政治 军事 地理 旅游 医学 健康 儿童 青少年 读物 教程 手册 概论 导论 简史 全集 选集 年鉴 "
    "统计 地方志 县志 考古 博物馆 图书馆 档案 红楼梦 水浒传 西游记 三国演义 鲁迅 唐诗 宋词"
)
SURNAMES = _split("王 李 张 刘 陈 杨 赵 黄 周 吴 徐 孙 胡 朱 高 林 何 郭 马 罗")
GIVEN = _split("伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 刚 桂 英 华")
PUBLISHERS = [
    "人民出版社",
    "陕西人民出版社",
    "中华书局",
    "商务印书馆",
    "科学出版社",
    "人民文学出版社",
    "三秦出版社",
    "西北大学出版社",
    "高等教育出版社",
    "清华大学出版社",
]
LIBS = {
    "SXPL": {"code": "SXPL", "name": "陕西省图书馆", "region": "西安市", "level": "province"},
    **{
        f"L{i:02d}": {"code": f"L{i:02d}", "name": f"图书馆{i}", "region": f"市{i % 10}",
                      "level": "county"}
        for i in range(60)
    },
}  # fmt: skip


def synthetic(rng: random.Random, i: int) -> list[Record]:
    title = "".join(rng.sample(WORDS, rng.randint(2, 5)))
    year = rng.randint(1950, 2024)
    records = []
    for j in range(rng.choice((1, 1, 1, 2, 3))):
        lib = rng.choice(list(LIBS))
        records.append(
            Record(
                source=f"s{lib}",
                source_id=f"{i}-{j}",
                library=lib,
                title=title,
                authors=[Author(rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)))],
                publisher=rng.choice(PUBLISHERS),
                year=year,
                isbn=[f"978{rng.randint(0, 10**10 - 1):010d}"],
                clc=[rng.choice("ABCDIKTF") + str(rng.randint(100, 999))],
                subjects=rng.sample(WORDS, 2),
                language="chi",
                material_type=rng.choice(("book", "book", "book", "serial", "map")),
                summary="".join(rng.choices(WORDS, k=30)),
                holdings=[Holding(library=lib, call_number=f"I{rng.randint(100, 999)}/{i}")],
            )
        )
    return records


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=10_000)
    ap.add_argument("--disk", action="store_true", help="index into a temporary directory")
    args = ap.parse_args()
    rng = random.Random(42)  # noqa: S311 - reproducible synthetic data, not secrets
    clusters = [synthetic(rng, i) for i in range(args.n)]

    with tempfile.TemporaryDirectory() as tmp:
        backend = TantivyBackend(Path(tmp) if args.disk else None)
        backend.add([cluster_document("warm", clusters[0], LIBS)])  # load jieba/OpenCC first
        backend.clear()
        backend.commit()

        t0 = time.perf_counter()
        docs = [cluster_document(f"c{i}", recs, LIBS) for i, recs in enumerate(clusters)]
        t1 = time.perf_counter()
        backend.add(docs)
        backend.commit()
        t2 = time.perf_counter()
        n = backend.count()
        print(f"{n} docs")
        print(f"cluster_document: {args.n / (t1 - t0):,.0f} docs/s")
        print(f"add + commit:     {args.n / (t2 - t1):,.0f} docs/s")
        print(f"end to end:       {args.n / (t2 - t0):,.0f} docs/s")

        queries = [
            SearchRequest(q="中国发展报告"),
            SearchRequest(q="县志"),
            SearchRequest(q="hongloumeng"),
            SearchRequest(q="王伟", field="author"),
            SearchRequest(q="", filters={"region": ["市3"]}),
            SearchRequest(q="历史 文化", sort="year_desc", filters={"year_range": ["2000-2009"]}),
            SearchRequest(q="经济 不存在的词"),
            SearchRequest(q=docs[5]["isbn"][0]),
        ]
        for req in queries:
            times = []
            for _ in range(20):
                t = time.perf_counter()
                res = backend.search(req)
                times.append((time.perf_counter() - t) * 1000)
            label = f"{req.q!r} {req.field} {req.filters or ''}"
            print(
                f"{label:50s} total={res.total:6d}  median {statistics.median(times):6.2f} ms"
                f"  max {max(times):6.2f} ms"
            )
        backend.close()


if __name__ == "__main__":
    main()
