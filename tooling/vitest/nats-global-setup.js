// Starts the project's own nats-server (NATS_SERVER_BIN, JetStream, a fresh store) on the port of
// the project's NATS_URL before its test files run, and stops it (removing the store) after.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function waitForPort(port, timeoutMs) {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => {
        if (Date.now() > until) reject(new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export default async function setup(project) {
  const { NATS_URL: url, NATS_SERVER_BIN: bin } = project.config.env;
  const port = Number(url.split(":").pop());
  const dir = mkdtempSync(join(tmpdir(), `fg-${project.name}-`));
  let output = "";
  const child = spawn(bin, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr.on("data", (chunk) => (output = (output + chunk.toString()).slice(-4_000)));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const kill = () => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL");
  process.once("exit", kill);
  try {
    await Promise.race([waitForPort(port, 15_000), exited.then((code) => Promise.reject(new Error(`exited with ${code}`)))]);
  } catch (err) {
    kill();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${project.name}: could not start ${bin} on ${url}: ${err.message}\n${output}`);
  }
  return async () => {
    process.off("exit", kill);
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    kill();
    rmSync(dir, { recursive: true, force: true });
  };
}
