/* global Response, URL, process */
// Preloaded into a gateway under test (`node --import <this file> …`): answers the fetches the
// SNS scheme makes, offline. A certificate URL listed in FLOODGATE_TEST_SNS_CERTIFICATES
// ({ url: pem }) gets its test certificate; an SNS ConfirmSubscription URL is answered 200 and
// appended to the file FLOODGATE_TEST_SNS_CONFIRMATIONS, so a test can see what was confirmed.
// Everything else goes to the real fetch. Never loaded in production.
import { appendFileSync } from "node:fs";

const certificates = JSON.parse(process.env.FLOODGATE_TEST_SNS_CERTIFICATES ?? "{}");
const confirmations = process.env.FLOODGATE_TEST_SNS_CONFIRMATIONS;
const realFetch = globalThis.fetch;

globalThis.fetch = async (input, init) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  if (Object.hasOwn(certificates, url)) return new Response(certificates[url], { status: 200, headers: { "content-type": "application/x-pem-file" } });
  if (/^https:\/\/sns\.[a-z0-9-]+\.amazonaws\.com\//.test(url)) {
    if (url.includes("Action=ConfirmSubscription") && confirmations) appendFileSync(confirmations, `${url}\n`);
    return url.endsWith(".pem") ? new Response("not found", { status: 404 }) : new Response("<ConfirmSubscriptionResponse/>", { status: 200 });
  }
  return realFetch(input, init);
};
