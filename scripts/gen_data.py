"""Deterministic sample/bench data: sales CSV (10 % quoted with embedded commas and doubled
quotes), the same as JSON lines, an application log with 1 % ERROR lines, and gzip/zstd copies."""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

REGIONS = ["EU", "US", "APAC", "LATAM", "MEA"]
PRODUCTS = [f"P{i:04d}" for i in range(500)]
STATUS = ["shipped", "shipped", "shipped", "pending", "cancelled", "returned"]
COLUMNS = "order_id,ts,customer_id,region,product,qty,unit_price,discount,status,comment"


def sales_rows(n: int, seed: int = 7):
    rnd = random.Random(seed)
    for i in range(n):
        ts = f"2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}"
        comment = ""
        if rnd.random() < 0.10:
            comment = 'said "hi", then left'
        elif rnd.random() < 0.3:
            comment = "ok"
        yield {
            "order_id": i + 1,
            "ts": ts,
            "customer_id": rnd.randint(1, 200_000),
            "region": rnd.choice(REGIONS),
            "product": rnd.choice(PRODUCTS),
            "qty": rnd.randint(1, 20),
            "unit_price": round(rnd.uniform(1, 500), 2),
            "discount": round(rnd.choice([0, 0, 0.05, 0.1, 0.2]), 2),
            "status": rnd.choice(STATUS),
            "comment": comment,
        }


def csv_field(v: object) -> str:
    s = str(v)
    if any(c in s for c in ',"\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def write_sales_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(COLUMNS + "\n")
        for r in sales_rows(rows):
            f.write(",".join(csv_field(v) for v in r.values()) + "\n")


def write_sales_jsonl(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in sales_rows(rows):
            f.write(json.dumps(r) + "\n")


def write_log(path: Path, lines: int, seed: int = 11) -> None:
    rnd = random.Random(seed)
    levels = ["INFO"] * 90 + ["DEBUG"] * 6 + ["WARN"] * 3 + ["ERROR"]
    with path.open("w", encoding="utf-8") as f:
        for i in range(lines):
            lvl = rnd.choice(levels)
            f.write(f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}Z {lvl} svc-{rnd.randint(1, 9)} request {i} took {rnd.randint(1, 900)} ms\n")


def write_compressed(src: Path, dst: Path) -> None:
    """dst = src compressed by dst's suffix, the CLIs' default levels (.gz: gzip -6, .zst: zstd -3),
    streamed. Byte-identical on every run: no time stamp or file name in the gzip header."""
    with src.open("rb") as f, dst.open("wb") as out:
        if dst.suffix == ".gz":
            with gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=out, mtime=0) as z:
                while chunk := f.read(8 << 20):
                    z.write(chunk)
        elif dst.suffix == ".zst":
            import zstandard  # a dev dependency; only the .zst copy needs it

            zstandard.ZstdCompressor(level=3).copy_stream(f, out)
        else:
            raise ValueError(f"{dst}: expected a .gz or .zst name")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--log-lines", type=int, default=5000)
    ap.add_argument("--gzip", action="store_true", help="also write sales.csv.gz")
    ap.add_argument("--zstd", action="store_true", help="also write sales.csv.zst")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    write_sales_csv(a.out / "sales.csv", a.rows)
    write_sales_jsonl(a.out / "sales.jsonl", a.rows)
    write_log(a.out / "app.log", a.log_lines)
    for wanted, suffix in ((a.gzip, ".gz"), (a.zstd, ".zst")):
        if wanted:
            write_compressed(a.out / "sales.csv", a.out / f"sales.csv{suffix}")


if __name__ == "__main__":
    main()
