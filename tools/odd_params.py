#!/usr/bin/env python3
"""Rewrites the parameter tables of docs/ODD.md (section 5) from src/scenario/params.rs, so the
defaults there are the code's. A unit test fails when they differ. Run from the repository root."""
import re

src = open("src/scenario/params.rs").read()
tables = []
for m in re.finditer(r"param_section! \{\n\s+///([^\n]*)\n\s+(\w+) \{\n(.*?)\n    \}\n\}", src, re.S):
    doc, body = m.group(1).strip(), m.group(3)
    rows = [f"\n#### {doc}\n", "| key | default | range | unit | meaning |", "|---|---|---|---|---|"]
    for line in body.strip().split("\n"):
        mm = re.match(r'\s*(\w+): (\w+) = ([-0-9.]+), \[([^\]]+)\], "([^"]*)",\s*"([^"]*)";', line)
        if mm:
            key, kind, default, rng, unit, meaning = mm.groups()
            # Rust prints f64 defaults without a trailing ".0" for whole numbers.
            value = float(default)
            shown = str(int(value)) if value == int(value) else repr(value)
            rows.append(f"| `{key}` | {shown} | [{rng}] | {unit} | {meaning} |")
    tables.append("\n".join(rows))
odd = open("docs/ODD.md").read()
start = odd.index("\n#### ", odd.index("## 5. Parameters"))
end = odd.index("\n## ", start)
odd = odd[:start] + "\n" + "\n".join(tables) + "\n" + odd[end:]
open("docs/ODD.md", "w").write(odd)
print("rewrote", len(tables), "tables")
