/* Type declarations of the custom phone provider handler's `event` and `api`, given to the code
 * editor for autocomplete and hover documentation. They describe what phoneprovider's runtime
 * passes in (see phoneprovider/providers/custom.py build_event). */
window.PHONE_PROVIDER_TYPES = `
/** The message to deliver. */
interface PhoneNotification {
  /** otp_verify, otp_enroll, change_password, blocked_account or password_breach. */
  message_type: "otp_verify" | "otp_enroll" | "change_password" | "blocked_account" | "password_breach";
  /** How to deliver it: "text" (SMS) or "voice" (a call that reads as_voice). */
  delivery_method: "text" | "voice";
  /** The recipient's number in E.164 format, e.g. +14155550100. */
  recipient: string;
  /** The rendered text of an SMS. */
  as_text: string;
  /** The rendered text to read out in a voice call. */
  as_voice: string;
  /** The one-time code, when the message carries one. */
  code?: string;
  /** The sender the template asks for, if any. */
  from?: string;
  /** The user's locale, if known. */
  locale?: string;
}

/** The event of the custom-phone-provider trigger. */
interface Event {
  notification: PhoneNotification;
  /** The Action's secrets by name (set in the Secrets panel). */
  secrets: { [name: string]: string };
  client: { client_id: string; name: string; metadata: { [key: string]: string } };
  tenant: { id: string; friendly_name?: string };
  request: { ip: string; method: string; geoip: { [key: string]: any }; [key: string]: any };
  user: { user_id: string; phone_number?: string; email?: string; [key: string]: any };
  transaction: { correlation_id: string };
  configuration: { [key: string]: string };
  organization?: { id: string; name: string; [key: string]: any };
}

/** What the handler tells the platform about the delivery. */
interface CustomPhoneProviderAPI {
  notification: {
    /** Give up on this message: it is not sent and not retried. */
    drop(reason?: string): void;
    /** A transient failure: the message is tried again later with backoff. */
    retry(reason?: string): void;
  };
}

interface FetchResponse {
  status: number;
  ok: boolean;
  statusText: string;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<any>;
}

/** HTTP request to your gateway (outbound addresses are checked by the platform). */
declare function fetch(url: string, init?: {
  method?: string;
  headers?: { [name: string]: string };
  body?: string;
}): Promise<FetchResponse>;

/** Lines logged here appear in the test result and the execution logs (secrets redacted). */
declare const console: {
  log(...data: any[]): void;
  info(...data: any[]): void;
  warn(...data: any[]): void;
  error(...data: any[]): void;
};

declare const exports: {
  onExecuteCustomPhoneProvider: (event: Event, api: CustomPhoneProviderAPI) => Promise<void>;
};
`;
