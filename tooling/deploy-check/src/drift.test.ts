/**
 * No Docker engine or cluster runs here, so the deployment files are checked against the code
 * instead: every environment variable they give an app is one the app reads (derived from its env
 * schema, the queue configuration, the providers' config schemas and direct process.env reads),
 * every value they set parses, ports and probe paths are the apps' defaults, commands start files
 * the deploy step produces, stream and consumer names are the queue configuration's, and the
 * NATS and observability wiring matches ops/ and scripts/bootstrap.sh.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultQueueConfig, queueConfigFromEnv } from "@floodgate/queue";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { readGatewayEnv } from "../../../apps/gateway/src/env.js";
import { checkRetryBudget, readWorkerEnv } from "../../../apps/worker/src/env.js";
import type { AppName } from "../../../scripts/deploy-app.mjs";
import {
  appNames,
  commandArgs,
  commandProblems,
  DEPLOY_DIR,
  DOCKERFILES,
  envInstructionNames,
  IMAGE_NAMES,
  imageVersion,
  KUBERNETES_DIR,
  natsConfValue,
  pinnedImage,
  readCompose,
  readDockerfile,
  readKubernetes,
  type K8sObject,
  type Yaml,
} from "./deploy-files.js";
import { gatewayDefaults, knownEnv, workerDefaults } from "./known-env.js";
import { bootstrapNatsVersion, REPO_ROOT } from "./repo.js";

const known = Object.fromEntries(appNames.map((app) => [app, knownEnv(app)])) as Record<AppName, Set<string>>;

/** The port an app serves /healthz and /readyz on, by default, and the variable that moves it. */
const OPS_PORT = {
  gateway: { variable: "PORT", port: gatewayDefaults.PORT },
  worker: { variable: "WORKER_PORT", port: workerDefaults.WORKER_PORT },
} as const;
const EXPOSED: Record<AppName, number[]> = {
  gateway: [gatewayDefaults.PORT, gatewayDefaults.METRICS_PORT],
  worker: [workerDefaults.WORKER_PORT],
  migrate: [],
};
const SHUTDOWN_MS: Record<AppName, number> = { gateway: gatewayDefaults.SHUTDOWN_TIMEOUT_MS, worker: workerDefaults.SHUTDOWN_TIMEOUT_MS, migrate: 0 };

function unknownNames(app: AppName, names: Iterable<string>, where: string): string[] {
  return [...names].filter((n) => !known[app].has(n)).map((n) => `${where}: ${app} reads no variable ${n}`);
}

/** Parses an app's environment with the app's own readers; returns the error messages. */
function valueProblems(app: AppName, env: Record<string, string>, where: string): string[] {
  // Values still to be filled in by compose's interpolation or a secret are not checked.
  const concrete = Object.fromEntries(Object.entries(env).filter(([, v]) => !v.includes("${")));
  const problems: string[] = [];
  const attempt = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      problems.push(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  if (app === "gateway") attempt(() => readGatewayEnv(concrete));
  if (app === "worker") {
    attempt(() => {
      const env = readWorkerEnv(concrete);
      checkRetryBudget(env.WEBHOOK_RETRY_ATTEMPTS, queueConfigFromEnv(concrete).maxDeliver);
    });
  }
  if (app !== "migrate") attempt(() => queueConfigFromEnv(concrete));
  return problems;
}

describe("the known environment is derived from the code", () => {
  it("finds the schema, queue, provider and process.env variables of each app", () => {
    for (const name of ["PORT", "METRICS_PORT", "NATS_URL", "GATEWAY_GROUPING", "WEBHOOK_STREAM", "WEBHOOK_STREAM_REPLICAS", "TELNYX_PUBLIC_KEY", "TELNYX_WEBHOOK_SECRET", "RESEND_WEBHOOK_SECRET", "FLOODGATE_ED25519", "LOG_LEVEL"]) {
      expect(known.gateway, name).toContain(name);
    }
    for (const name of ["WORKER_PORT", "DATABASE_URL", "WEBHOOK_CONSUMER", "WEBHOOK_MAX_ACK_PENDING", "ADMIN_TOKEN"]) expect(known.worker, name).toContain(name);
    expect(known.migrate).toContain("DATABASE_URL");
    expect(known.gateway).not.toContain("DATABASE_URL");
    expect(known.migrate).not.toContain("NATS_URL");
  });
});

describe("Dockerfiles", () => {
  for (const app of appNames) {
    it(`${DOCKERFILES[app]}: multi-stage on the deploy step, pinned, non-root, its ports, health check and command`, () => {
      const stages = readDockerfile(app);
      const problems: string[] = [];
      const build = stages.find((s) => s.instructions.some((i) => i.keyword === "RUN" && new RegExp(`\\bdeploy:app ${app} (\\S+)`).test(i.args)));
      const final = stages.at(-1);
      if (stages.length < 2 || !build || !final || build === final) problems.push("needs a build stage running `pnpm deploy:app <app> <dir>` and a separate final stage");
      for (const s of stages) if (!pinnedImage(s.image)) problems.push(`FROM ${s.image} is not pinned to a version`);
      const out = build?.instructions.map((i) => new RegExp(`\\bdeploy:app ${app} (\\S+)`).exec(i.args)?.[1]).find(Boolean);
      const copies = final?.instructions.filter((i) => i.keyword === "COPY" && i.args.includes(`--from=${build?.name ?? ""}`)) ?? [];
      if (!copies.some((c) => c.args.split(/\s+/).includes(out ?? "?"))) problems.push(`the final stage must COPY the deploy folder (${out}) from the build stage`);
      if (final?.instructions.some((i) => i.keyword === "RUN" && /\b(pnpm|npm) (install|i)\b/.test(i.args))) problems.push("the final stage installs packages: it should only copy the deploy folder");

      const users = final?.instructions.filter((i) => i.keyword === "USER").map((i) => i.args.trim()) ?? [];
      if (users.length === 0 || ["root", "0", "0:0"].includes(users.at(-1) as string)) problems.push(`the final stage must run as a non-root USER (got ${users.at(-1) ?? "none"})`);

      const exposed = (final?.instructions.filter((i) => i.keyword === "EXPOSE") ?? []).flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.split("/")[0])));
      if (JSON.stringify([...exposed].sort()) !== JSON.stringify([...EXPOSED[app]].sort())) problems.push(`EXPOSE ${exposed.join(" ")} but the app's default ports are ${EXPOSED[app].join(" ") || "none"}`);

      const envNames = (final?.instructions.filter((i) => i.keyword === "ENV") ?? []).flatMap((i) => envInstructionNames(i.args));
      problems.push(...unknownNames(app, envNames, DOCKERFILES[app]));

      const health = final?.instructions.filter((i) => i.keyword === "HEALTHCHECK").at(-1)?.args ?? "";
      if (app === "migrate") {
        if (health.trim() !== "NONE") problems.push("the one-shot migrate image should say HEALTHCHECK NONE");
      } else {
        const { variable, port } = OPS_PORT[app];
        const cmd = commandArgs(health.slice(health.indexOf("CMD") + 3)).join(" ");
        if (!health.includes("CMD") || !cmd.includes("/healthz")) problems.push(`HEALTHCHECK must probe /healthz, got ${health}`);
        if (!cmd.includes(`process.env.${variable} || ${port}`)) problems.push(`HEALTHCHECK must use ${variable} (default ${port}): ${cmd}`);
      }

      const cmd = final?.instructions.filter((i) => i.keyword === "CMD").at(-1);
      if (final?.instructions.some((i) => i.keyword === "ENTRYPOINT")) problems.push("use CMD only (compose and Kubernetes override the command)");
      if (!cmd) problems.push("no CMD");
      else problems.push(...commandProblems(app, commandArgs(cmd.args), `${DOCKERFILES[app]} CMD`));
      expect(problems).toEqual([]);
    });
  }

  it(".dockerignore keeps installs, builds and secrets out of the build context but not the sources", () => {
    const ignored = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    for (const entry of ["**/node_modules", "**/dist", ".env", ".git", ".tools"]) expect(ignored).toContain(entry);
    for (const entry of ["apps", "packages", "scripts", "pnpm-lock.yaml"]) expect(ignored).not.toContain(entry);
  });
});

describe("deploy/compose.yml", () => {
  const compose = readCompose();
  const services = compose.services as Record<string, Yaml>;
  const appOf = (svc: Yaml): AppName | undefined => {
    const dockerfile = (svc.build as Yaml | undefined)?.dockerfile;
    return appNames.find((app) => dockerfile === DOCKERFILES[app]);
  };
  const appServices = Object.entries(services).filter(([, s]) => appOf(s) !== undefined) as [string, Yaml][];
  const natsServices = Object.entries(services).filter(([, s]) => String(s.image).startsWith("nats:"));
  const envOf = (svc: Yaml) => Object.fromEntries(Object.entries((svc.environment ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  const clusterConfPath = join(DEPLOY_DIR, "nats/cluster.conf");

  it("builds every app from its Dockerfile with the repository as context", () => {
    const built = appServices.map(([, s]) => appOf(s));
    for (const app of appNames) expect(built, app).toContain(app);
    for (const [name, svc] of appServices) {
      expect(resolve(DEPLOY_DIR, String((svc.build as Yaml).context)), name).toBe(REPO_ROOT);
      expect(String(svc.image), name).toMatch(new RegExp(`^${IMAGE_NAMES[appOf(svc) as AppName]}:`));
    }
  });

  it("gives the apps only variables they read, with values they accept", () => {
    const problems: string[] = [];
    for (const [name, svc] of appServices) {
      const app = appOf(svc) as AppName;
      const env = envOf(svc);
      problems.push(...unknownNames(app, Object.keys(env), `service ${name}`), ...valueProblems(app, env, `service ${name}`));
      if (svc.command !== undefined) problems.push(...commandProblems(app, svc.command as string[], `service ${name} command`));
    }
    expect(problems).toEqual([]);
  });

  it("runs a three-node JetStream cluster of a pinned nats-server >= 2.10, the version bootstrap.sh builds, with R3 streams", () => {
    expect(natsServices.map(([n]) => n).sort()).toEqual(["nats-1", "nats-2", "nats-3"]);
    const conf = readFileSync(clusterConfPath, "utf8");
    const problems: string[] = [];
    for (const [name, svc] of natsServices) {
      const image = String(svc.image);
      const version = imageVersion(image);
      if (!pinnedImage(image) || !version) problems.push(`${name}: ${image} is not pinned`);
      else if (version[0] < 2 || (version[0] === 2 && version[1] < 10)) problems.push(`${name}: sync_interval needs nats-server >= 2.10, got ${image}`);
      if (version && version.join(".") !== bootstrapNatsVersion()) problems.push(`${name}: ${image} differs from the nats-server scripts/bootstrap.sh builds and the tests run (v${bootstrapNatsVersion()})`);
      const command = (svc.command as string[]).join(" ");
      if (!command.includes(`--name ${name}`)) problems.push(`${name}: each node needs its own --name (got ${command})`);
      const mounts = (svc.volumes as string[]).map((v) => v.split(":"));
      const confMount = mounts.find(([host]) => resolve(DEPLOY_DIR, host as string) === clusterConfPath);
      if (!confMount || !command.includes(`-c ${confMount[1]}`)) problems.push(`${name}: must run with deploy/nats/cluster.conf`);
    }
    // Every node routes to every node on the cluster port; clients reach them on the client port.
    const clusterPort = /cluster\s*\{[^}]*listen:\s*[\d.]+:(\d+)/s.exec(conf)?.[1];
    const routes = [...conf.matchAll(/nats:\/\/([\w-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(routes.sort()).toEqual(natsServices.map(([n]) => `${n}:${clusterPort}`).sort());
    expect(natsConfValue(conf, "sync_interval")).toBe("always");
    expect(conf).toMatch(/jetstream\s*\{/);
    const clientPort = natsConfValue(conf, "listen")?.split(":")[1];
    for (const [name, svc] of appServices.filter(([, s]) => appOf(s) !== "migrate")) {
      const env = envOf(svc);
      const urls = (env.NATS_URL ?? "").split(",").map((u) => new URL(u.trim()));
      if (urls.map((u) => `${u.hostname}:${u.port}`).sort().join() !== natsServices.map(([n]) => `${n}:${clientPort}`).sort().join()) problems.push(`${name}: NATS_URL must list every node (${env.NATS_URL})`);
      if (env.WEBHOOK_STREAM_REPLICAS !== "3") problems.push(`${name}: WEBHOOK_STREAM_REPLICAS must be 3 on the three-node cluster`);
    }
    expect(problems).toEqual([]);
  });

  it("publishes the gateway's default port, runs two workers, migrates before the workers start and stops them gracefully", () => {
    const [, gateway] = appServices.find(([, s]) => appOf(s) === "gateway") as [string, Yaml];
    const ports = (gateway.ports as string[]).map((p) => Number(String(p).split(":").at(-1)));
    expect(ports).toContain(gatewayDefaults.PORT);
    const [, worker] = appServices.find(([, s]) => appOf(s) === "worker") as [string, Yaml];
    expect(((worker.deploy as Yaml).replicas as number) >= 2).toBe(true);
    const [migrateName, migrate] = appServices.find(([, s]) => appOf(s) === "migrate") as [string, Yaml];
    expect(migrate.restart).toBe("no");
    expect(((worker.depends_on as Yaml)[migrateName] as Yaml).condition).toBe("service_completed_successfully");
    const grace = /^(\d+)s$/.exec(String(worker.stop_grace_period))?.[1];
    expect(Number(grace) * 1000).toBeGreaterThan(SHUTDOWN_MS.worker);
    const postgres = Object.values(services).find((s) => String(s.image).startsWith("postgres:")) as Yaml;
    expect(imageVersion(String(postgres.image))?.[0]).toBe(15);
  });

  it("pins every image", () => {
    const unpinned = Object.entries(services).filter(([, s]) => appOf(s) === undefined && !pinnedImage(String(s.image)));
    expect(unpinned.map(([n, s]) => `${n}: ${String(s.image)}`)).toEqual([]);
  });

  it("mounts only files that exist", () => {
    const missing: string[] = [];
    for (const [name, svc] of Object.entries(services)) {
      for (const v of (svc.volumes ?? []) as string[]) {
        const host = v.split(":")[0] as string;
        if (host.startsWith(".") && !existsSync(resolve(DEPLOY_DIR, host))) missing.push(`${name}: ${host}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("Prometheus scrapes the apps like ops/prometheus/prometheus.yml, on their metrics ports, with the repository's alert rules", () => {
    const prometheus = Object.values(services).find((s) => String(s.image).startsWith("prom/prometheus:")) as Yaml;
    const mounts = new Map((prometheus.volumes as string[]).map((v) => [resolve(DEPLOY_DIR, v.split(":")[0] as string), v.split(":")[1] as string]));
    const config = load(readFileSync(join(DEPLOY_DIR, "prometheus/prometheus.yml"), "utf8")) as Yaml;
    const ops = load(readFileSync(join(REPO_ROOT, "ops/prometheus/prometheus.yml"), "utf8")) as Yaml;
    expect(mounts.get(join(DEPLOY_DIR, "prometheus/prometheus.yml"))).toBe("/etc/prometheus/prometheus.yml");
    expect(config.rule_files).toEqual([mounts.get(join(REPO_ROOT, "ops/prometheus/alerts.yml"))]);
    expect(config.global).toEqual(ops.global);
    const jobs = config.scrape_configs as Yaml[];
    expect(jobs.map((j) => j.job_name)).toEqual((ops.scrape_configs as Yaml[]).map((j) => j.job_name));
    const portOf: Record<string, [AppName, number]> = { "floodgate-gateway": ["gateway", gatewayDefaults.METRICS_PORT], "floodgate-worker": ["worker", workerDefaults.WORKER_PORT] };
    for (const job of jobs) {
      const [app, port] = portOf[String(job.job_name)] as [AppName, number];
      const sd = (job.dns_sd_configs as Yaml[])[0] as Yaml;
      expect(sd.port, String(job.job_name)).toBe(port);
      const target = (sd.names as string[])[0] as string;
      expect(appOf(services[target] as Yaml), String(job.job_name)).toBe(app);
    }
  });

  it("Grafana is provisioned with Prometheus and the repository's dashboard", () => {
    const grafana = Object.values(services).find((s) => String(s.image).startsWith("grafana/grafana:")) as Yaml;
    const mounts = new Map((grafana.volumes as string[]).map((v) => [resolve(DEPLOY_DIR, v.split(":")[0] as string), v.split(":")[1] as string]));
    const dashboardMount = mounts.get(join(REPO_ROOT, "ops/grafana/floodgate-dashboard.json"));
    const provisioning = mounts.get(join(DEPLOY_DIR, "grafana/provisioning"));
    expect(provisioning).toBe("/etc/grafana/provisioning");
    const providers = load(readFileSync(join(DEPLOY_DIR, "grafana/provisioning/dashboards/floodgate.yml"), "utf8")) as Yaml;
    const path = (((providers.providers as Yaml[])[0] as Yaml).options as Yaml).path as string;
    expect(dashboardMount?.startsWith(`${path}/`)).toBe(true);
    const datasources = load(readFileSync(join(DEPLOY_DIR, "grafana/provisioning/datasources/prometheus.yml"), "utf8")) as Yaml;
    const ds = (datasources.datasources as Yaml[])[0] as Yaml;
    expect(ds.type).toBe("prometheus");
    expect(ds.isDefault).toBe(true);
    const promName = Object.entries(services).find(([, s]) => String(s.image).startsWith("prom/prometheus:"))?.[0];
    expect(ds.url).toBe(`http://${promName}:9090`);
    // The dashboard's panels follow its data-source variable, so the default data source is used.
    const dashboard = readFileSync(join(REPO_ROOT, "ops/grafana/floodgate-dashboard.json"), "utf8");
    expect(dashboard.match(/"uid":\s*"\$\{DS_[A-Z_]+\}"/g) ?? []).toEqual([]);
  });
});

describe("deploy/kubernetes", () => {
  const { objects, kustomization, files } = readKubernetes();
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const named = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const podSpec = (o: K8sObject) => (((o.spec as Yaml).template as Yaml).spec as Yaml);
  const podLabels = (o: K8sObject) => ((((o.spec as Yaml).template as Yaml).metadata as Yaml).labels ?? {}) as Record<string, string>;
  const containers = (o: K8sObject) => podSpec(o).containers as Yaml[];
  const imageApp = (image: string) => appNames.find((app) => image === IMAGE_NAMES[app]);
  const workloads = [...byKind("Deployment"), ...byKind("Job")].filter((o) => containers(o).some((c) => imageApp(String(c.image))));
  const configMap = named("ConfigMap", "floodgate-config");
  const secret = named("Secret", "floodgate-secrets");
  const natsService = named("Service", "nats");
  const natsSet = byKind("StatefulSet").find((s) => containers(s).some((c) => String(c.image).startsWith("nats:")));

  /** The environment a container gets: its env, and the keys of config maps and secrets it takes whole. */
  const containerEnv = (c: Yaml) => {
    const env: Record<string, string> = {};
    for (const from of (c.envFrom ?? []) as Yaml[]) {
      const ref = (from.configMapRef ?? from.secretRef) as Yaml;
      const source = objects.find((o) => ["ConfigMap", "Secret"].includes(o.kind) && o.metadata.name === ref.name);
      if (!source) throw new Error(`envFrom ${String(ref.name)}: no such ConfigMap or Secret`);
      Object.assign(env, source.data ?? {}, source.stringData ?? {});
    }
    for (const e of (c.env ?? []) as Yaml[]) {
      const keyRef = ((e.valueFrom as Yaml | undefined)?.secretKeyRef ?? (e.valueFrom as Yaml | undefined)?.configMapKeyRef) as Yaml | undefined;
      if (keyRef) {
        const source = objects.find((o) => ["ConfigMap", "Secret"].includes(o.kind) && o.metadata.name === keyRef.name);
        const value = { ...source?.data, ...source?.stringData }[String(keyRef.key)];
        if (value === undefined) throw new Error(`${String(e.name)}: ${String(keyRef.name)} has no key ${String(keyRef.key)}`);
        env[String(e.name)] = value;
      } else env[String(e.name)] = String(e.value ?? "");
    }
    return env;
  };

  it("kustomization.yaml lists every manifest and names every app image with a pinned tag", () => {
    const listed = (kustomization.resources as string[]).slice().sort();
    expect(listed).toEqual(files.filter((f) => f !== "kustomization.yaml").sort());
    const images = kustomization.images as Yaml[];
    for (const app of appNames) {
      const entry = images.find((i) => i.name === IMAGE_NAMES[app]);
      expect(entry, app).toBeDefined();
      expect(pinnedImage(`${String(entry?.newName)}:${String(entry?.newTag)}`), app).toBe(true);
    }
  });

  it("runs every app from the deploy step's files, as non-root, with only variables it reads and values it accepts", () => {
    const problems: string[] = [];
    const seen = new Set<AppName>();
    for (const o of workloads) {
      for (const c of containers(o)) {
        const app = imageApp(String(c.image));
        if (!app) continue;
        seen.add(app);
        const where = `${o.file} ${o.kind}/${o.metadata.name}`;
        problems.push(...commandProblems(app, c.command as string[], `${where} command`));
        const env = containerEnv(c);
        problems.push(...unknownNames(app, Object.keys(env), where), ...valueProblems(app, env, where));
        const sc = podSpec(o).securityContext as Yaml | undefined;
        if (sc?.runAsNonRoot !== true || sc.runAsUser === 0) problems.push(`${where}: must run as non-root`);
        const grace = (podSpec(o).terminationGracePeriodSeconds as number | undefined) ?? 30;
        if (o.kind === "Deployment" && grace * 1000 <= SHUTDOWN_MS[app]) problems.push(`${where}: terminationGracePeriodSeconds ${grace} s must exceed SHUTDOWN_TIMEOUT_MS (${SHUTDOWN_MS[app]} ms)`);
      }
    }
    expect([...seen].sort()).toEqual([...appNames].sort());
    // Shared settings and secrets hold only names some app reads.
    const everyName = new Set(appNames.flatMap((app) => [...known[app]]));
    for (const source of [configMap, secret]) {
      for (const key of Object.keys({ ...source?.data, ...source?.stringData })) if (!everyName.has(key)) problems.push(`${source?.file}: no app reads ${key}`);
    }
    expect(problems).toEqual([]);
  });

  for (const app of ["gateway", "worker"] as const) {
    it(`the ${app} Deployment serves its default ports with readiness /readyz and liveness /healthz, behind a Service and a PodDisruptionBudget`, () => {
      const deployment = byKind("Deployment").find((d) => containers(d).some((c) => imageApp(String(c.image)) === app)) as K8sObject;
      const container = containers(deployment).find((c) => imageApp(String(c.image)) === app) as Yaml;
      const ports = (container.ports as Yaml[]).map((p) => ({ name: p.name as string, port: p.containerPort as number }));
      expect(ports.map((p) => p.port).sort()).toEqual([...EXPOSED[app]].sort());
      const portNumber = (ref: unknown) => (typeof ref === "number" ? ref : ports.find((p) => p.name === ref)?.port);
      const probe = (kind: string) => ((container[kind] as Yaml).httpGet ?? {}) as Yaml;
      expect(probe("readinessProbe").path).toBe("/readyz");
      expect(probe("livenessProbe").path).toBe("/healthz");
      expect(portNumber(probe("readinessProbe").port)).toBe(OPS_PORT[app].port);
      expect(portNumber(probe("livenessProbe").port)).toBe(OPS_PORT[app].port);

      const labels = podLabels(deployment);
      const selects = (selector: Record<string, string> | undefined) => !!selector && Object.entries(selector).every(([k, v]) => labels[k] === v);
      const matchLabels = ((deployment.spec as Yaml).selector as Yaml).matchLabels as Record<string, string>;
      expect(selects(matchLabels)).toBe(true);
      const service = byKind("Service").find((s) => selects((s.spec as Yaml).selector as Record<string, string>));
      expect(service, "Service").toBeDefined();
      for (const p of ((service?.spec as Yaml).ports as Yaml[]) ?? []) expect(portNumber(p.targetPort), `Service port ${String(p.name)}`).toBeDefined();
      const pdb = byKind("PodDisruptionBudget").find((p) => selects(((p.spec as Yaml).selector as Yaml).matchLabels as Record<string, string>));
      expect(pdb, "PodDisruptionBudget").toBeDefined();
      const annotations = ((((deployment.spec as Yaml).template as Yaml).metadata as Yaml).annotations ?? {}) as Record<string, string>;
      expect(Number(annotations["prometheus.io/port"])).toBe(app === "gateway" ? gatewayDefaults.METRICS_PORT : workerDefaults.WORKER_PORT);
    });
  }

  it("the gateways scale on CPU (HPA on a Deployment that requests CPU)", () => {
    const hpa = byKind("HorizontalPodAutoscaler")[0] as K8sObject;
    const target = (hpa.spec as Yaml).scaleTargetRef as Yaml;
    const deployment = named("Deployment", String(target.name)) as K8sObject;
    expect(containers(deployment).some((c) => imageApp(String(c.image)) === "gateway")).toBe(true);
    const metric = ((hpa.spec as Yaml).metrics as Yaml[])[0] as Yaml;
    expect((metric.resource as Yaml).name).toBe("cpu");
    for (const c of containers(deployment)) expect(((c.resources as Yaml).requests as Yaml).cpu).toBeDefined();
  });

  it("KEDA scales the workers on the JetStream consumer's pending messages: the queue's stream and consumer, the NATS monitoring port", () => {
    const scaled = byKind("ScaledObject")[0] as K8sObject;
    const deployment = named("Deployment", String(((scaled.spec as Yaml).scaleTargetRef as Yaml).name)) as K8sObject;
    const worker = containers(deployment).find((c) => imageApp(String(c.image)) === "worker") as Yaml;
    expect(worker).toBeDefined();
    const env = containerEnv(worker);
    const queue = queueConfigFromEnv(env);
    const trigger = ((scaled.spec as Yaml).triggers as Yaml[])[0] as Yaml;
    const meta = trigger.metadata as Record<string, string>;
    expect(trigger.type).toBe("nats-jetstream");
    expect(meta.stream).toBe(queue.stream);
    expect(meta.consumer).toBe(queue.consumer);
    expect(queue.stream).toBe(defaultQueueConfig.stream);
    const [host, port] = String(meta.natsServerMonitoringEndpoint).split(":");
    expect(host?.split(".")[0]).toBe(natsService?.metadata.name);
    const conf = String(named("ConfigMap", "nats-config")?.data?.["nats.conf"]);
    expect(natsConfValue(conf, "http")?.split(":")[1]).toBe(port);
    // More workers than the server lets hold messages would sit idle.
    const maxReplicas = (scaled.spec as Yaml).maxReplicaCount as number;
    const perWorker = readWorkerEnv(env).WORKER_MAX_UNACKED;
    expect(maxReplicas * perWorker).toBeLessThanOrEqual(queue.maxAckPending);
  });

  it("the single NATS node fsyncs every write (sync_interval: always), and the apps reach it with replicas it can hold", () => {
    expect(natsSet).toBeDefined();
    const replicas = (natsSet?.spec as Yaml).replicas as number;
    const conf = String(named("ConfigMap", "nats-config")?.data?.["nats.conf"]);
    if (replicas === 1) expect(natsConfValue(conf, "sync_interval")).toBe("always");
    const version = imageVersion(String(containers(natsSet as K8sObject)[0]?.image));
    expect(version?.join(".")).toBe(bootstrapNatsVersion());
    const env = { ...configMap?.data };
    expect(Number(env.WEBHOOK_STREAM_REPLICAS ?? 1)).toBeLessThanOrEqual(replicas);
    const clientPort = natsConfValue(conf, "listen")?.split(":")[1];
    const servicePort = (((natsService?.spec as Yaml).ports as Yaml[]).find((p) => p.name === "client") as Yaml).port;
    expect(String(servicePort)).toBe(clientPort);
    for (const url of String(env.NATS_URL).split(",")) {
      const u = new URL(url);
      expect(u.hostname.split(".")[0]).toBe(natsService?.metadata.name);
      expect(u.port).toBe(clientPort);
    }
  });

  it("pins every third-party image", () => {
    const images = objects.flatMap((o) => (["Deployment", "StatefulSet", "Job"].includes(o.kind) ? containers(o).map((c) => String(c.image)) : []));
    expect(images.filter((i) => !imageApp(i) && !pinnedImage(i))).toEqual([]);
  });

  it("every manifest file parses and names its kind", () => {
    expect(existsSync(KUBERNETES_DIR)).toBe(true);
    for (const o of objects) expect(o.kind && o.apiVersion && o.metadata?.name, o.file).toBeTruthy();
  });
});
