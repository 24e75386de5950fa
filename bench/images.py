"""Images: thumbnails/s (`thumbnail` step: decode, EXIF orientation, fit within 1024×1024,
JPEG q85) next to Pillow (open, exif_transpose, thumbnail LANCZOS, save q85) and pyvips
(thumbnail_image, which shrinks while decoding); and archives: `unzip` next to the unzip CLI and
Python's zipfile. Two threads for everyone (a thread pool of two over the files; pyvips'
concurrency 1 inside), median of --runs after a warm-up; output sizes and counts checked equal.

    python bench/images.py [--photos 100] [--members 20000] [--runs 3] [--write bench/results-images.md]

Photos (3000×2000 JPEGs with an EXIF orientation, a quarter turned) and zips are generated once
under ~/.cache/pravah/bench.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import need, publish  # noqa: E402

CACHE = Path.home() / ".cache" / "pravah" / "bench"
SIZE = 1024


def photos(n: int) -> list[Path]:
    from PIL import Image

    root = CACHE / f"photos-{n}"
    done = CACHE / f"photos-{n}.done"
    if not done.exists():
        print(f"generating {n} photos under {root} (once)", file=sys.stderr)
        root.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = Image.effect_mandelbrot((3000, 2000), (-2.0 + i / n, -1.0, 1.0, 1.0), 64).convert("RGB")
            exif = Image.Exif()
            exif[0x0112] = 6 if i % 4 == 0 else 1
            img.save(root / f"p{i:04d}.jpg", "JPEG", quality=90, exif=exif)
        done.touch()
    return sorted(root.glob("*.jpg"))


def archive(members: int) -> Path:
    path = CACHE / f"members-{members}.zip"
    if not path.exists():
        print(f"generating {path} (once)", file=sys.stderr)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for i in range(members):
                z.writestr(f"d{i // 1000:03d}/m{i:06d}.csv", f"id,value\n{i},{i * 7}\n" * (1 + i % 40))
            for i in range(20):  # and a few big ones
                z.writestr(f"big/b{i:02d}.log", (f"{i} INFO request served in {i * 3} ms\n" * 400_000).encode())
    return path


def pravah_thumbs(files: list[Path], out: Path) -> list[tuple[int, int]]:
    from pravah import engine

    def one(p: Path) -> Path:
        dst = out / p.name
        engine.run([{"op": "thumbnail", "size": SIZE, "format": "jpeg", "quality": 85}], str(p), str(dst))
        return dst

    with ThreadPoolExecutor(2) as pool:
        return dims(list(pool.map(one, files)))


def pillow_thumbs(files: list[Path], out: Path) -> list[tuple[int, int]]:
    from PIL import Image, ImageOps

    def one(p: Path) -> Path:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im)
            im.thumbnail((SIZE, SIZE), Image.Resampling.LANCZOS)
            im.save(out / p.name, "JPEG", quality=85)
        return out / p.name

    with ThreadPoolExecutor(2) as pool:
        return dims(list(pool.map(one, files)))


def vips_thumbs(files: list[Path], out: Path) -> list[tuple[int, int]]:
    import pyvips

    pyvips.concurrency_set(1)

    def one(p: Path) -> Path:
        pyvips.Image.thumbnail(str(p), SIZE, height=SIZE).write_to_file(str(out / p.name) + "[Q=85]")
        return out / p.name

    with ThreadPoolExecutor(2) as pool:
        return dims(list(pool.map(one, files)))


def dims(paths: list[Path]) -> list[tuple[int, int]]:
    from PIL import Image

    out = []
    for p in paths:
        with Image.open(p) as im:
            out.append(im.size)
    return out


def pravah_unzip(z: Path, out: Path) -> int:
    from pravah import engine

    r = engine.run([{"op": "unzip"}], str(z), str(out) + "/", max_outputs=10_000_000)
    return len(r.outputs)


def cli_unzip(z: Path, out: Path) -> int:
    subprocess.run([need("unzip", "unzip"), "-q", "-o", str(z), "-d", str(out)], check=True)
    return sum(1 for p in out.rglob("*") if p.is_file())


def py_unzip(z: Path, out: Path) -> int:
    with zipfile.ZipFile(z) as f:
        f.extractall(out)
        return len([i for i in f.infolist() if not i.is_dir()])


def timed(fn, arg, runs: int) -> tuple[float, object]:
    results, seconds = None, []
    for i in range(runs + 1):
        out = Path(tempfile.mkdtemp(dir=CACHE))
        try:
            t = time.perf_counter()
            got = fn(arg, out)
            if i:
                seconds.append(time.perf_counter() - t)
            results = got
        finally:
            shutil.rmtree(out)
    return statistics.median(seconds), results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100)
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write")
    a = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    lines = [f"# Images and archives ({date.today()}, {platform.node()}, 2 threads)", "",
             "`python bench/images.py " + " ".join(sys.argv[1:]) + "`", "",
             f"Thumbnails of {a.photos} 3000×2000 JPEGs (a quarter with EXIF orientation 6) within {SIZE}×{SIZE}, JPEG q85; "
             "every tool's output sizes checked equal.", "", "| tool | seconds | images/s | × best peer |", "|---|---|---|---|"]
    files = photos(a.photos)
    tools = [("pravah thumbnail", pravah_thumbs), ("Pillow", pillow_thumbs)]
    try:
        import pyvips  # noqa: F401

        tools.append(("pyvips thumbnail", vips_thumbs))
    except (ImportError, OSError) as e:
        print(f"pyvips not available: {e}", file=sys.stderr)
    rows = []
    for name, fn in tools:
        seconds, sizes = timed(fn, files, a.runs)
        rows.append((name, seconds, sizes))
    for name, _, sizes in rows:
        if sizes != rows[0][2]:
            sys.exit(f"{name} made other sizes than pravah: {sizes[:3]} vs {rows[0][2][:3]}")
    best = max(len(files) / s for n, s, _ in rows[1:])
    lines += [f"| {n} | {s:.2f} | {len(files) / s:.1f} | {len(files) / s / best:.2f} |" for n, s, _ in rows]
    z = archive(a.members)
    lines += ["", f"Unzip of {z.name} ({z.stat().st_size / 1e6:.0f} MB: {a.members:,} small CSVs and 20 logs of ~15 MB) "
              "to a local folder; member counts checked equal.", "", "| tool | seconds | members/s | MB/s out | × best peer |", "|---|---|---|---|---|"]
    with zipfile.ZipFile(z) as f:
        total = sum(i.file_size for i in f.infolist())
    rows = [(name, *timed(fn, z, a.runs)) for name, fn in (("pravah unzip", pravah_unzip), ("unzip CLI", cli_unzip), ("Python zipfile", py_unzip))]
    for name, _, n in rows:
        if n != rows[0][2]:
            sys.exit(f"{name} wrote {n} members, pravah {rows[0][2]}")
    best = min(s for _, s, _ in rows[1:])
    lines += [f"| {n} | {s:.2f} | {c / s:,.0f} | {total / 1e6 / s:,.0f} | {best / s:.2f} |" for n, s, c in rows]
    publish(lines, a.write)


if __name__ == "__main__":
    main()
