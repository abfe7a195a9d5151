export { telnyx, telnyxConfig, TELNYX_SIGNATURE_HEADER, TELNYX_TIMESTAMP_HEADER, TELNYX_TOLERANCE_SECONDS, type TelnyxConfig } from "./telnyx.js";
export { extractTelnyx, TELNYX_STATUSES } from "./extract.js";
