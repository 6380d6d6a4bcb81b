#!/usr/bin/env python3
"""The crate's public API as a sorted text listing, from rustdoc's JSON output.

    public_api.py list RUSTDOC_JSON                 print the listing
    public_api.py check RUSTDOC_JSON LISTING CARGO_TOML CHANGELOG [--bless]

`check` compares the current API with the committed LISTING. Identical: fine. Different:
fails, saying what changed and what semver requires, unless --bless is given, in which case
it rewrites LISTING after checking that Cargo.toml's version was bumped as semver requires
(removed or changed items are breaking: the major version, or the minor one before 1.0;
added items need at least a patch bump) and that CHANGELOG.md has a section for it. While
the version's CHANGELOG section is marked "(unreleased)", its API may still change without
a further bump (each change must still be blessed, so it is seen and recorded).
"""

import json
import re
import sys


def type_str(t):
    """A Rust-like rendering of a rustdoc JSON type (compact JSON for rare shapes)."""
    if t is None:
        return "()"
    if not isinstance(t, dict):
        return str(t)
    (kind, v), = t.items()
    if kind == "primitive":
        return v
    if kind == "generic":
        return v
    if kind == "resolved_path":
        name = v.get("path") or v.get("name", "?")
        args = v.get("args")
        return name + generic_args(args)
    if kind == "borrowed_ref":
        life = (v.get("lifetime") or "") + " " if v.get("lifetime") else ""
        mut = "mut " if v.get("is_mutable") or v.get("mutable") else ""
        return "&" + life + mut + type_str(v["type"])
    if kind == "slice":
        return "[" + type_str(v) + "]"
    if kind == "array":
        return "[" + type_str(v["type"]) + "; " + str(v["len"]) + "]"
    if kind == "tuple":
        return "(" + ", ".join(type_str(x) for x in v) + ")"
    if kind == "impl_trait":
        return "impl " + " + ".join(bound_str(b) for b in v)
    if kind == "dyn_trait":
        return "dyn " + " + ".join(type_str({"resolved_path": p["trait"]}) for p in v.get("traits", []))
    if kind == "qualified_path":
        return "<" + type_str(v.get("self_type")) + ">::" + v.get("name", "?")
    return json.dumps(t, sort_keys=True, separators=(",", ":"))


def generic_args(args):
    if not args:
        return ""
    if "angle_bracketed" in args:
        parts = []
        for a in args["angle_bracketed"].get("args", []):
            (k, val), = a.items()
            if k == "type":
                parts.append(type_str(val))
            elif k == "lifetime":
                parts.append(val)
            elif k == "const":
                parts.append(str(val.get("expr", val)))
            else:
                parts.append(json.dumps(a, sort_keys=True))
        for c in args["angle_bracketed"].get("constraints", []) or []:
            parts.append(json.dumps(c, sort_keys=True, separators=(",", ":")))
        return "<" + ", ".join(parts) + ">" if parts else ""
    if "parenthesized" in args:
        p = args["parenthesized"]
        return "(" + ", ".join(type_str(x) for x in p.get("inputs", [])) + ") -> " + type_str(p.get("output"))
    return json.dumps(args, sort_keys=True)


def bound_str(b):
    if "trait_bound" in b:
        return type_str({"resolved_path": b["trait_bound"]["trait"]})
    if "outlives" in b:
        return b["outlives"]
    return json.dumps(b, sort_keys=True)


def generics_str(g):
    if not g:
        return ""
    params = []
    for p in g.get("params", []):
        kind = p.get("kind", {})
        if "lifetime" in kind:
            params.append(p["name"])
        elif "type" in kind:
            bounds = kind["type"].get("bounds", [])
            if kind["type"].get("is_synthetic") or kind["type"].get("synthetic"):
                continue
            params.append(p["name"] + (": " + " + ".join(bound_str(b) for b in bounds) if bounds else ""))
        elif "const" in kind:
            params.append("const " + p["name"] + ": " + type_str(kind["const"].get("type")))
    where = []
    for w in g.get("where_predicates", []):
        if "bound_predicate" in w:
            bp = w["bound_predicate"]
            where.append(type_str(bp["type"]) + ": " + " + ".join(bound_str(b) for b in bp.get("bounds", [])))
    s = "<" + ", ".join(params) + ">" if params else ""
    if where:
        s += " where " + ", ".join(where)
    return s


def fn_str(name, f):
    sig = f.get("sig") or f.get("decl")
    inputs = ", ".join(
        (n + ": " if n != "self" else "") + type_str(t) if n != "self" else type_str(t).replace("Self", "self")
        for n, t in sig["inputs"]
    )
    out = sig.get("output")
    ret = " -> " + type_str(out) if out else ""
    header = f.get("header", {})
    q = ("const " if header.get("is_const") else "") + ("unsafe " if header.get("is_unsafe") else "")
    return q + "fn " + name + generics_str(f.get("generics")) + "(" + inputs + ")" + ret


def attrs_of(item):
    text = json.dumps(item.get("attrs", []))
    flags = []
    if "non_exhaustive" in text:
        flags.append("#[non_exhaustive] ")
    return "".join(flags)


class Lister:
    def __init__(self, doc):
        self.index = doc["index"]
        self.root = doc["root"]
        self.lines = set()
        self.seen = set()

    def item(self, id_):
        return self.index.get(str(id_))

    def walk_module(self, mod_id, prefix):
        mod = self.item(mod_id)
        for child in mod["inner"]["module"]["items"]:
            it = self.item(child)
            if it is None or it.get("visibility") != "public":
                continue
            (kind, inner), = it["inner"].items()
            if kind == "use":
                target = inner.get("id")
                name = inner.get("name")
                t = self.item(target) if target is not None else None
                if inner.get("is_glob"):
                    if t is not None and "module" in t["inner"]:
                        self.walk_module(target, prefix)
                    continue
                if t is None:
                    self.lines.add(f"pub use {prefix}::{name} = {inner.get('source')}")
                    continue
                if "module" in t["inner"]:
                    self.walk_module(target, f"{prefix}::{name}")
                else:
                    self.emit(t, f"{prefix}::{name}")
            elif kind == "module":
                self.walk_module(child, f"{prefix}::{it['name']}")
            else:
                self.emit(it, f"{prefix}::{it['name']}")

    def emit(self, it, path):
        (kind, inner), = it["inner"].items()
        flags = attrs_of(it)
        add = self.lines.add
        if kind == "function":
            add(f"{flags}pub {fn_str(path, inner)}")
        elif kind == "constant":
            c = inner.get("const", {})
            add(f"pub const {path}: {type_str(inner.get('type'))} = {c.get('expr', '')}")
        elif kind == "static":
            add(f"pub static {path}: {type_str(inner.get('type'))}")
        elif kind == "type_alias":
            add(f"pub type {path}{generics_str(inner.get('generics'))} = {type_str(inner.get('type'))}")
        elif kind == "struct":
            add(f"{flags}pub struct {path}{generics_str(inner.get('generics'))}")
            skind = inner.get("kind", {})
            fields = []
            if isinstance(skind, dict):
                if "plain" in skind:
                    fields = skind["plain"].get("fields", [])
                    if skind["plain"].get("has_stripped_fields") or skind["plain"].get("fields_stripped"):
                        add(f"pub struct {path} (has private fields)")
                elif "tuple" in skind:
                    fields = [f for f in skind["tuple"] if f is not None]
            for f in fields:
                fi = self.item(f)
                if fi and fi.get("visibility") == "public":
                    add(f"pub struct {path} field {fi['name']}: {type_str(fi['inner']['struct_field'])}")
            self.impls(path, inner.get("impls", []))
        elif kind == "enum":
            add(f"{flags}pub enum {path}{generics_str(inner.get('generics'))}")
            for v in inner.get("variants", []):
                vi = self.item(v)
                if vi:
                    add(f"pub enum {path} variant {attrs_of(vi)}{vi['name']} {json.dumps(self.variant_shape(vi), sort_keys=True)}")
            self.impls(path, inner.get("impls", []))
        elif kind == "trait":
            add(f"pub trait {path}{generics_str(inner.get('generics'))}")
            for m in inner.get("items", []):
                mi = self.item(m)
                if mi and "function" in mi["inner"]:
                    add(f"pub trait {path} {fn_str(mi['name'], mi['inner']['function'])}")
        else:
            add(f"pub {kind} {path}")

    def variant_shape(self, vi):
        kind = vi["inner"]["variant"].get("kind")
        if kind == "plain" or kind is None:
            return "unit"
        if isinstance(kind, dict) and "tuple" in kind:
            return [type_str(self.item(f)["inner"]["struct_field"]) for f in kind["tuple"] if f is not None]
        if isinstance(kind, dict) and "struct" in kind:
            return {self.item(f)["name"]: type_str(self.item(f)["inner"]["struct_field"]) for f in kind["struct"]["fields"]}
        return kind

    def impls(self, path, impl_ids):
        for i in impl_ids:
            im = self.item(i)
            if im is None:
                continue
            inner = im["inner"]["impl"]
            if inner.get("is_synthetic") or inner.get("synthetic") or inner.get("blanket_impl"):
                continue
            trait = inner.get("trait")
            if trait is not None:
                self.lines.add(f"impl {type_str({'resolved_path': trait})} for {path}")
                continue
            for m in inner.get("items", []):
                mi = self.item(m)
                if mi and mi.get("visibility") == "public" and "function" in mi["inner"]:
                    self.lines.add(f"{attrs_of(mi)}pub {fn_str(path + '::' + mi['name'], mi['inner']['function'])}")
                elif mi and mi.get("visibility") == "public" and "assoc_const" in mi["inner"]:
                    c = mi["inner"]["assoc_const"]
                    self.lines.add(f"pub const {path}::{mi['name']}: {type_str(c.get('type'))}")

    def listing(self):
        root = self.item(self.root)
        self.walk_module(self.root, root["name"])
        return sorted(self.lines)


def version_of(cargo_toml):
    text = open(cargo_toml).read()
    m = re.search(r'(?m)^version\s*=\s*"([^"]+)"', text)
    return m.group(1)


def parse_version(v):
    return tuple(int(x) for x in v.split("-")[0].split("."))


def main(argv):
    if len(argv) >= 3 and argv[1] == "list":
        doc = json.load(open(argv[2]))
        print("\n".join(Lister(doc).listing()))
        return 0
    if len(argv) >= 6 and argv[1] == "check":
        doc, listing_path, cargo_toml, changelog = argv[2:6]
        bless = "--bless" in argv
        current = Lister(json.load(open(doc))).listing()
        try:
            committed_text = open(listing_path).read().splitlines()
        except FileNotFoundError:
            committed_text = []
        header = [l for l in committed_text if l.startswith("# version ")]
        committed = [l for l in committed_text if l and not l.startswith("# ")]
        old_version = header[0].split()[2] if header else None
        version = version_of(cargo_toml)
        removed = sorted(set(committed) - set(current))
        added = sorted(set(current) - set(committed))
        if not removed and not added:
            if old_version and old_version != version:
                # The version moved without an API change: record it.
                if bless:
                    write_listing(listing_path, version, current)
                    return 0
                print(f"public API unchanged, but Cargo.toml says {version} and {listing_path} {old_version}; run scripts/public_api.sh --bless")
                return 1
            print(f"public API unchanged ({len(current)} items, version {version})")
            return 0
        for l in removed:
            print(f"- {l}")
        for l in added:
            print(f"+ {l}")
        breaking = bool(removed)
        need = "a breaking (major, or minor before 1.0) version bump" if breaking else "at least a patch version bump"
        if not bless:
            print(f"\nThe public API changed ({len(removed)} removed or changed, {len(added)} added): semver needs {need}. "
                  f"Bump Cargo.toml's version, add a CHANGELOG.md section for it, and run scripts/public_api.sh --bless.")
            return 1
        unreleased = f"## {version} (unreleased)" in open(changelog).read()
        if old_version is not None and not (unreleased and old_version == version):
            # A released version's API is frozen; changes accumulate under an unreleased one.
            old, new = parse_version(old_version), parse_version(version)
            if breaking:
                ok = (new[0] > old[0]) if old[0] > 0 else (new[0] > 0 or new[1] > old[1])
            else:
                ok = new > old
            if not ok:
                print(f"\nrefusing to bless: the change needs {need}, but the version went {old_version} -> {version}")
                return 1
        if f"## {version}" not in open(changelog).read():
            print(f"\nrefusing to bless: CHANGELOG.md has no '## {version}' section")
            return 1
        write_listing(listing_path, version, current)
        print(f"\nblessed {listing_path} for version {version}")
        return 0
    print(__doc__)
    return 2


def write_listing(path, version, lines):
    with open(path, "w") as f:
        f.write("# The public API of blockverify, one item per line (generated by scripts/public_api.sh;\n")
        f.write("# CI fails when the code's API differs from this file; see CHANGELOG.md).\n")
        f.write(f"# version {version}\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
