"""Lints what cannot run here: deploy/kubernetes, deploy/compose.yaml and deploy/nginx.

Run by scripts/deploy-lint.sh inside a virtualenv that has kubernetes-validate (the Kubernetes
OpenAPI schemas, per version, in its wheel), check-jsonschema (the compose specification's schema,
vendored) and PyYAML. Checks:

- Kubernetes: every manifest against the real schemas of two Kubernetes versions in strict mode
  (unknown fields are errors; an apiVersion/kind without a schema is an error too, not a warning);
  the restricted Pod Security Standard's mechanical rules and this project's own (pinned tags,
  probes on the right paths, whole-core CPU, grace period longer than shutdown delay + drain);
  selectors, named ports and the kustomization's file list agree; the ConfigMap's TOML names only
  keys the server knows.
- compose: the compose specification's JSON schema; references (secrets, volumes, networks) exist;
  restart policies and health checks; nginx's upstream addresses are the replicas', trusted_proxies
  is nginx's address, only the proxy is published beyond loopback; environment names are real
  configuration keys.
- nginx: `nginx -t` on deploy/nginx/nginx.conf as it is.

`--self-test` breaks a copy of deploy/ in several ways and fails unless every break is caught, so
that no check can silently stop checking.
"""

import argparse
import functools
import importlib.resources
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

import jsonschema
import kubernetes_validate
import yaml

K8S_VERSIONS = ["1.30.0", "1.37.0"]
NOT_APPLIED = {"secret.example.yaml"}  # validated, but left out of kustomization.yaml on purpose
ENV_EXTRA = {"CONFIG", "LOG", "KEYS_KEK", "KEYS_KEK_PREVIOUS"}  # variables that are not file keys


class StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; a duplicate is an error here."""


def _mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.load_all(f, Loader=StrictLoader) if d is not None]


@functools.cache
def compose_validator():
    """The compose specification's schema as check-jsonschema vendors it (`--builtin-schema
    vendor.compose-spec`), used in-process."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def config_keys(toml_text):
    return {(s, k) for s, table in tomllib.loads(toml_text).items() for k in table}


class Lint:
    def __init__(self, root):
        self.root = root
        self.errors = []
        with open(os.path.join(root, "config/auth-server.toml"), "rb") as f:
            self.known = {(s, k) for s, t in tomllib.load(f).items() for k in t}

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def check_config(self, where, text):
        try:
            keys = config_keys(text)
        except tomllib.TOMLDecodeError as e:
            return self.err(where, f"TOML: {e}")
        for s, k in sorted(keys - self.known):
            self.err(where, f"[{s}] {k} is not a configuration key (config/auth-server.toml)")
        return tomllib.loads(text)

    def check_env_names(self, where, names):
        for name in names:
            if not name.startswith("AUTH_SERVER_"):
                continue
            rest = name[len("AUTH_SERVER_"):]
            candidates = [rest] + ([rest[:-5]] if rest.endswith("_FILE") else [])
            ok = False
            for c in candidates:
                section, _, key = c.partition("_")
                ok |= c in ENV_EXTRA or (section.lower(), key.lower()) in self.known
            if not ok:
                self.err(where, f"{name} names no configuration key")

    # ---- Kubernetes -------------------------------------------------------------------------

    def kubernetes(self):
        kdir = os.path.join(self.root, "deploy/kubernetes")
        files = sorted(f for f in os.listdir(kdir) if f.endswith((".yaml", ".yml")))
        docs = {}
        for name in files:
            where = f"deploy/kubernetes/{name}"
            try:
                docs[name] = load_all(os.path.join(kdir, name))
            except yaml.YAMLError as e:
                self.err(where, f"YAML: {e}")
        kust = docs.pop("kustomization.yaml", None)
        if kust is None:
            self.err("deploy/kubernetes", "no kustomization.yaml")
        else:
            listed = set(kust[0].get("resources", []))
            expected = set(docs) - NOT_APPLIED
            if listed != expected:
                self.err("deploy/kubernetes/kustomization.yaml",
                         f"resources {sorted(listed)} should be {sorted(expected)}")
        resources = []
        for name, ds in docs.items():
            for d in ds:
                resources.append((f"deploy/kubernetes/{name}", d))
                for version in K8S_VERSIONS:
                    try:
                        kubernetes_validate.validate(d, version, strict=True)
                    except kubernetes_validate.ValidationError as e:
                        path = ".".join(str(p) for p in e.path)
                        self.err(f"deploy/kubernetes/{name}", f"k8s {version}: {path}: {e.message}")
                    except kubernetes_validate.SchemaNotFoundError:
                        self.err(f"deploy/kubernetes/{name}",
                                 f"k8s {version}: no schema for {d.get('apiVersion')} {d.get('kind')}")
        self.kubernetes_rules(resources)

    def kubernetes_rules(self, resources):
        by_kind = {}
        for where, d in resources:
            by_kind.setdefault(d.get("kind"), []).append((where, d))
        config = {}
        for where, cm in by_kind.get("ConfigMap", []):
            for key, text in (cm.get("data") or {}).items():
                if key.endswith(".toml"):
                    config = self.check_config(f"{where} ({key})", text) or {}
        for where, d in by_kind.get("Deployment", []):
            self.pod_rules(where, d, config)
            labels = d["spec"]["template"]["metadata"].get("labels", {})
            ports = {p.get("name") for c in d["spec"]["template"]["spec"]["containers"]
                     for p in c.get("ports", [])}
            for kind in ("Service", "PodDisruptionBudget", "NetworkPolicy"):
                for w, r in by_kind.get(kind, []):
                    sel = r["spec"].get("selector") if kind == "Service" else \
                        r["spec"].get("selector" if kind == "PodDisruptionBudget" else "podSelector", {}).get("matchLabels")
                    if not sel or any(labels.get(k) != v for k, v in sel.items()):
                        self.err(w, f"selector {sel} does not select the pods of {where}")
            for w, svc in by_kind.get("Service", []):
                for p in svc["spec"].get("ports", []):
                    if isinstance(p.get("targetPort"), str) and p["targetPort"] not in ports:
                        self.err(w, f"targetPort {p['targetPort']} is not a container port name")
                    if p.get("targetPort") == "admin" or p.get("port") == 9090:
                        self.err(w, "the admin port must not be in the public Service")
        services = {svc["metadata"]["name"]: svc for _, svc in by_kind.get("Service", [])}
        for w, ing in by_kind.get("Ingress", []):
            for rule in ing["spec"].get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    b = path["backend"]["service"]
                    svc = services.get(b["name"])
                    names = {p.get("name") for p in (svc or {}).get("spec", {}).get("ports", [])}
                    if svc is None or b["port"].get("name") not in names:
                        self.err(w, f"backend {b} is not a Service port")

    def pod_rules(self, where, d, config):
        spec = d["spec"]["template"]["spec"]
        pod_sc = spec.get("securityContext") or {}
        if pod_sc.get("seccompProfile", {}).get("type", "RuntimeDefault") not in ("RuntimeDefault", "Localhost"):
            self.err(where, "the pod's seccompProfile must be RuntimeDefault or Localhost (restricted)")
        if pod_sc.get("runAsUser") == 0:
            self.err(where, "the pod's runAsUser must not be 0 (restricted)")
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(flag):
                self.err(where, f"{flag} is not allowed (restricted)")
        for v in spec.get("volumes", []):
            if "hostPath" in v:
                self.err(where, f"volume {v['name']}: hostPath is not allowed (restricted)")
        if (d["spec"].get("replicas") or 1) < 2:
            self.err(where, "fewer than 2 replicas")
        health = config.get("health", {})
        delay = health.get("shutdown_delay_secs", 3) + health.get("drain_secs", 20)
        if spec.get("terminationGracePeriodSeconds", 30) <= delay:
            self.err(where, f"terminationGracePeriodSeconds must exceed shutdown delay + drain ({delay})")
        for c in spec.get("initContainers", []) + spec["containers"]:
            w = f"{where} container {c['name']}"
            sc = c.get("securityContext") or {}
            eff = lambda k: sc.get(k, pod_sc.get(k))  # noqa: E731 (container overrides pod)
            if eff("runAsNonRoot") is not True:
                self.err(w, "runAsNonRoot must be true (restricted)")
            if eff("runAsUser") == 0:
                self.err(w, "runAsUser must not be 0 (restricted)")
            if (eff("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
                self.err(w, "seccompProfile must be RuntimeDefault or Localhost (restricted)")
            if sc.get("allowPrivilegeEscalation") is not False:
                self.err(w, "allowPrivilegeEscalation must be false (restricted)")
            if sc.get("privileged"):
                self.err(w, "privileged is not allowed (restricted)")
            caps = sc.get("capabilities") or {}
            if "ALL" not in (caps.get("drop") or []):
                self.err(w, "capabilities must drop ALL (restricted)")
            if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
                self.err(w, "only NET_BIND_SERVICE may be added (restricted)")
            if sc.get("readOnlyRootFilesystem") is not True:
                self.err(w, "readOnlyRootFilesystem must be true")
            if any(p.get("hostPort") for p in c.get("ports", [])):
                self.err(w, "hostPort is not allowed")
            image = c.get("image", "")
            tag = image.rsplit("/", 1)[-1]
            if "@sha256:" not in image and (":" not in tag or tag.endswith(":latest")):
                self.err(w, f"image {image!r} must be pinned to a version or digest, not latest")
            if c in spec.get("initContainers", []):
                continue
            want = {"startupProbe": "/readyz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"}
            for probe, path in want.items():
                got = ((c.get(probe) or {}).get("httpGet") or {}).get("path")
                if got != path:
                    self.err(w, f"{probe} must GET {path} (has {got})")
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(kind) or {}):
                        self.err(w, f"resources.{kind}.{r} is missing")
            cpu = str((res.get("limits") or {}).get("cpu", ""))
            if cpu and not re.fullmatch(r"[1-9][0-9]*|[1-9][0-9]*000m", cpu):
                self.err(w, f"cpu limit {cpu} is not whole cores: the thread pools round it down")
            if (res.get("requests") or {}).get("cpu") != (res.get("limits") or {}).get("cpu"):
                self.err(w, "cpu request must equal the limit: the pools count on every core")
            self.check_env_names(w, [e["name"] for e in c.get("env", [])])

    # ---- compose and nginx ------------------------------------------------------------------

    def compose(self):
        path = os.path.join(self.root, "deploy/compose.yaml")
        where = "deploy/compose.yaml"
        try:
            c = load_all(path)[0]
        except yaml.YAMLError as e:
            return self.err(where, f"YAML: {e}")
        for e in compose_validator().iter_errors(c):
            self.err(where, f"compose spec: {e.json_path}: {e.message}")
        services = c.get("services", {})
        for top in ("secrets", "volumes", "networks"):
            declared = set(c.get(top) or {})
            for name, s in services.items():
                used = s.get(top) or []
                used = [u.split(":")[0] for u in used if top != "volumes" or not u.startswith((".", "/"))]
                for u in set(used) - declared:
                    self.err(where, f"service {name}: {top[:-1]} {u} is not declared")
        addr = {n: (s.get("networks") or {}).get("internal", {}).get("ipv4_address")
                for n, s in services.items() if isinstance(s.get("networks"), dict)}
        replicas = [n for n, s in services.items() if str(s.get("image", "")).startswith("auth-server:")]
        proxy = services.get("proxy")
        if len(replicas) < 2 or proxy is None:
            return self.err(where, "needs two auth-server replicas and a proxy")
        with open(os.path.join(self.root, "deploy/nginx/nginx.conf"), encoding="utf-8") as f:
            upstream = re.findall(r"^\s*server\s+([0-9.]+):8080\b", f.read(), re.M)
        if sorted(upstream) != sorted(filter(None, (addr.get(r) for r in replicas))):
            self.err(where, f"nginx upstream {upstream} is not the replicas' addresses")
        published = []
        for name, s in services.items():
            if s.get("restart") not in ("unless-stopped", "on-failure", "always"):
                self.err(where, f"service {name}: no restart policy")
            for p in s.get("ports") or []:
                if not str(p).startswith("127.0.0.1:"):
                    published.append((name, str(p)))
        if [n for n, _ in published] != ["proxy"]:
            self.err(where, f"only the proxy may be published beyond loopback, not {published}")
        for name in replicas:
            s = services[name]
            env = s.get("environment") or {}
            self.check_env_names(f"{where} service {name}", list(env))
            trusted = str(env.get("AUTH_SERVER_SERVER_TRUSTED_PROXIES", ""))
            if trusted != str(addr.get("proxy")):
                self.err(where, f"service {name}: trusted_proxies {trusted!r} is not the proxy's address")
            port = published[0][1].split(":")[0] if published else None
            if env.get("AUTH_SERVER_SERVER_ISSUER") != f"http://localhost:{port}":
                self.err(where, f"service {name}: the issuer is not the proxy's URL (port {port})")
            if "healthcheck" not in s:
                self.err(where, f"service {name}: no health check")
            for key in ("AUTH_SERVER_KEYS_KEK", "AUTH_SERVER_DATABASE_URL"):
                if key in env:
                    self.err(where, f"service {name}: {key} in the environment; use {key}_FILE")
        db_test = " ".join((services.get("db", {}).get("healthcheck") or {}).get("test", []))
        if "pg_isready" not in db_test or "-h" not in db_test.split():
            self.err(where, "db: the health check must be pg_isready over TCP (-h)")
        net = ipaddress.ip_network(c["networks"]["internal"]["ipam"]["config"][0]["subnet"])
        for n, a in addr.items():
            if a and ipaddress.ip_address(a) not in net:
                self.err(where, f"service {n}: {a} is outside {net}")

    def nginx(self, nginx_bin):
        with tempfile.TemporaryDirectory(prefix="deploy-lint-nginx.") as prefix:
            conf = os.path.abspath(os.path.join(self.root, "deploy/nginx/nginx.conf"))
            r = subprocess.run([nginx_bin, "-t", "-q", "-p", prefix, "-e", "stderr", "-c", conf],
                               capture_output=True, text=True)
            if r.returncode != 0:
                self.err("deploy/nginx/nginx.conf", "nginx -t: " + " | ".join(r.stderr.strip().splitlines()))

    def production_example(self):
        with open(os.path.join(self.root, "config/production.example.toml"), encoding="utf-8") as f:
            self.check_config("config/production.example.toml", f.read())


def lint(root, nginx_bin, parts=("deploy/kubernetes", "deploy/compose", "deploy/nginx", "config")):
    """The problems found under `root`, in the checks of `parts` (all by default)."""
    lint = Lint(root)
    if "deploy/kubernetes" in parts:
        lint.kubernetes()
    if "deploy/compose" in parts or "deploy/nginx" in parts:
        lint.compose()
    if "deploy/nginx" in parts:
        lint.nginx(nginx_bin)
    if "config" in parts:
        lint.production_example()
    return lint.errors


# (file, text to replace, replacement, a word the error must contain)
BREAKS = [
    ("deploy/kubernetes/deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", "readOnlyRootFileSystem"),
    ("deploy/kubernetes/deployment.yaml", "periodSeconds: 10", 'periodSeconds: "10"', "periodSeconds"),
    ("deploy/kubernetes/pdb.yaml", "policy/v1", "policy/v1beta1", "PodDisruptionBudget"),
    ("deploy/kubernetes/deployment.yaml", "image: auth-server:0.1.0", "image: auth-server:latest", "pinned"),
    ("deploy/kubernetes/deployment.yaml", "type: RuntimeDefault\n      # At most", "type: Unconfined\n      # At most", "seccompProfile"),
    ("deploy/kubernetes/deployment.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation"),
    ("deploy/kubernetes/deployment.yaml", "drop: [ALL]", "drop: [NET_RAW]", "drop ALL"),
    ("deploy/kubernetes/deployment.yaml", "path: /healthz", "path: /readyz", "livenessProbe"),
    ("deploy/kubernetes/deployment.yaml", 'limits:\n              cpu: "2"', 'limits:\n              cpu: 1500m', "whole cores"),
    ("deploy/kubernetes/deployment.yaml", "terminationGracePeriodSeconds: 35", "terminationGracePeriodSeconds: 20", "terminationGracePeriodSeconds"),
    ("deploy/kubernetes/deployment.yaml", "runAsUser: 10001\n        runAsGroup", "runAsUser: 10001\n        runAsUser: 0\n        runAsGroup", "duplicate key"),
    ("deploy/kubernetes/configmap.yaml", "idle_timeout_secs = 75", "idle_timeout = 75", "idle_timeout"),
    ("deploy/kubernetes/service.yaml", "targetPort: http", "targetPort: htp", "targetPort"),
    ("deploy/kubernetes/kustomization.yaml", "  - pdb.yaml\n", "", "resources"),
    ("deploy/compose.yaml", "restart: unless-stopped\n    environment", "restrat: unless-stopped\n    environment", "restrat"),
    ("deploy/compose.yaml", '"pg_isready", "-h", "127.0.0.1", ', '"pg_isready", ', "pg_isready"),
    ("deploy/compose.yaml", "AUTH_SERVER_SERVER_TRUSTED_PROXIES: 172.31.240.10", "AUTH_SERVER_SERVER_TRUSTED_PROXIES: 172.31.240.0/24", "trusted_proxies"),
    ("deploy/compose.yaml", "AUTH_SERVER_KEYS_KEK_FILE:", "AUTH_SERVER_KEY_KEK_FILE:", "AUTH_SERVER_KEY_KEK_FILE"),
    ("deploy/compose.yaml", "    - kek\n  healthcheck", "    - kek\n    - kek2\n  healthcheck", "kek2"),
    ("deploy/compose.yaml", '"127.0.0.1:9092:9090"', '"9092:9090"', "published"),
    ("deploy/nginx/nginx.conf", "server 172.31.240.12:8080", "server 172.31.240.13:8080", "upstream"),
    ("deploy/nginx/nginx.conf", "keepalive 16;", "keepalive 16", "nginx -t"),
    ("config/production.example.toml", "acquire_timeout_secs = 3", "aquire_timeout_secs = 3", "aquire_timeout_secs"),
]


def self_test(root, nginx_bin):
    failed = 0
    for path, old, new, word in BREAKS:
        with tempfile.TemporaryDirectory(prefix="deploy-lint-self.") as tmp:
            for part in ("deploy", "config"):
                shutil.copytree(os.path.join(root, part), os.path.join(tmp, part),
                                ignore=shutil.ignore_patterns("secrets"))
            with open(os.path.join(tmp, path), encoding="utf-8") as f:
                text = f.read()
            if text.count(old) != 1:
                print(f"self-test: {path}: {old!r} does not occur exactly once")
                failed += 1
                continue
            with open(os.path.join(tmp, path), "w", encoding="utf-8") as f:
                f.write(text.replace(old, new))
            # Only the checks that read the broken file (a full run each time costs seconds).
            errors = lint(tmp, nginx_bin, parts=[p for p in ("deploy/kubernetes", "deploy/compose",
                                                             "deploy/nginx", "config") if path.startswith(p)])
            caught = [e for e in errors if word in e]
            if not caught:
                print(f"self-test: breaking {path} ({new.strip()!r}) was not caught: {errors}")
                failed += 1
            else:
                print(f"self-test: caught: {caught[0].splitlines()[0][:150]}")
    print(f"self-test: {len(BREAKS) - failed} of {len(BREAKS)} breaks caught")
    return failed == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=".")
    ap.add_argument("--nginx", default="nginx")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    errors = lint(a.root, a.nginx)
    for e in errors:
        print(e)
    if errors:
        print(f"deploy lint: {len(errors)} problem(s)")
        return 1
    print(f"deploy lint: ok (Kubernetes {', '.join(K8S_VERSIONS)} strict, compose spec, nginx -t)")
    if a.self_test and not self_test(a.root, a.nginx):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
