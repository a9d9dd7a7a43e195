#!/usr/bin/env python3
"""Tests of the mutation driver (about 20 s; not part of `just test`):

    python3 tools/mutants/test_mutants.py

- every cargo-mutants mutant of replica-a is applied where cargo-mutants' own diff puts it;
- the judge classifies known modules: `faulty-logic` (A with the weekly limit at 4, a mutant
  in all but name) is caught by voting, a correct implementation survives, and a correct
  implementation judged against a pack with one wrong expected answer is caught only by the pack.

Needs cargo-mutants, `target/debug/dmtbs` and the built components (`just build-replicas`).
"""

import json
import re
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import mutants as M

COMPONENTS = M.GUEST_WS / "target" / "components"
DMTBS = M.ROOT / "target" / "debug" / "dmtbs"
MARK = "/* ~ changed by cargo-mutants ~ */"


def squeeze(line):
    return re.sub(r"\s+", "", line.replace(MARK, ""))


@unittest.skipUnless(shutil.which("cargo-mutants"), "cargo-mutants is not installed")
class Mutate(unittest.TestCase):
    def test_every_mutant_lands_where_cargo_mutants_diff_puts_it(self):
        out = subprocess.run(
            ["cargo", "mutants", "--list", "--json", "-p", "replica-a",
             "-e", "replica-a/src/tests.rs", "-e", "replica-a/src/tests/**"],
            cwd=M.GUEST_WS, check=True, capture_output=True, text=True).stdout
        mutants = json.loads(out)
        self.assertGreater(len(mutants), 100)
        for m in mutants:
            text = (M.GUEST_WS / m["file"]).read_text()
            mutated = {squeeze(l) for l in M.mutate(text, m).split("\n")}
            added = [l[1:] for l in m["diff"].split("\n")
                     if l.startswith("+") and not l.startswith("+++")]
            self.assertTrue(added, m["name"])
            for line in added:
                self.assertIn(squeeze(line), mutated, m["name"])
            self.assertNotEqual(M.mutate(text, m), text, m["name"])


@unittest.skipUnless(DMTBS.is_file() and (COMPONENTS / "faulty-logic.wasm").is_file(),
                     "needs target/debug/dmtbs and the built components")
class Judge(unittest.TestCase):
    def judge(self, name, extra=()):
        deadline = time.monotonic() + 120
        return M.judge(DMTBS, COMPONENTS / f"{name}.wasm", deadline, list(extra))[0]

    def test_a_planted_logic_bug_is_caught_by_voting(self):
        self.assertEqual(self.judge("faulty-logic"), "voting")

    def test_a_correct_implementation_survives(self):
        self.assertEqual(self.judge("replica-c"), "surviving")

    def test_a_wrong_answer_only_the_pack_knows_is_caught_only_by_the_pack(self):
        step = {"apply": {"today": {"year": 2026, "month": 11, "day": 24},
                          "operation": {"AddShow": {"actor": "ATWA1000", "movie": "Avatar",
                                                    "show_id": "ATWM241126", "capacity": 10}},
                          "expect": {"Err": "NotAuthorized"}}}
        scenario = {"scenario": {"name": "wrong_on_purpose", "about": "a wrong expectation"}}
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as pack:
            pack.write(json.dumps(scenario) + "\n" + json.dumps(step) + "\n")
            pack.flush()
            self.assertEqual(self.judge("replica-c", ["--pack", pack.name]), "pack")


if __name__ == "__main__":
    unittest.main(verbosity=2)
