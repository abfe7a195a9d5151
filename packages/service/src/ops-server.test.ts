import { createServer, request, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { closeServer } from "./ops-server.js";

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.closeAllConnections();
});

/** A server on a free loopback port whose handler answers after `answerAfterMs`. */
async function serve(answerAfterMs: number): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => setTimeout(() => res.end("ok"), answerAfterMs));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0 };
}

/** Opens a connection that sends nothing, and waits until the server has accepted it. */
async function silentConnection(server: Server, port: number): Promise<Socket> {
  const accepted = new Promise<void>((resolve) => server.once("connection", () => resolve()));
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  sockets.push(socket);
  await accepted;
  return socket;
}

/** Sends one GET and resolves with the answer's status and body, or the error's code. */
function get(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ port, host: "127.0.0.1", path: "/", agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(`${res.statusCode} ${body}`));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

describe("closeServer", () => {
  it("does not wait for a connection that never sends a request beyond the grace", async () => {
    const { server, port } = await serve(0);
    const silent = await silentConnection(server, port);
    const closedByServer = new Promise<void>((resolve) => silent.once("close", () => resolve()));
    const t0 = performance.now();
    await closeServer(server, 300);
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(5000);
    await closedByServer;
  });

  it("lets a request in flight be answered before it cuts anything", async () => {
    const { server, port } = await serve(200);
    const answer = get(port);
    await new Promise((r) => setTimeout(r, 50)); // the request is in the handler
    const closed = closeServer(server, 2000);
    expect(await answer).toBe("200 ok");
    await closed;
  });

  it("cuts a request still unanswered when the grace runs out", async () => {
    const { server, port } = await serve(60_000);
    const answer = get(port);
    await new Promise((r) => setTimeout(r, 50));
    await closeServer(server, 200);
    expect(await answer).toBe("ECONNRESET");
  });

  it("resolves at once when nothing is connected", async () => {
    const { server } = await serve(0);
    const t0 = performance.now();
    await closeServer(server, 10_000);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
