// k6 scenario for Floodgate: Telnyx and Resend delivery webhooks at a constant arrival rate
// (an open model: a slow gateway cannot slow the arrivals down and hide its latency).
//
//   floodgate-loadtest corpus --out k6/corpus.json --count 20000   # pre-signed Telnyx requests
//   k6 run -e GATEWAY_URL=http://127.0.0.1:3000 -e RESEND_WEBHOOK_SECRET=whsec_... \
//          -e RATE=10000 -e DURATION=60s k6/webhook-load-test.js
//
// Resend requests are signed here (k6 has HMAC); Telnyx needs Ed25519, which k6 lacks, so they
// come from the corpus, signed within the last five minutes (Telnyx's tolerance). See README.md.
import http from "k6/http";
import crypto from "k6/crypto";
import encoding from "k6/encoding";
import { check } from "k6";
import { SharedArray } from "k6/data";
import exec from "k6/execution";
import { RESEND_TYPES, decodeWhsec, readCorpus, resendBody, signResend } from "./lib/webhooks.js";

const GATEWAY_URL = __ENV.GATEWAY_URL || "http://127.0.0.1:3000";
const RATE = Number(__ENV.RATE || 10000);
const DURATION = __ENV.DURATION || "60s";
const TELNYX_SHARE = Number(__ENV.TELNYX_SHARE || 0.5);
const DUPLICATE_SHARE = Number(__ENV.DUPLICATE_SHARE || 0.05);
const CORPUS = __ENV.CORPUS || "./corpus.json";

const telnyx = new SharedArray("telnyx corpus", () => (TELNYX_SHARE > 0 ? readCorpus(open(CORPUS)) : []));
const resendKey = __ENV.RESEND_WEBHOOK_SECRET ? decodeWhsec((s) => encoding.b64decode(s, "std"), __ENV.RESEND_WEBHOOK_SECRET) : null;
const hmacBase64 = (key, text) => crypto.hmac("sha256", key, text, "base64");

export const options = {
  scenarios: {
    webhooks: {
      executor: "constant-arrival-rate",
      rate: RATE,
      timeUnit: "1s",
      duration: DURATION,
      preAllocatedVUs: Math.min(2000, Math.ceil(RATE / 10)),
      maxVUs: Math.min(5000, Math.ceil(RATE / 2)),
    },
  },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    http_req_duration: ["p(99)<100"],
  },
};

export default function () {
  const i = exec.scenario.iterationInTest;
  let res;
  if (resendKey === null || (telnyx.length > 0 && Math.random() < TELNYX_SHARE)) {
    const r = telnyx[i % telnyx.length];
    res = http.post(`${GATEWAY_URL}${r.path}`, r.body, { headers: r.headers, tags: { provider: "telnyx" } });
  } else {
    // A duplicate re-sends an earlier delivery id, as a provider retry would.
    const n = Math.random() < DUPLICATE_SHARE && i > 0 ? Math.floor(Math.random() * i) : i;
    const body = resendBody(`k6-${n}`, RESEND_TYPES[n % RESEND_TYPES.length], Date.now());
    const headers = signResend(hmacBase64, resendKey, `msg_k6_${n}`, Math.floor(Date.now() / 1000), body);
    res = http.post(`${GATEWAY_URL}/webhooks/resend`, body, { headers, tags: { provider: "resend" } });
  }
  check(res, { "2xx": (r) => r.status >= 200 && r.status < 300 });
}
