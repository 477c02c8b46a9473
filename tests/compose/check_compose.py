#!/usr/bin/env python3
"""Validates the distributed deployment (compose/docker-compose.yml).

usage: check_compose.py LEDGERD COMPOSE_FILE

1. `docker-compose -f COMPOSE_FILE config` must succeed (it needs no Docker
   engine); its output, the resolved file, is what the rest checks.
2. The structure: 3 Kafka brokers in KRaft mode (broker+controller, one
   3-voter quorum, one cluster id), replication factor 3 and
   min.insync.replicas 2 on the brokers and on the engines, PostgreSQL, two
   engines identical but for their instance id and volume, two API instances,
   a projector, a healthcheck on every service, data on named volumes only.
3. Every ledger service's command and environment, with each /run/secrets/
   file replaced by a temporary file holding a dummy value, must pass
   `ledgerd ... --check-config`; deliberately broken variants must fail it
   with status 2.
4. The healthchecks of ledger services are `ledgerd probe http://...` on the
   port the service listens on.
5. Kafka security: no PLAINTEXT listener, clients authenticate with SASL
   SCRAM-SHA-512, brokers with the super user from a JAAS secret file, an
   authorizer that denies what no ACL allows; a kafka-setup job whose ACL
   table (compose/kafka-setup.sh) lets only the API write commands (and the
   engine its claim records) and only the engine write events and replies;
   each ledger service logs in as its own user through
   LEDGER_KAFKA_OPTIONS_FILE (checked by librdkafka in --check-config) and
   waits for the job.

6. Monitoring: Prometheus scrapes every ledger process's metrics port and
   loads compose/monitoring/alerts.yml, which `promtool check rules` and
   `promtool check config` accept and which holds the alerts operations
   need (disk above 80%, projection lag, engine not ready, commit latency,
   webhook signature failures, failed sign-ins); Grafana provisions the dashboard
   compose/monitoring/grafana/dashboards/ledger.json, whose every query is
   valid PromQL (promtool) and names only metrics the ledgerd binary
   exports, like the alert rules.

Every failure is reported (not only the first); the exit status is 1 if any.
Set DOCKER_COMPOSE to use another compose command (e.g. "docker compose").
"""

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # a missing tool fails the check; it does not skip it
    print("check_compose: FAIL: PyYAML is not installed (Debian: python3-yaml; scripts/bootstrap installs it)")
    sys.exit(1)

KAFKA_IMAGE_PREFIX = "apache/kafka"
POSTGRES_IMAGE_PREFIX = "postgres"
SECRETS_DIR = "/run/secrets"
CHECK_TIMEOUT_S = 30

failures = []
passes = 0


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def ok(msg):
    global passes
    passes += 1
    print("ok:   " + msg)


def check(cond, msg_ok, msg_fail):
    if cond:
        ok(msg_ok)
    else:
        fail(msg_fail)
    return cond


# --- reading the resolved file --------------------------------------------


def compose_command():
    override = os.environ.get("DOCKER_COMPOSE")
    if override:
        return shlex.split(override)
    exe = shutil.which("docker-compose")
    if exe:
        return [exe]
    return None


def resolved_config(compose_file):
    cmd = compose_command()
    if cmd is None:
        fail("docker-compose is not installed (Debian: docker-compose; scripts/bootstrap installs it), "
             "or set DOCKER_COMPOSE")
        return None
    full = cmd + ["-f", compose_file, "config"]
    try:
        r = subprocess.run(full, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        fail("%s: %s" % (" ".join(full), e))
        return None
    if r.returncode != 0:
        fail("%s exited %d:\n%s" % (" ".join(full), r.returncode, (r.stderr + r.stdout).strip()))
        return None
    try:
        doc = yaml.safe_load(r.stdout)
    except yaml.YAMLError as e:
        fail("the output of `%s` is not YAML: %s" % (" ".join(full), e))
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        fail("the resolved compose file has no services")
        return None
    ok("%s accepts the file (%d services)" % (" ".join(cmd + ["config"]), len(doc["services"])))
    return doc


def as_list(command):
    if command is None:
        return []
    if isinstance(command, str):
        return shlex.split(command)
    return [str(c) for c in command]


def environment(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE list form
        out = {}
        for item in env:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {str(k): ("" if v is None else str(v)) for k, v in env.items()}


def mounts(svc):
    """(type, source, target, read_only) of every volume of a service, for
    both the short (SOURCE:TARGET[:MODE]) and the long syntax."""
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            typ = v.get("type", "volume")
            src = v.get("source")
            out.append((typ, src, v.get("target"), bool(v.get("read_only"))))
            continue
        parts = str(v).split(":")
        if len(parts) == 1:
            out.append(("volume", None, parts[0], False))  # anonymous
            continue
        src, target = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else "rw"
        typ = "bind" if src.startswith(("/", ".", "~")) else "volume"
        out.append((typ, src, target, "ro" in mode.split(",")))
    return out


def healthcheck_test(svc):
    hc = svc.get("healthcheck")
    if not isinstance(hc, dict) or hc.get("disable"):
        return None
    test = hc.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not test or test[0] == "NONE":
        return None
    return [str(t) for t in test]


def flag_value(args, name):
    """Value of --name=V or --name V in args, or None."""
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            return a[len(name) + 1:]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def without_flag(args, name, takes_value=True):
    out = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a.startswith(name + "="):
            continue
        if a == name:
            skip = takes_value
            continue
        out.append(a)
    return out


def env_name(flag):
    return "LEDGER_" + flag.lstrip("-").upper().replace("-", "_")


def setting(args, env, flag):
    """A ledgerd setting as it would resolve: the flag wins over the environment."""
    v = flag_value(args, flag)
    return v if v is not None else env.get(env_name(flag))


def port_of(listen):
    if not listen or ":" not in listen:
        return None
    return listen.rsplit(":", 1)[1]


# --- structure ---------------------------------------------------------------


def is_broker(svc):
    """A Kafka broker: the Kafka image run as itself (kafka-setup runs a script)."""
    return str(svc.get("image", "")).startswith(KAFKA_IMAGE_PREFIX) and not svc.get("entrypoint")


def check_kafka(services):
    kafka = {n: s for n, s in services.items() if is_broker(s)}
    if not check(len(kafka) == 3, "3 Kafka services: %s" % ", ".join(sorted(kafka)),
                 "expected 3 Kafka services (image %s*), found %d: %s" % (KAFKA_IMAGE_PREFIX, len(kafka), sorted(kafka))):
        if not kafka:
            return {}
    envs = {n: environment(s) for n, s in kafka.items()}
    required = {
        "KAFKA_DEFAULT_REPLICATION_FACTOR": "3",
        "KAFKA_MIN_INSYNC_REPLICAS": "2",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "3",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "3",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "2",
        "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
    }
    node_ids = {}
    advertised = {}
    for n, env in sorted(envs.items()):
        roles = set(r.strip() for r in env.get("KAFKA_PROCESS_ROLES", "").split(",") if r.strip())
        check(roles == {"broker", "controller"}, "%s: KRaft, process roles broker,controller" % n,
              "%s: KAFKA_PROCESS_ROLES must be broker,controller (KRaft combined mode), is %r"
              % (n, env.get("KAFKA_PROCESS_ROLES")))
        if "KAFKA_ZOOKEEPER_CONNECT" in env and env["KAFKA_ZOOKEEPER_CONNECT"]:
            fail("%s: KAFKA_ZOOKEEPER_CONNECT is set; this deployment is KRaft only" % n)
        for k, want in required.items():
            got = env.get(k)
            check(got is not None and got.lower() == want, "%s: %s=%s" % (n, k, want),
                  "%s: %s must be %s, is %r" % (n, k, want, got))
        node_ids[n] = env.get("KAFKA_NODE_ID")
        adv = env.get("KAFKA_ADVERTISED_LISTENERS", "")
        m = re.search(r"CLIENT://([^:,/]+):(\d+)", adv)
        advertised[n] = "%s:%s" % (m.group(1), m.group(2)) if m else None
        check(m is not None and m.group(1) == n, "%s: advertises itself as %s" % (n, advertised[n]),
              "%s: KAFKA_ADVERTISED_LISTENERS must advertise CLIENT://%s:PORT (the service name), is %r"
              % (n, n, adv))
        log_dirs = env.get("KAFKA_LOG_DIRS") or "/tmp/kraft-combined-logs"
        named = [m_ for m_ in mounts(kafka[n]) if m_[0] == "volume" and m_[1] and m_[2] == log_dirs]
        check(bool(named), "%s: its log dir %s is the named volume %s" % (n, log_dirs, named[0][1] if named else ""),
              "%s: the Kafka log dir %s must be on a named volume (data would be lost with the container)"
              % (n, log_dirs))

        check_kafka_security(n, kafka[n], env)

    ids = [v for v in node_ids.values()]
    check(all(ids) and len(set(ids)) == len(ids), "Kafka node ids are distinct: %s" % sorted(ids, key=str),
          "Kafka node ids must be set and distinct: %s" % node_ids)
    cluster_ids = set(env.get("CLUSTER_ID") for env in envs.values())
    check(len(cluster_ids) == 1 and None not in cluster_ids and "" not in cluster_ids,
          "one CLUSTER_ID for all brokers", "the brokers must share one CLUSTER_ID, have %s" % cluster_ids)
    voters = set(env.get("KAFKA_CONTROLLER_QUORUM_VOTERS") for env in envs.values())
    if check(len(voters) == 1 and None not in voters, "the same controller quorum on every broker",
             "every broker must name the same KAFKA_CONTROLLER_QUORUM_VOTERS, have %s" % voters):
        quorum = {}
        for v in next(iter(voters)).split(","):
            m = re.fullmatch(r"\s*(\d+)@([^:]+):(\d+)\s*", v)
            if not m:
                fail("malformed quorum voter %r" % v)
                continue
            quorum[m.group(1)] = m.group(2)
        expected = {str(node_ids[n]): n for n in kafka}
        check(quorum == expected and len(quorum) == 3, "3 voters, one per broker: %s" % next(iter(voters)),
              "the quorum voters %s must be exactly the 3 brokers by node id and service name %s" % (quorum, expected))
    return advertised


def check_kafka_security(n, svc, env):
    """SASL everywhere, SCRAM for clients, an authorizer, secrets in files."""
    protocols = {}
    for item in env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "").split(","):
        name, _, proto = item.strip().partition(":")
        if name:
            protocols[name] = proto
    check(protocols and all(p in ("SASL_PLAINTEXT", "SASL_SSL") for p in protocols.values()),
          "%s: every listener authenticates with SASL (%s)" % (n, ",".join(sorted(protocols))),
          "%s: every listener must be SASL_PLAINTEXT or SASL_SSL (no PLAINTEXT), map is %r" % (n, protocols))
    check(env.get("KAFKA_LISTENER_NAME_CLIENT_SASL_ENABLED_MECHANISMS") == "SCRAM-SHA-512",
          "%s: clients log in with SCRAM-SHA-512 only" % n,
          "%s: KAFKA_LISTENER_NAME_CLIENT_SASL_ENABLED_MECHANISMS must be SCRAM-SHA-512, is %r"
          % (n, env.get("KAFKA_LISTENER_NAME_CLIENT_SASL_ENABLED_MECHANISMS")))
    check(env.get("KAFKA_AUTHORIZER_CLASS_NAME", "").endswith("StandardAuthorizer")
          and env.get("KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND", "").lower() == "false",
          "%s: ACLs enforced (StandardAuthorizer, nothing allowed without an ACL)" % n,
          "%s: needs KAFKA_AUTHORIZER_CLASS_NAME=...StandardAuthorizer and KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND=false" % n)
    check(env.get("KAFKA_SUPER_USERS") == "User:broker", "%s: the only super user is User:broker" % n,
          "%s: KAFKA_SUPER_USERS must be User:broker alone, is %r" % (n, env.get("KAFKA_SUPER_USERS")))
    m = re.search(r"java\.security\.auth\.login\.config=(\S+)", env.get("KAFKA_OPTS", ""))
    listed = [str(x if isinstance(x, str) else x.get("source")) for x in svc.get("secrets") or []]
    check(m is not None and m.group(1).startswith(SECRETS_DIR + "/") and os.path.basename(m.group(1)) in listed,
          "%s: JAAS configuration from the secret %s" % (n, m.group(1) if m else ""),
          "%s: KAFKA_OPTS must point java.security.auth.login.config at a /run/secrets/ file the service lists" % n)
    leaked = [k for k, v in env.items() if "password" in v.lower() or "jaas_config" in k.lower()]
    check(not leaked, "%s: no credential in the environment" % n,
          "%s: credentials written in the compose file: %s" % (n, leaked))


# --- Kafka users and ACLs ------------------------------------------------------

ROLE_OF = {"serve": "api", "engine": "engine", "project": "projector"}
WRITE_OPS = {"write", "create", "alter", "delete", "all", "alterconfigs", "idempotentwrite"}


def read_grants(script):
    """The GRANTS table of compose/kafka-setup.sh: (user, op, type, pattern, name)."""
    try:
        text = open(script).read()
    except OSError as e:
        fail("cannot read %s: %s" % (script, e))
        return None
    m = re.search(r"<<'GRANTS'\n(.*?)\nGRANTS\n", text, re.S)
    if not m:
        fail("%s: no GRANTS table" % script)
        return None
    grants = []
    for line in m.group(1).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 5:
            fail("%s: malformed grant line %r" % (script, line))
            continue
        grants.append(tuple(parts))
    return grants


def check_kafka_acls(services, compose_dir):
    setup = services.get("kafka-setup")
    if not check(setup is not None, "kafka-setup: the users-and-ACLs job exists", "no kafka-setup service"):
        return
    script = [m for m in mounts(setup) if m[0] == "bind" and m[3] and str(m[1]).endswith("kafka-setup.sh")]
    if not check(bool(script), "kafka-setup: runs compose/kafka-setup.sh (read-only)",
                 "kafka-setup must mount compose/kafka-setup.sh read-only"):
        return
    grants = read_grants(os.path.join(compose_dir, "kafka-setup.sh"))
    if grants is None:
        return
    users = set(g[0] for g in grants)
    check(users == {"api", "engine", "projector"}, "ACLs name the users api, engine, projector",
          "the ACL users must be exactly api, engine, projector, are %s" % sorted(users))
    for g in grants:
        if "*" in g[4] or g[1].lower() == "all":
            fail("grant %s is a wildcard; grant each operation on named resources" % (g,))

    def writers(topic):
        return set(u for u, op, typ, pat, name in grants
                   if typ == "topic" and op.lower() in WRITE_OPS and op.lower() != "create"
                   and (name == topic if pat == "literal" else topic.startswith(name)))

    w = writers("ledger.commands")
    check("api" in w and w <= {"api", "engine"}, "commands: written by api (and the engine's claim records) only",
          "only api (and engine, for its claim records) may write ledger.commands; writers are %s" % sorted(w))
    for topic in ("ledger.events", "ledger.replies"):
        w = writers(topic)
        check(w == {"engine"}, "%s: written by the engine only" % topic,
              "only engine may write %s; writers are %s" % (topic, sorted(w)))
    pw = [g for g in grants if g[0] == "projector" and g[1].lower() in WRITE_OPS]
    check(not pw, "projector: read-only", "the projector must not write anything: %s" % pw)


def check_postgres(services, top_secrets):
    pg = {n: s for n, s in services.items() if str(s.get("image", "")).split(":")[0] == POSTGRES_IMAGE_PREFIX}
    if not check(len(pg) >= 1, "PostgreSQL: %s" % ", ".join(sorted(pg)), "no PostgreSQL service (image postgres:*)"):
        return
    for n, s in pg.items():
        env = environment(s)
        check("POSTGRES_PASSWORD" not in env, "%s: no password in the environment" % n,
              "%s: POSTGRES_PASSWORD is set in the file; use POSTGRES_PASSWORD_FILE with a secret" % n)
        pw = env.get("POSTGRES_PASSWORD_FILE", "")
        check(pw.startswith(SECRETS_DIR + "/") and secret_targets(s, top_secrets).get(pw) is not None,
              "%s: password from the secret %s" % (n, pw),
              "%s: POSTGRES_PASSWORD_FILE must be a /run/secrets/ file of a secret the service lists, is %r" % (n, pw))
        named = [m for m in mounts(s) if m[0] == "volume" and m[1] and m[2] == "/var/lib/postgresql/data"]
        check(bool(named), "%s: data on a named volume" % n,
              "%s: /var/lib/postgresql/data must be a named volume" % n)


def secret_targets(svc, top_secrets):
    """Path inside the container -> host file, for the secrets a service lists."""
    out = {}
    for s in svc.get("secrets") or []:
        if isinstance(s, str):
            source, target = s, s
        else:
            source = s.get("source")
            target = s.get("target") or source
        path = target if str(target).startswith("/") else "%s/%s" % (SECRETS_DIR, target)
        out[path] = (top_secrets.get(source) or {}).get("file")
    return out


def check_volumes(doc, services, compose_dir):
    declared = set((doc.get("volumes") or {}).keys())
    for n, s in sorted(services.items()):
        for typ, src, target, ro in mounts(s):
            if typ == "volume":
                if not src:
                    fail("%s: anonymous volume at %s; use a named volume declared under volumes:" % (n, target))
                elif src not in declared:
                    fail("%s: volume %s is not declared under the top-level volumes:" % (n, src))
                else:
                    ok("%s: %s is the named volume %s" % (n, target, src))
            elif typ == "bind":
                # Only read-only configuration files from compose/, never data.
                inside = os.path.abspath(str(src)).startswith(compose_dir + os.sep)
                if ro and inside:
                    ok("%s: read-only configuration file %s" % (n, target))
                else:
                    fail("%s: %s is a bind mount of %s; data must live on named volumes (only read-only "
                         "configuration files from %s may be bind-mounted)" % (n, target, src, compose_dir))
            else:
                fail("%s: %s mount at %s; data must live on named volumes" % (n, typ, target))


def check_healthchecks(services):
    for n, s in sorted(services.items()):
        test = healthcheck_test(s)
        check(test is not None, "%s: has a healthcheck" % n, "%s: has no healthcheck" % n)


def is_ledger(svc, ledger_images):
    return bool(svc.get("build")) or str(svc.get("image", "")) in ledger_images


def check_ledger_services(services, top_secrets, brokers):
    ledger_images = set(str(s.get("image")) for s in services.values() if s.get("build") and s.get("image"))
    ledger = {n: s for n, s in services.items() if is_ledger(s, ledger_images)}
    by_cmd = {}
    for n, s in sorted(ledger.items()):
        args = as_list(s.get("command"))
        if not check(bool(args) and os.path.basename(args[0]) == "ledgerd", "%s: runs ledgerd" % n,
                     "%s: the command must start with ledgerd, is %r" % (n, args)):
            continue
        sub = args[1] if len(args) > 1 and not args[1].startswith("-") else "serve"
        by_cmd.setdefault(sub, []).append(n)

    engines = by_cmd.get("engine", [])
    apis = by_cmd.get("serve", [])
    projectors = by_cmd.get("project", [])
    check(len(engines) == 2, "two engines: %s" % ", ".join(engines),
          "expected two engine services (ledgerd engine), found %s" % engines)
    check(len(apis) >= 2, "API instances: %s" % ", ".join(apis),
          "expected at least two API services (ledgerd serve), found %s" % apis)
    check(len(projectors) >= 1, "projector: %s" % ", ".join(projectors),
          "expected a projector service (ledgerd project), found %s" % projectors)

    data_volumes = {}
    for n in sorted(ledger):
        s = ledger[n]
        args = as_list(s.get("command"))
        if not args or os.path.basename(args[0]) != "ledgerd":
            continue
        env = environment(s)
        sub = args[1] if len(args) > 1 and not args[1].startswith("-") else "serve"

        check(setting(args, env, "--log") == "kafka", "%s: --log=kafka" % n,
              "%s: must run with --log=kafka, has %r" % (n, setting(args, env, "--log")))
        b = setting(args, env, "--kafka-brokers")
        b_set = set(x.strip() for x in (b or "").split(",") if x.strip())
        check(b_set == set(brokers), "%s: --kafka-brokers names the 3 brokers" % n,
              "%s: --kafka-brokers must be the brokers' advertised listeners %s, is %r" % (n, sorted(brokers), b))

        restart = s.get("restart")
        check(restart in ("unless-stopped", "always", "on-failure"), "%s: restart: %s" % (n, restart),
              "%s: needs a restart policy (a fenced engine exits 75 and must come back), has %r" % (n, restart))

        data_dir = setting(args, env, "--data-dir") or "data"
        vol = [m for m in mounts(s) if m[0] == "volume" and m[1] and m[2] == data_dir]
        if check(bool(vol), "%s: --data-dir %s is the named volume %s" % (n, data_dir, vol[0][1] if vol else ""),
                 "%s: its --data-dir %s must be a named volume" % (n, data_dir)):
            data_volumes.setdefault(vol[0][1], []).append(n)

        listen_port = port_of(setting(args, env, "--listen") or "127.0.0.1:8080")
        test = healthcheck_test(s)
        if test is not None:
            url = test[3] if len(test) > 3 else ""
            good = test[:3] == ["CMD", "ledgerd", "probe"] and re.match(r"https?://[^/\s]+(/\S*)?$", url) is not None
            if check(good, "%s: healthcheck is ledgerd probe %s" % (n, url),
                     "%s: the healthcheck must be [\"CMD\", \"ledgerd\", \"probe\", \"http://...\"], is %r" % (n, test)):
                m = re.match(r"https?://[^/:]+:(\d+)", url)
                check(m is not None and m.group(1) == listen_port, "%s: probes the port it listens on (%s)" % (n, listen_port),
                      "%s: the healthcheck probes %s but the service listens on port %s" % (n, url, listen_port))
                if sub == "engine":
                    check(url.endswith("/healthz"), "%s: engine healthcheck is /healthz (a standby is healthy)" % n,
                          "%s: an engine's healthcheck must use /healthz (a standby answers 503 on ready), is %s"
                          % (n, url))

        if sub == "serve":
            check(bool(env.get("LEDGER_JWT_HS256_SECRET_FILE") or env.get("LEDGER_JWT_ES256_PUBLIC_KEY_FILE")),
                  "%s: JWT key from a secret file" % n, "%s: an API instance needs LEDGER_JWT_*_FILE" % n)
            check(bool(s.get("ports")), "%s: published ports %s" % (n, s.get("ports")),
                  "%s: an API instance must publish its port" % n)
        role = ROLE_OF.get(sub)
        opts = env.get("LEDGER_KAFKA_OPTIONS_FILE", "")
        check(role is not None and opts == "%s/kafka_%s" % (SECRETS_DIR, role)
              and opts in secret_targets(s, top_secrets),
              "%s: Kafka login as %s from the secret %s" % (n, role, opts),
              "%s: LEDGER_KAFKA_OPTIONS_FILE must be the listed secret %s/kafka_%s, is %r" % (n, SECRETS_DIR, role, opts))
        deps = s.get("depends_on") or {}
        cond = deps.get("kafka-setup", {}).get("condition") if isinstance(deps, dict) else None
        check(cond == "service_completed_successfully", "%s: starts after kafka-setup" % n,
              "%s: must depend on kafka-setup with condition service_completed_successfully, has %r" % (n, cond))
        for k in env:
            if k in ("LEDGER_JWT_HS256_SECRET", "LEDGER_PG_CONNINFO"):
                fail("%s: the secret %s is written in the compose file; use %s_FILE and a secret" % (n, k, k))

    for vol, users in sorted(data_volumes.items()):
        check(len(users) == 1, "volume %s belongs to %s alone" % (vol, users[0]),
              "volume %s is shared by %s; each ledger process needs its own data directory" % (vol, users))

    # The two engines: identical but for the instance id (and their volumes).
    if len(engines) == 2:
        a, b = (as_list(ledger[e].get("command")) for e in engines)
        ids = [flag_value(x, "--kafka-instance-id") for x in (a, b)]
        check(all(ids) and ids[0] != ids[1], "engines have distinct instance ids %s" % ids,
              "the engines need distinct --kafka-instance-id values, have %s" % ids)
        check(without_flag(a, "--kafka-instance-id") == without_flag(b, "--kafka-instance-id"),
              "engine commands are identical apart from the instance id",
              "the engine commands differ beyond --kafka-instance-id:\n  %s\n  %s" % (a, b))
        ea, eb = (environment(ledger[e]) for e in engines)
        ea.pop("LEDGER_KAFKA_INSTANCE_ID", None)
        eb.pop("LEDGER_KAFKA_INSTANCE_ID", None)
        check(ea == eb, "engine environments are identical", "the engine environments differ: %s / %s" % (ea, eb))
        for e in engines:
            args = as_list(ledger[e].get("command"))
            env = environment(ledger[e])
            for flag, want in (("--kafka-replication-factor", "3"), ("--kafka-min-insync-replicas", "2")):
                got = setting(args, env, flag)
                check(got == want, "%s: %s=%s" % (e, flag, want), "%s: %s must be %s, is %r" % (e, flag, want, got))
            check("--kafka-create-topics" in args or environment(ledger[e]).get("LEDGER_KAFKA_CREATE_TOPICS") == "1",
                  "%s: creates the topics" % e, "%s: the engines must create the topics (--kafka-create-topics)" % e)
            deps = ledger[e].get("depends_on") or {}
            for k in (k for k in services if is_broker(services[k])):
                cond = deps.get(k, {}).get("condition") if isinstance(deps, dict) else None
                check(cond == "service_healthy", "%s: waits for %s to be healthy" % (e, k),
                      "%s: must depend on %s with condition service_healthy, has %r" % (e, k, cond))
    if len(apis) >= 2:
        ids = [setting(as_list(ledger[a].get("command")), environment(ledger[a]), "--kafka-instance-id") for a in apis]
        check(all(ids) and len(set(ids)) == len(ids), "API instances have distinct instance ids %s" % ids,
              "every API instance needs its own --kafka-instance-id (replies are routed by it), have %s" % ids)
    return ledger, engines


# --- ledgerd --check-config ---------------------------------------------------


def dummy_secret(name):
    if name in ("kafka_api", "kafka_engine", "kafka_projector"):
        return ("# dummy\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanisms=SCRAM-SHA-512\n"
                "sasl.username=%s\nsasl.password=%s" % (name[len("kafka_"):], secrets.token_hex(16)))
    if "jwt" in name or "hs256" in name:
        return secrets.token_hex(32)  # 64 bytes
    if "conninfo" in name:
        return "host=postgres port=5432 dbname=ledger user=ledger password=%s" % secrets.token_hex(16)
    return secrets.token_hex(16)


def run_check_config(ledgerd, args, env):
    """Runs ledgerd with args[1:] + --check-config and exactly env (plus PATH)."""
    full_env = dict(env)
    full_env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    cmd = [ledgerd] + args[1:] + ["--check-config"]
    try:
        r = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, "", "did not exit within %ds (did it start for real instead of checking?)" % CHECK_TIMEOUT_S
    return r.returncode, r.stdout, r.stderr


def show(ledgerd, cmd_args, env):
    e = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sorted(env.items()))
    return (e + " " if e else "") + " ".join(shlex.quote(a) for a in [ledgerd] + cmd_args[1:] + ["--check-config"])


def check_configs(ledgerd, ledger, engines, top_secrets, tmp):
    if not os.access(ledgerd, os.X_OK):
        fail("ledgerd binary %s is missing or not executable" % ledgerd)
        return
    results = {}
    for n in sorted(ledger):
        s = ledger[n]
        args = as_list(s.get("command"))
        if not args or os.path.basename(args[0]) != "ledgerd":
            continue
        sub = args[1] if len(args) > 1 and not args[1].startswith("-") else "serve"
        env = environment(s)
        mounted = secret_targets(s, top_secrets)
        bad = False
        for k, v in list(env.items()):
            if not v.startswith(SECRETS_DIR + "/"):
                continue
            if v not in mounted:
                fail("%s: %s=%s but the service does not list that secret (it would not be mounted)" % (n, k, v))
                bad = True
                continue
            path = os.path.join(tmp, "%s-%s" % (n, os.path.basename(v)))
            if not os.path.exists(path):
                with open(path, "w") as f:
                    f.write(dummy_secret(os.path.basename(v)) + "\n")
            env[k] = path
        if bad:
            continue
        data_dir = setting(args, env, "--data-dir") or "data"
        existed = os.path.exists(data_dir)
        rc, out, err = run_check_config(ledgerd, args, env)
        line = out.strip()
        good = rc == 0 and line.startswith("ledgerd: configuration ok: " + sub)
        results[n] = good
        check(good, "%s: ledgerd %s --check-config: %s" % (n, sub, line),
              "%s: `ledgerd %s` with its compose command and environment must pass --check-config\n"
              "      ran:    %s\n      status: %s\n      stdout: %s\n      stderr: %s"
              % (n, sub, show(ledgerd, args, env), rc, line or "(none)", err.strip() or "(none)"))
        if not existed and os.path.exists(data_dir):
            fail("%s: --check-config created the data directory %s (it must open none)" % (n, data_dir))

        if sub == "engine" and n == (engines[0] if engines else None):
            # Broken on purpose: an engine without brokers.
            broken = without_flag(args, "--kafka-brokers")
            benv = {k: v for k, v in env.items() if k != "LEDGER_KAFKA_BROKERS"}
            expect_failure(ledgerd, n, "without --kafka-brokers", broken, benv)
        if sub == "serve" and "LEDGER_KAFKA_OPTIONS_FILE" in env:
            # Broken on purpose: a misspelt librdkafka setting in the options file.
            bad_opts = os.path.join(tmp, "%s-bad-kafka-options" % n)
            with open(bad_opts, "w") as f:
                f.write("security.protocol=SASL_PLAINTEXT\nsasl.mechanismz=SCRAM-SHA-512\n")
            benv = dict(env)
            benv["LEDGER_KAFKA_OPTIONS_FILE"] = bad_opts
            expect_failure(ledgerd, n, "with a misspelt Kafka option", args, benv)
        if sub == "serve" and "LEDGER_JWT_HS256_SECRET_FILE" in env:
            # Broken on purpose: an API without its JWT key, and with an unreadable key file.
            benv = {k: v for k, v in env.items() if not k.startswith("LEDGER_JWT_")}
            expect_failure(ledgerd, n, "without a JWT key", args, benv)
            benv = dict(env)
            benv["LEDGER_JWT_HS256_SECRET_FILE"] = os.path.join(tmp, "no-such-secret")
            expect_failure(ledgerd, n, "with an unreadable JWT key file", args, benv)
    if results and not all(results.values()):
        print("note: the broken variants above only mean something once the real configurations pass")


def expect_failure(ledgerd, n, what, args, env):
    rc, out, err = run_check_config(ledgerd, args, env)
    check(rc == 2 and err.strip().startswith("ledgerd: "),
          "%s %s: --check-config refuses it (status 2: %s)" % (n, what, err.strip().splitlines()[0] if err.strip() else ""),
          "%s %s: --check-config must exit 2 with `ledgerd: <reason>` on stderr\n"
          "      ran:    %s\n      status: %s\n      stdout: %s\n      stderr: %s"
          % (n, what, show(ledgerd, args, env), rc, out.strip() or "(none)", err.strip() or "(none)"))


# --- main ---------------------------------------------------------------------


REQUIRED_ALERTS = ["LedgerDiskAbove80Percent", "LedgerProjectionLagHigh", "LedgerEngineFailed", "LedgerNoActiveEngine",
                   "LedgerCommitLatencyHigh", "LedgerWebhookSignatureFailures", "LedgerFailedSignInsHigh"]
METRIC_RE = re.compile(r"\bledger_[a-z0-9_]+")


class exported_metrics:
    """The metric names ledgerd's binary carries as strings. A name is looked
    up as a NUL-terminated string anywhere in the binary: the linker may pack
    string literals end to end, so a name need not start on a word boundary."""

    def __init__(self, ledgerd):
        with open(ledgerd, "rb") as f:
            self.data = f.read()

    def __contains__(self, name):
        return (name.encode() + b"\0") in self.data or (name.encode() + b"{") in self.data \
            or (name.encode() + b" ") in self.data


def unknown_metrics(expr, known):
    out = []
    for name in METRIC_RE.findall(expr):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in known and base not in known:
            out.append(name)
    return out


def promtool(args):
    tool = shutil.which("promtool")
    if tool is None:
        fail("promtool is not installed (Debian: prometheus; scripts/bootstrap installs it)")
        return None
    r = subprocess.run([tool] + args, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S)
    return r


def check_prometheus(services, mon_dir, tmp):
    with open(os.path.join(mon_dir, "prometheus.yml")) as f:
        prom = yaml.safe_load(f)
    targets = [t for job in prom.get("scrape_configs", []) for sc in job.get("static_configs", [])
               for t in sc.get("targets", [])]
    for n, s in sorted(services.items()):
        cmd = as_list(s.get("command"))
        if "ledgerd" not in cmd[:1]:
            continue
        port = port_of(flag_value(cmd, "--ops-listen") or "") if "serve" in cmd else port_of(flag_value(cmd, "--listen") or "")
        check("%s:%s" % (n, port) in targets, "prometheus scrapes %s:%s" % (n, port),
              "prometheus does not scrape %s's metrics port (%s); targets: %s" % (n, port, targets))
    local = dict(prom)
    local["rule_files"] = [os.path.join(mon_dir, "alerts.yml")]
    path = os.path.join(tmp, "prometheus.yml")
    with open(path, "w") as f:
        yaml.safe_dump(local, f)
    r = promtool(["check", "config", path])
    if r is not None:
        check(r.returncode == 0, "promtool check config: prometheus.yml and its rules load",
              "promtool check config failed: %s%s" % (r.stdout, r.stderr))


def check_alerts(mon_dir, known):
    path = os.path.join(mon_dir, "alerts.yml")
    r = promtool(["check", "rules", path])
    if r is not None:
        check(r.returncode == 0, "promtool check rules: alerts.yml", "promtool check rules failed: %s%s" % (r.stdout, r.stderr))
    with open(path) as f:
        rules = [rule for g in yaml.safe_load(f)["groups"] for rule in g["rules"]]
    names = {rule.get("alert") for rule in rules}
    for want in REQUIRED_ALERTS:
        check(want in names, "alert %s is defined" % want, "alert %s is missing from alerts.yml" % want)
    for rule in rules:
        bad = unknown_metrics(rule["expr"], known)
        check(not bad, "alert %s names exported metrics" % rule.get("alert"),
              "alert %s names metrics ledgerd does not export: %s" % (rule.get("alert"), bad))


def check_dashboard(mon_dir, known, tmp):
    with open(os.path.join(mon_dir, "grafana", "dashboards", "ledger.json")) as f:
        dash = json.load(f)
    exprs = []
    for panel in dash.get("panels", []):
        targets = panel.get("targets") or []
        check(targets and all(t.get("expr") for t in targets), "panel %r has queries" % panel.get("title"),
              "panel %r has no query" % panel.get("title"))
        for t in targets:
            exprs.append((panel.get("title"), t.get("expr", "")))
            bad = unknown_metrics(t.get("expr", ""), known)
            check(not bad, "panel %r names exported metrics" % panel.get("title"),
                  "panel %r names metrics ledgerd does not export: %s" % (panel.get("title"), bad))
    # promtool parses the queries as recording rules.
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": "dashboard:q%d" % i, "expr": e}
                                                          for i, (_, e) in enumerate(exprs)]}]}
    path = os.path.join(tmp, "dashboard_rules.yml")
    with open(path, "w") as f:
        yaml.safe_dump(rules, f)
    r = promtool(["check", "rules", path])
    if r is not None:
        check(r.returncode == 0, "every dashboard query is valid PromQL (%d)" % len(exprs),
              "a dashboard query is not valid PromQL: %s%s" % (r.stdout, r.stderr))


def check_monitoring(ledgerd, services, compose_dir, tmp):
    mon_dir = os.path.join(compose_dir, "monitoring")
    check("prometheus" in services and "grafana" in services, "prometheus and grafana run in the deployment",
          "the deployment needs the prometheus and grafana services")
    known = exported_metrics(ledgerd)
    check_prometheus(services, mon_dir, tmp)
    check_alerts(mon_dir, known)
    check_dashboard(mon_dir, known, tmp)


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2])
        return 2
    ledgerd = os.path.abspath(sys.argv[1])
    compose_file = os.path.abspath(sys.argv[2])
    doc = resolved_config(compose_file)
    if doc is not None:
        services = doc["services"]
        top_secrets = doc.get("secrets") or {}
        for name, spec in sorted(top_secrets.items()):
            f = (spec or {}).get("file")
            check(bool(f), "secret %s from the file %s" % (name, f), "secret %s must come from a file" % name)
        advertised = check_kafka(services)
        check_postgres(services, top_secrets)
        check_healthchecks(services)
        check_volumes(doc, services, os.path.dirname(compose_file))
        brokers = [a for a in advertised.values() if a]
        check_kafka_acls(services, os.path.dirname(compose_file))
        ledger, engines = check_ledger_services(services, top_secrets, brokers)
        with tempfile.TemporaryDirectory(prefix="check_compose-") as tmp:
            check_configs(ledgerd, ledger, engines, top_secrets, tmp)
            check_monitoring(ledgerd, services, os.path.dirname(compose_file), tmp)
    print()
    if failures:
        print("check_compose: %d check(s) failed, %d passed" % (len(failures), passes))
        return 1
    print("check_compose: all %d checks passed" % passes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
