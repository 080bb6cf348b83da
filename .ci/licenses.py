"""Fails when a crate linked into callqa is not under a permissive licence (no GPL in the binary)."""
import json
import subprocess
import sys

ALLOWED = {"MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "Unlicense", "Zlib", "ISC",
           "Unicode-3.0", "Unicode-DFS-2016", "BSL-1.0", "CC0-1.0", "Apache-2.0 WITH LLVM-exception",
           "MIT-0", "0BSD", "CDLA-Permissive-2.0"}


def acceptable(expr: str) -> bool:
    """An SPDX expression is fine if every AND-term has at least one allowed OR-alternative."""
    expr = expr.replace("/", " OR ").replace("(", " ").replace(")", " ")
    for term in expr.split(" AND "):
        if not any(alt.strip() in ALLOWED for alt in term.split(" OR ")):
            return False
    return True


meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--locked"]))
# Only crates in the dependency graph of the binary (normal dependencies), not dev-only ones.
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
packages = {p["id"]: p for p in meta["packages"]}
root = meta["resolve"]["root"]
seen, stack = set(), [root]
while stack:
    node = nodes[stack.pop()]
    for dep in node["deps"]:
        kinds = {k["kind"] for k in dep["dep_kinds"]}
        if kinds & {None, "build"} and dep["pkg"] not in seen:
            seen.add(dep["pkg"])
            stack.append(dep["pkg"])
bad = [(packages[i]["name"], packages[i]["license"]) for i in sorted(seen)
       if not acceptable(packages[i]["license"] or "")]
for name, licence in bad:
    print(f"licence not allowed in the binary: {name}: {licence}")
print(f"licences: {len(seen)} crates checked, {len(bad)} not allowed")
sys.exit(1 if bad else 0)
