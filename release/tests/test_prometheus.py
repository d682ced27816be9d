"""deploy/prometheus and deploy/node_exporter: promtool checks and unit-tests the alert rules and
the example metrics file; both use only the metrics of the watchdog spec (status.prom)."""

from __future__ import annotations

import re
import unittest

from support import (
    DEPLOY,
    exported_metric_families,
    run,
    spec_metric_families,
    tool,
    yaml_module,
)

RULES = DEPLOY / "prometheus" / "alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
EXAMPLE = DEPLOY / "node_exporter" / "sequencer-watchdog-wallet.prom"
METRIC = re.compile(r"\bcartesi_watchdog_[a-z_]+\b")


def rules(test: unittest.TestCase) -> dict[str, dict]:
    yaml = yaml_module(test)
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"]}


class Promtool(unittest.TestCase):
    def test_rules_check(self):
        promtool = tool(self, "promtool")
        result = run([promtool, "check", "rules", str(RULES)])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("SUCCESS: 5 rules found", result.stdout)

    def test_rules_unit_tests(self):
        promtool = tool(self, "promtool")
        result = run([promtool, "test", "rules", RULE_TESTS.name], cwd=RULE_TESTS.parent)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("SUCCESS", result.stdout)

    def test_the_example_metrics_file_lints_clean(self):
        promtool = tool(self, "promtool")
        result = run([promtool, "check", "metrics"], input=EXAMPLE.read_text(encoding="utf-8"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(result.stdout + result.stderr, "")


class AgainstTheSpec(unittest.TestCase):
    def test_alerts_cover_failed_stale_and_persistent_warning(self):
        alerts = rules(self)
        by_expr = {r["expr"]: r for r in alerts.values()}
        self.assertIn('cartesi_watchdog_status{state="failed"} == 1', by_expr)
        self.assertEqual(
            by_expr['cartesi_watchdog_status{state="failed"} == 1']["labels"]["severity"], "page"
        )
        stalled = alerts["SequencerWatchdogSequencerStalled"]
        self.assertIn("cartesi_watchdog_finality_lag_blocks >", stalled["expr"])
        self.assertIn("cartesi_watchdog_max_finality_lag_blocks", stalled["expr"])
        warning = by_expr['cartesi_watchdog_status{state="warning"} == 1']
        self.assertEqual(warning["for"], "15m")
        self.assertTrue(
            any(
                e.startswith("time() - cartesi_watchdog_last_tick_timestamp_seconds >")
                for e in by_expr
            )
        )

    def test_alerts_use_only_exported_metrics_and_spec_states(self):
        families = spec_metric_families(self)
        exported = exported_metric_families(self)
        self.assertLessEqual(set(families), exported, "the binary writes every spec family")
        for name, rule in rules(self).items():
            with self.subTest(name):
                used = METRIC.findall(rule["expr"] + " ".join(rule["annotations"].values()))
                self.assertTrue(used)
                for metric in used:
                    self.assertIn(metric, exported)
                for state in re.findall(r'state="([a-z]+)"', rule["expr"]):
                    self.assertIn(f"`{state}`", families["cartesi_watchdog_status"][1])

    def test_the_example_follows_the_spec_format(self):
        families = spec_metric_families(self)
        order = list(families)
        seen: list[str] = []
        for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
            if line.startswith("# HELP "):
                name, help_text = line[len("# HELP ") :].split(" ", 1)
                self.assertEqual(help_text, families[name][2], name)
                seen.append(name)
            elif line.startswith("# TYPE "):
                name, kind = line[len("# TYPE ") :].split(" ")
                self.assertEqual(kind, families[name][0], name)
            else:
                match = re.fullmatch(r"([a-z_]+)\{([^}]*)\} (\S+)", line)
                self.assertIsNotNone(match, line)
                name, labels, value = match.groups()
                self.assertEqual(name, seen[-1], "samples follow their HELP and TYPE")
                keys = [kv.split("=")[0] for kv in labels.split(",")]
                self.assertEqual(keys[:2], ["app_address", "chain"], line)
                self.assertNotIn("e", value.lower(), "no exponents")
        self.assertEqual(seen, sorted(seen, key=order.index), "families in the spec's order")
        # Everything but the divergence info (only written with exit 2) appears.
        self.assertEqual(set(order) - set(seen), {"cartesi_watchdog_divergence_info"})
