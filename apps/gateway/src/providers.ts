import type { ProviderDefinition } from "@floodgate/provider-kit";
import { resend } from "@floodgate/provider-resend";
import { telnyx } from "@floodgate/provider-telnyx";
import { twilio } from "@floodgate/provider-twilio";
import { plivo } from "@floodgate/provider-plivo";
import { sinch } from "@floodgate/provider-sinch";
import { bandwidth } from "@floodgate/provider-bandwidth";
import { sendgrid } from "@floodgate/provider-sendgrid";
import { postmark } from "@floodgate/provider-postmark";
import { mailgun } from "@floodgate/provider-mailgun";
import { vonage } from "@floodgate/provider-vonage";
import { ses } from "@floodgate/provider-ses";

/**
 * The providers this gateway serves. Adding a provider is one package plus one entry here;
 * nothing registers itself by import.
 */
export const providers: readonly ProviderDefinition<unknown>[] = [telnyx, resend, twilio, plivo, sinch, bandwidth, sendgrid, postmark, mailgun, vonage, ses];
