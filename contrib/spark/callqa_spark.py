"""Score call transcripts on Apache Spark with callqa: the same tables as one machine.

Spark reads the inputs, numbers every line, pipes each partition through
`callqa score --stdin --tagged` (RDD.pipe), writes the per-line results once as Parquet (so
Spark owns retries: a failed or speculative task is re-run by Spark and only one copy is
committed), and then `callqa merge` builds calls.parquet, findings.parquet, agents.parquet,
rejects.jsonl, report.html and manifest.json exactly as `callqa run` would have.

Laptop (PySpark's local mode needs only Java 17):

    python contrib/spark/callqa_spark.py --master 'local[*]' \\
        --callqa target/release/callqa --rules rules --out out fixtures/calls/*.jsonl

Cluster (ship the binary and the rule pack to the executors):

    spark-submit --master yarn --files target/release/callqa --archives rules.tgz#rules \\
        contrib/spark/callqa_spark.py --callqa ./callqa --merge-callqa target/release/callqa \\
        --rules rules --out out hdfs:///calls/2026-11-27/*.jsonl.gz

See README.md, "Beyond one machine".
"""

import argparse
import gzip
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

# Beside the part files: the inputs, in order, for `callqa merge` (Spark skips `_` files).
INPUTS_FILE = "_callqa_inputs.json"
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--callqa", default="callqa",
                   help="the callqa binary as the executors see it (default: on PATH)")
    p.add_argument("--merge-callqa", default=None,
                   help="the callqa binary on the driver, for the merge (default: --callqa)")
    p.add_argument("--rules", default="rules", help="rule pack folder (same on driver and executors)")
    p.add_argument("--out", required=True, help="output folder, written like `callqa run --out`")
    p.add_argument("--work", default=None,
                   help="job folder for Spark's temp files and the Parquet parts "
                        "(default: .OUT.spark beside --out)")
    p.add_argument("--master", default=None,
                   help="Spark master, e.g. local[2] (default: what spark-submit gives, else local[*])")
    p.add_argument("--partitions", type=int, default=None,
                   help="partitions to aim for over all inputs, shared by size (default: twice "
                        "Spark's default parallelism; a .gz file is always one)")
    p.add_argument("--threads", type=int, default=1,
                   help="worker threads of each piped callqa (Spark already runs one task per core)")
    p.add_argument("--no-merge", action="store_true",
                   help="stop after writing the parts (merge later with `callqa merge`)")
    p.add_argument("inputs", nargs="+", help="JSONL inputs (plain or .gz), local paths or URIs")
    return p.parse_args(argv)


def is_local(path):
    scheme = urlparse(path).scheme
    return scheme in ("", "file") or len(scheme) == 1  # a Windows drive letter is not a scheme


def local_path(path):
    return Path(urlparse(path).path if path.startswith("file:") else path)


def describe_input(path):
    """The manifest entry of one input: size and SHA-256 when the driver can read it."""
    entry = {"path": path}
    if not is_local(path):
        return entry
    local = local_path(path)
    digest = hashlib.sha256()
    size = 0
    with open(local, "rb") as f:
        head = f.read(4)
        if head.startswith(ZSTD_MAGIC):
            sys.exit(f"callqa_spark: {path}: zstd input is not readable by Spark's text reader; "
                     "decompress it or recompress it with gzip (.gz)")
        if head.startswith(GZIP_MAGIC) and not path.endswith(".gz"):
            sys.exit(f"callqa_spark: {path}: gzip data without a .gz name; Spark decompresses "
                     "by file name, so rename it to .gz")
        digest.update(head)
        size += len(head)
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    entry["bytes"] = size
    entry["sha256"] = digest.hexdigest()
    return entry


def uri(path):
    return local_path(path).resolve().as_uri() if is_local(path) else path


def start_spark(args, work):
    """A SparkSession whose temp files stay under the job folder."""
    if args.master is None or args.master.startswith("local"):
        # Local mode binds to the machine's address; a laptop on VPN or without DNS for its own
        # name then hangs or fails. Loopback always works.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    tmp = work / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(tmp)  # Python workers' temp files
    from pyspark.sql import SparkSession

    java_tmp = f"-Djava.io.tmpdir={tmp}"
    builder = (
        SparkSession.builder.appName("callqa")
        .config("spark.local.dir", str(tmp))
        .config("spark.driver.extraJavaOptions", java_tmp)
        .config("spark.executor.extraJavaOptions", java_tmp)
        .config("spark.sql.warehouse.dir", str(work / "warehouse"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if args.master:
        builder = builder.master(args.master)
    elif "spark.master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        builder = builder.master("local[*]")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def split_counts(described, target):
    """Minimum partitions per input: `target` shared by size, at least one each (two for an
    input whose size the driver cannot see)."""
    sizes = [d.get("bytes") for d in described]
    total = sum(s for s in sizes if s) or 1
    return [max(1, round(target * s / total)) if s is not None else 2 for s in sizes]


def numbered_lines(sc, inputs, splits):
    """Every line of every input as (input, line number, text), partitions in input order."""
    rdds = []
    for index, path in enumerate(inputs):
        lines = sc.textFile(uri(path), minPartitions=splits[index]).zipWithIndex()
        rdds.append(lines.map(lambda pair, i=index: (i, pair[1] + 1, pair[0])))
    return sc.union(rdds)


def exact_bytes(lines, inputs):
    """Hex of the lines that are not valid UTF-8, read by the driver from local inputs.

    Spark's text reader replaces such bytes with U+FFFD before Python sees them, but callqa
    must judge (and reject) the line as it was read. Such lines are rare: find the lines that
    hold U+FFFD, read those lines' bytes from the file, keep the ones that are not UTF-8.
    """
    wanted = {}
    for i, n in lines.filter(lambda t: "\ufffd" in t[2]).map(lambda t: t[:2]).collect():
        wanted.setdefault(i, set()).add(n)
    exact = {}
    for i, numbers in wanted.items():
        if not is_local(inputs[i]):
            continue  # documented: remote inputs keep Spark's replacement characters
        opener = gzip.open if inputs[i].endswith(".gz") else open
        with opener(local_path(inputs[i]), "rb") as f:
            for n, raw in enumerate(f, 1):
                if n in numbers:
                    raw = raw.rstrip(b"\n")
                    raw = raw[:-1] if raw.endswith(b"\r") else raw
                    try:
                        raw.decode("utf-8")
                    except UnicodeDecodeError:
                        exact[(i, n)] = raw.hex()
    return exact


def tagged_lines(sc, inputs, splits):
    """INPUT<TAB>LINE<TAB>RECORD per line (INPUT<TAB>LINE:hex<TAB>HEX when not UTF-8)."""
    from pyspark import StorageLevel

    lines = numbered_lines(sc, inputs, splits).persist(StorageLevel.MEMORY_AND_DISK)
    exact = sc.broadcast(exact_bytes(lines, inputs))

    def tag(t):
        hexed = exact.value.get(t[:2])
        return f"{t[0]}\t{t[1]}:hex\t{hexed}" if hexed else f"{t[0]}\t{t[1]}\t{t[2]}"

    return lines.map(tag), lines


def score_parts(spark, args, parts, described):
    """Pipes every partition through `callqa score` and writes the results once as Parquet."""
    command = [args.callqa, "score", "--rules", args.rules, "--stdin", "--tagged",
               "--quiet", "--threads", str(args.threads)]
    sc = spark.sparkContext
    splits = split_counts(described, args.partitions or 2 * sc.defaultParallelism)
    tagged, cached = tagged_lines(sc, args.inputs, splits)
    # checkCode: a callqa that exits non-zero fails the task (and Spark retries it).
    results = tagged.pipe(" ".join(shlex.quote(c) for c in command), checkCode=True)
    frame = spark.createDataFrame(results.map(lambda line: (line,)), "result string")
    # One action: the pipe runs once per partition and its output is committed once.
    frame.write.mode("overwrite").parquet(str(parts))
    cached.unpersist()


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    work = Path(args.work) if args.work else out.parent / f".{out.name}.spark"
    parts = work / "parts"
    started = time.monotonic()
    described = [describe_input(p) for p in args.inputs]
    spark = start_spark(args, work)
    try:
        score_parts(spark, args, parts, described)
    finally:
        spark.stop()
    (parts / INPUTS_FILE).write_text(json.dumps({"inputs": described}, ensure_ascii=False))
    scored = time.monotonic()
    print(f"callqa_spark: scored {len(args.inputs)} inputs into {parts} "
          f"in {scored - started:.1f} s", file=sys.stderr)
    if args.no_merge:
        return 0
    merge = [args.merge_callqa or args.callqa, "merge", "--rules", args.rules,
             "--out", str(out), str(parts)]
    subprocess.run(merge, check=True)
    print(f"callqa_spark: merged into {out} in {time.monotonic() - scored:.1f} s "
          f"(total {time.monotonic() - started:.1f} s)", file=sys.stderr)
    shutil.rmtree(work / "tmp", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
