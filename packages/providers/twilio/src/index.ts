export { twilio, twilioConfig, type TwilioConfig } from "./provider.js";
export { extractTwilio, TWILIO_STATUSES } from "./extract.js";
