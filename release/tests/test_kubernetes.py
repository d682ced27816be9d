"""deploy/kubernetes: schema-valid manifests that agree with each other, with the image and with
the watchdog's settings."""

from __future__ import annotations

import re
import tempfile
import unittest

from support import DEPLOY, REPO, run, tool, versions, watchdog_env_names, yaml_module
from tree import kit

kit()
from kit import dockerfile as df  # noqa: E402
from kit import sources  # noqa: E402

K8S = DEPLOY / "kubernetes"
MANIFESTS = sorted(K8S.glob("*.yaml"))


def load(test: unittest.TestCase, name: str) -> dict:
    yaml = yaml_module(test)
    [doc] = list(yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")))
    return doc


def pod_spec(doc: dict) -> dict:
    kind = doc["kind"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind == "Job":
        return doc["spec"]["template"]["spec"]
    if kind == "Pod":
        return doc["spec"]
    raise AssertionError(f"no pod in a {kind}")


def runtime_stage() -> df.Stage:
    return df.parse((REPO / "Dockerfile").read_text(encoding="utf-8")).stage("runtime")


def image_user() -> int:
    user = next(i for i in reversed(runtime_stage().instructions) if i.keyword == "USER")
    return int(user.args.split(":")[0])


def image_volume() -> str:
    volume = next(i for i in runtime_stage().instructions if i.keyword == "VOLUME")
    return volume.args.strip('[]" ')


class Schemas(unittest.TestCase):
    def test_every_manifest_validates_strictly(self):
        validate = tool(self, "kubernetes-validate")
        self.assertGreaterEqual(len(MANIFESTS), 5)
        for version in (versions()["KUBERNETES_MIN_VERSION"], None):
            args = [validate, "--strict", "--no-warn"]
            if version:
                args += ["-k", version]
            result = run(args + [str(m) for m in MANIFESTS])
            self.assertEqual(result.returncode, 0, f"{version}: {result.stdout}{result.stderr}")
            self.assertEqual(result.stdout.count("passed"), len(MANIFESTS), result.stdout)

    def test_the_validator_rejects_a_misplaced_field(self):
        validate = tool(self, "kubernetes-validate")
        text = (
            (K8S / "cronjob.yaml")
            .read_text()
            .replace(
                "allowPrivilegeEscalation: false",
                "allowPrivilegeEscalation: false\n                fsGroup: 1",
            )
        )
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as bad:
            bad.write(text)
            bad.flush()
            result = run([validate, "--strict", bad.name])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("fsGroup", result.stdout + result.stderr)


class Workloads(unittest.TestCase):
    def workloads(self) -> dict[str, dict]:
        return {
            name: load(self, name) for name in ("cronjob.yaml", "init-job.yaml", "toolbox.yaml")
        }

    def test_the_cronjob_never_overlaps_and_never_retries(self):
        cron = load(self, "cronjob.yaml")
        self.assertEqual(cron["spec"]["concurrencyPolicy"], "Forbid")
        self.assertEqual(cron["spec"]["schedule"], "*/5 * * * *")
        job = cron["spec"]["jobTemplate"]["spec"]
        self.assertEqual(job["backoffLimit"], 0)
        self.assertGreater(job["activeDeadlineSeconds"], 30 * 60)
        spec = pod_spec(cron)
        self.assertEqual(spec["restartPolicy"], "Never")
        self.assertEqual(spec["containers"][0]["args"], ["tick"])

    def test_every_pod_is_non_root_read_only_and_bounded(self):
        for name, doc in self.workloads().items():
            with self.subTest(name):
                spec = pod_spec(doc)
                pod = spec["securityContext"]
                self.assertIs(pod["runAsNonRoot"], True)
                self.assertEqual(pod["runAsUser"], image_user())
                self.assertEqual(pod["fsGroupChangePolicy"], "OnRootMismatch")
                self.assertEqual(pod["seccompProfile"]["type"], "RuntimeDefault")
                self.assertIs(spec["automountServiceAccountToken"], False)
                [container] = spec["containers"]
                security = container["securityContext"]
                self.assertIs(security["allowPrivilegeEscalation"], False)
                self.assertIs(security["readOnlyRootFilesystem"], True)
                self.assertEqual(security["capabilities"]["drop"], ["ALL"])
                resources = container["resources"]
                self.assertIn("cpu", resources["requests"])
                self.assertIn("memory", resources["requests"])
                self.assertIn("memory", resources["limits"])

    def test_the_image_is_the_release_of_this_version(self):
        version = sources.workspace(REPO).version
        for name, doc in self.workloads().items():
            with self.subTest(name):
                image = pod_spec(doc)["containers"][0]["image"]
                self.assertTrue(image.endswith(f"/sequencer-watchdog:v{version}"), image)

    def test_state_lives_below_the_image_volume_on_the_claim(self):
        pvc = load(self, "pvc.yaml")
        self.assertEqual(pvc["spec"]["accessModes"], ["ReadWriteOnce"])
        for name, doc in self.workloads().items():
            with self.subTest(name):
                spec = pod_spec(doc)
                [volume] = spec["volumes"]
                self.assertEqual(
                    volume["persistentVolumeClaim"]["claimName"], pvc["metadata"]["name"]
                )
                [mount] = spec["containers"][0]["volumeMounts"]
                self.assertEqual(mount["name"], volume["name"])
                self.assertEqual(mount["mountPath"], image_volume())
                env = {e["name"]: e for e in spec["containers"][0]["env"]}
                state = env["CARTESI_WATCHDOG_STATE_DIR"]["value"]
                self.assertTrue(state.startswith(mount["mountPath"] + "/"), state)

    def test_rpc_urls_come_from_the_secret(self):
        secret = load(self, "secret.example.yaml")
        keys = set(secret["stringData"])
        for name, doc in self.workloads().items():
            with self.subTest(name):
                env = {e["name"]: e for e in pod_spec(doc)["containers"][0]["env"]}
                for var in (
                    "CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT",
                    "CARTESI_WATCHDOG_CONFIRM_HTTP_ENDPOINT",
                ):
                    self.assertNotIn("value", env[var], f"{var} must not be inline")
                    ref = env[var]["valueFrom"]["secretKeyRef"]
                    self.assertEqual(ref["name"], secret["metadata"]["name"])
                    self.assertIn(ref["key"], keys)
                for entry in env.values():
                    self.assertNotRegex(
                        entry.get("value", ""), r"^https?://[^/]*@", "no credentials inline"
                    )

    def test_every_variable_is_one_the_watchdog_reads(self):
        known = watchdog_env_names(self)
        for name, doc in self.workloads().items():
            with self.subTest(name):
                for entry in pod_spec(doc)["containers"][0]["env"]:
                    self.assertIn(entry["name"], known)

    def test_the_init_job_runs_init_with_a_bootstrap(self):
        job = load(self, "init-job.yaml")
        self.assertEqual(job["spec"]["backoffLimit"], 0)
        container = pod_spec(job)["containers"][0]
        self.assertEqual(container["args"], ["init"])
        self.assertNotIn("command", container, "the image's entrypoint is the binary")
        env = {e["name"]: e.get("value") for e in container["env"]}
        self.assertIn("CARTESI_WATCHDOG_CM_SNAPSHOT_DIR", env)
        self.assertIn("CARTESI_WATCHDOG_CM_SNAPSHOT_SAFE_BLOCK", env)

    def test_the_toolbox_only_idles(self):
        container = pod_spec(load(self, "toolbox.yaml"))["containers"][0]
        self.assertEqual(container["command"], ["sleep", "infinity"])
        names = {e["name"] for e in container["env"]}
        self.assertNotIn("CARTESI_WATCHDOG_CM_SNAPSHOT_DIR", names)

    def test_one_application_per_set_of_names(self):
        for manifest in MANIFESTS:
            with self.subTest(manifest.name):
                doc = load(self, manifest.name)
                self.assertRegex(doc["metadata"]["name"], r"^sequencer-watchdog-wallet(-[a-z]+)?$")
                self.assertEqual(doc["metadata"]["labels"]["app.kubernetes.io/instance"], "wallet")
        self.assertTrue(all(re.match(r"^[a-z-]+(\.example)?\.yaml$", m.name) for m in MANIFESTS))
