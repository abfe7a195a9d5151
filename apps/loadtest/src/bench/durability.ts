/**
 * `BENCH_ONLY=durability`: what durable acknowledgements cost, on the nats-server bootstrap builds
 * (.tools/bin/nats-server, v2.15.2), each server started here with a store on disk:
 * - gateway throughput with `sync_interval: always` (fsync before every ack) against the default
 *   lazy sync, with grouping on (one fsync per group) and off (one per webhook);
 * - what s2 stream compression costs in throughput and saves in stored bytes per webhook.
 */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { freePort, portOpen, startProcess, waitFor, type ManagedProcess } from "../harness/processes.js";
import { REPO_ROOT, startSystem, type System } from "../harness/system.js";
import { planTraffic } from "../traffic.js";
import { createWebhookSigner, generateSigningSecrets } from "../webhooks.js";
import { add, log, round } from "./figures.js";
import { sendQueuedMix } from "./mix.js";
import { runWrk, writeRequests } from "./wrk.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const NATS_BIN = resolve(process.env.FLOODGATE_TOOLS_DIR ?? resolve(REPO_ROOT, ".tools"), "bin/nats-server");
/** Stores live on the repository's disk (not tmpfs), so an fsync is a real one. */
const STORE_ROOT = resolve(REPO_ROOT, ".bench");
/**
 * 16 MiB: the server then writes 4 MB blocks (a 1 GiB stream: 8 MB), so a short run seals, and
 * compresses, a few. A block is compressed once sealed; the one being written never is.
 */
const STORAGE_MAX_BYTES = String(16 * 1024 ** 2);

const secrets = generateSigningSecrets();
const signer = createWebhookSigner(secrets);

interface BenchNats {
  url: string;
  monitorUrl: string;
  store: string;
  version: string;
  process: ManagedProcess;
}

/** A nats-server of our own with JetStream on disk, `sync_interval: always` or the default. */
async function startNats(dir: string, name: string, sync: "always" | "default"): Promise<BenchNats> {
  const [port, monitor] = [await freePort(), await freePort()];
  const store = join(dir, name);
  const conf = join(dir, `${name}.conf`);
  await writeFile(conf, `listen: 127.0.0.1:${port}\nhttp: 127.0.0.1:${monitor}\njetstream {\n  store_dir: "${store}"\n${sync === "always" ? "  sync_interval: always\n" : ""}}\n`);
  const proc = startProcess(`nats-${name}`, NATS_BIN, ["-c", conf]);
  await waitFor(`nats-server ${name}`, () => portOpen(port), 15_000);
  const varz = (await (await fetch(`http://127.0.0.1:${monitor}/varz`)).json()) as { version: string; jetstream?: { config?: { sync_always?: boolean } } };
  if ((varz.jetstream?.config?.sync_always === true) !== (sync === "always")) throw new Error(`nats-server ${name}: sync_always is not ${sync === "always"}`);
  return { url: `127.0.0.1:${port}`, monitorUrl: `http://127.0.0.1:${monitor}`, store, version: varz.version, process: proc };
}

async function withNats<T>(dir: string, name: string, sync: "always" | "default", fn: (n: BenchNats) => Promise<T>): Promise<T> {
  const nats = await startNats(dir, name, sync);
  try {
    return await fn(nats);
  } finally {
    await nats.process.stop();
  }
}

async function withSystem<T>(nats: BenchNats, gatewayEnv: Record<string, string>, fn: (s: System) => Promise<T>): Promise<T> {
  const s = await startSystem({ secrets, natsUrl: nats.url, workers: 0, gatewayEnv: { NATS_MONITOR_URL: nats.monitorUrl, ...gatewayEnv } });
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

/** Distinct signed Resend deliveries for wrk (each one really reaches JetStream). */
function resendRequests(messages: number) {
  return planTraffic({ messages, telnyxShare: 0, multiRecipientShare: 0, duplicateShare: 0, reorderShare: 0, openShare: 0.3 }).webhooks.map((w) => ({
    path: "/webhooks/resend",
    headers: signer.resend(w.body, w.deliveryId),
    body: w.body,
  }));
}

type Rates = Record<"default" | "always", Record<"on" | "off", number>>;

async function throughputFigures(dir: string): Promise<void> {
  const section = "Durability";
  const requests = resendRequests(60_000);
  const rps: Rates = { default: { on: 0, off: 0 }, always: { on: 0, off: 0 } };
  const notes: Record<string, string> = {};
  let version = "";
  for (const sync of ["default", "always"] as const) {
    await withNats(dir, `sync-${sync}`, sync, async (nats) => {
      version = nats.version;
      for (const grouping of ["on", "off"] as const) {
        await withSystem(nats, { GATEWAY_GROUPING: grouping }, async (s) => {
          const file = await writeRequests(dir, `durability-${sync}-${grouping}`, s.gatewayHost, requests);
          const r = await runWrk(s.gatewayUrl, file, dir, { seconds: SECONDS });
          rps[sync][grouping] = r.rps;
          notes[`${sync}-${grouping}`] = `${r.non2xx} non-2xx, p99 ${r.latencyMs.p99} ms`;
          log(`nats-server ${version}, sync ${sync}, grouping ${grouping}: ${round(r.rps)} req/s (${notes[`${sync}-${grouping}`]})`);
        });
      }
    });
  }
  for (const grouping of ["on", "off"] as const) {
    add({
      section,
      figure: `Gateway throughput with sync_interval: always (fsync before every ack), grouping ${grouping}, Resend, nats-server ${version}`,
      value: rps.always[grouping],
      unit: "req/s",
      baseline: { what: `default lazy sync, grouping ${grouping}`, value: rps.default[grouping], unit: "req/s" },
      ratio: rps.always[grouping] / rps.default[grouping],
      note: `always: ${notes[`always-${grouping}`]}; default: ${notes[`default-${grouping}`]}`,
    });
  }
  add({
    section,
    figure: `Grouping under sync_interval: always (one fsync per group instead of per webhook), nats-server ${version}`,
    value: rps.always.on,
    unit: "req/s",
    baseline: { what: "sync always, grouping off", value: rps.always.off, unit: "req/s" },
    ratio: rps.always.on / rps.always.off,
  });
}

/** Bytes of the stream's message blocks on disk: all, and the last (the one being written). */
async function blockBytes(store: string, stream: string): Promise<{ total: number; last: number; blocks: number }> {
  const dir = join(store, "jetstream", "$G", "streams", stream, "msgs");
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".blk")).sort((a, b) => parseInt(a) - parseInt(b));
  const sizes = await Promise.all(files.map(async (f) => (await stat(join(dir, f))).size));
  return { total: sizes.reduce((a, b) => a + b, 0), last: sizes.at(-1) ?? 0, blocks: files.length };
}

async function storageFigures(dir: string): Promise<void> {
  const section = "Durability";
  const rate = 10_000;
  await withNats(dir, "storage", "default", async (nats) => {
    // Throughput cost of compressing sealed blocks: the same wrk run without and with s2.
    const requests = resendRequests(60_000);
    const rps: Record<string, number> = {};
    for (const compression of ["none", "s2"]) {
      await withSystem(nats, { WEBHOOK_STREAM_COMPRESSION: compression, WEBHOOK_STREAM_MAX_BYTES: STORAGE_MAX_BYTES }, async (s) => {
        const file = await writeRequests(dir, `compression-${compression}`, s.gatewayHost, requests);
        rps[compression] = (await runWrk(s.gatewayUrl, file, dir, { seconds: SECONDS })).rps;
      });
    }
    add({ section, figure: `Gateway throughput with s2 stream compression (grouping on, Resend), nats-server ${nats.version}`, value: rps.s2!, unit: "req/s", baseline: { what: "compression none", value: rps.none!, unit: "req/s" }, ratio: rps.s2! / rps.none! });

    // Bytes per webhook: a queued backlog of mixed webhooks, its sealed blocks compressed.
    await withSystem(nats, { WEBHOOK_STREAM_COMPRESSION: "s2", WEBHOOK_STREAM_MAX_BYTES: STORAGE_MAX_BYTES }, async (s) => {
      // Mixed webhooks, two seconds' worth at a time, until two 4 MB blocks are sealed (or 90 s).
      let ok = 0;
      const started = performance.now();
      while ((await blockBytes(nats.store, s.queue.stream)).blocks < 3 && performance.now() - started < 90_000) {
        const r = await sendQueuedMix(s.gatewayUrl, signer, rate, 2);
        ok += r.ok;
      }
      await new Promise((done) => setTimeout(done, 1_000)); // a block is compressed once sealed
      const { state, config } = await s.queueConnection.jsm.streams.info(s.queue.stream);
      if (config.compression !== "s2") throw new Error(`the bench stream is not compressed (compression=${String(config.compression)})`);
      const disk = await blockBytes(nats.store, s.queue.stream);
      if (disk.blocks < 2) {
        log(`durability: only ${disk.blocks} block written in 90 s (${ok} webhooks, ${state.bytes} B of records): no sealed block to measure s2 on; row skipped (a busy machine?)`);
        return;
      }
      // The block being written is stored as is (its disk size is its record bytes); the sealed
      // ones hold the rest of state.bytes, compressed.
      const sealedRatio = (disk.total - disk.last) / (state.bytes - disk.last);
      const uncompressed = state.bytes / ok;
      const compressed = uncompressed * sealedRatio;
      add({
        section,
        figure: `Stored bytes per queued webhook on disk with s2 compression (mixed Telnyx/Resend, grouping on, ${rate} req/s), nats-server ${nats.version}`,
        value: compressed,
        unit: "B",
        baseline: { what: "uncompressed records (also what max_bytes counts)", value: uncompressed, unit: "B" },
        ratio: compressed / uncompressed,
        note: `${ok} webhooks in ${state.messages} messages, ${state.bytes} B of records; ${disk.blocks} blocks of 4 MB, ${disk.total} B on disk, the ${disk.blocks - 1} sealed ones at ×${sealedRatio.toFixed(2)}; ${round(1e9 / compressed / 1e6)} M webhooks per GB of disk`,
      });
    });
  });
}

export async function durabilityFigures(): Promise<void> {
  if (!(await stat(NATS_BIN).catch(() => undefined))) {
    log(`durability: ${NATS_BIN} is missing (bash scripts/bootstrap.sh tools builds it with Go): section skipped`);
    return;
  }
  await mkdir(STORE_ROOT, { recursive: true });
  const dir = await mkdtemp(join(STORE_ROOT, "durability-"));
  try {
    await throughputFigures(dir);
    await storageFigures(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
