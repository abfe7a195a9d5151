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
import {
  RESEND_TYPES,
  SIGNED_HERE,
  bandwidthRequest,
  decodeWhsec,
  hexOf,
  mailgunRequest,
  plivoRequest,
  postmarkRequest,
  readCorpus,
  resendBody,
  signResend,
  sinchRequest,
  twilioRequest,
  vonageRequest,
} from "./lib/webhooks.js";

const GATEWAY_URL = __ENV.GATEWAY_URL || "http://127.0.0.1:3000";
const RATE = Number(__ENV.RATE || 10000);
const DURATION = __ENV.DURATION || "60s";
const TELNYX_SHARE = Number(__ENV.TELNYX_SHARE || 0.5);
const DUPLICATE_SHARE = Number(__ENV.DUPLICATE_SHARE || 0.05);
const CORPUS = __ENV.CORPUS || "./corpus.json";
// PROVIDERS=twilio,sinch,sendgrid,…: an even mix of those providers instead of TELNYX_SHARE.
// Those k6 can sign (HMAC, Basic) are signed here with the gateway's own variables
// (TWILIO_AUTH_TOKEN, PUBLIC_URL, …); Telnyx, SendGrid and SES come from the corpus.
const PROVIDERS = (__ENV.PROVIDERS || "").split(",").map((p) => p.trim()).filter((p) => p.length > 0);

const corpusRequests = new SharedArray("corpus", () => (TELNYX_SHARE > 0 || PROVIDERS.some((p) => !SIGNED_HERE.includes(p)) ? readCorpus(open(CORPUS)) : []));
const telnyx = corpusRequests;
const corpusIndex = {};
for (let i = 0; i < corpusRequests.length; i++) (corpusIndex[corpusRequests[i].provider] = corpusIndex[corpusRequests[i].provider] || []).push(i);
const hmac = (algorithm, key, data, encoding) => crypto.hmac(algorithm, key, data, encoding);
const md5 = (data) => crypto.md5(data, "hex");
const b64 = (text) => encoding.b64encode(text, "std");
const env = (name) => {
  if (!__ENV[name]) throw new Error(`${name} is not set`);
  return __ENV[name].split(",")[0];
};

/** One request of `provider` for iteration `i`: signed here, or the corpus's next one. */
function providerRequest(provider, i) {
  const now = Date.now();
  const ts = Math.floor(now / 1000);
  const id = `k6-${provider}-${i}`;
  const nonce = hexOf(crypto.randomBytes(12));
  switch (provider) {
    case "resend": {
      const body = resendBody(id, RESEND_TYPES[i % RESEND_TYPES.length], now);
      return { path: "/webhooks/resend", body, headers: signResend(hmacBase64, resendKey, `msg_${id}`, ts, body) };
    }
    case "twilio":
      return twilioRequest(hmac, env("PUBLIC_URL"), env("TWILIO_AUTH_TOKEN"), `SM${hexOf(crypto.randomBytes(16))}`, "+15555550100", i % 2 ? "sent" : "delivered");
    case "plivo":
      return plivoRequest(hmac, env("PUBLIC_URL"), env("PLIVO_AUTH_TOKEN"), nonce, id, "14155550100", i % 2 ? "sent" : "delivered");
    case "vonage":
      return vonageRequest(hmac, md5, env("VONAGE_SIGNATURE_SECRET"), env("VONAGE_SIGNATURE_METHOD"), nonce, ts, id, "447700900000", i % 2 ? "accepted" : "delivered");
    case "sinch":
      return sinchRequest(hmac, env("SINCH_WEBHOOK_SECRET"), nonce, ts, id, "15551231234", i % 2 ? "Dispatched" : "Delivered");
    case "bandwidth":
      return bandwidthRequest(b64, env("BANDWIDTH_WEBHOOK_USERNAME"), env("BANDWIDTH_WEBHOOK_PASSWORD"), id, "+15555550100", i % 2 ? "message-sending" : "message-delivered", now);
    case "postmark":
      return postmarkRequest(b64, env("POSTMARK_WEBHOOK_USERNAME"), env("POSTMARK_WEBHOOK_PASSWORD"), id, "user@example.com", now);
    case "mailgun":
      return mailgunRequest(hmac, env("MAILGUN_WEBHOOK_SIGNING_KEY"), nonce, ts, id, `${id}@mg.example.com`, "user@example.com", i % 2 ? "accepted" : "delivered");
    default: {
      const list = corpusIndex[provider];
      if (!list || list.length === 0) throw new Error(`no ${provider} requests in the corpus (floodgate-loadtest corpus --providers ${provider})`);
      return corpusRequests[list[i % list.length]];
    }
  }
}
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
  if (PROVIDERS.length > 0) {
    const provider = PROVIDERS[i % PROVIDERS.length];
    const r = providerRequest(provider, Math.floor(i / PROVIDERS.length));
    res = http.post(`${GATEWAY_URL}${r.path}`, r.body, { headers: r.headers, tags: { provider } });
    check(res, { "2xx": (x) => x.status >= 200 && x.status < 300 });
    return;
  }
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
