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

/** Where the request that asked for the message came from, by IP address. */
interface GeoIP {
  countryCode?: string; countryCode3?: string; countryName?: string; cityName?: string;
  continentCode?: string; subdivisionCode?: string; subdivisionName?: string; timeZone?: string;
  latitude?: number; longitude?: number;
}

/** The event of the custom-phone-provider trigger. */
interface Event {
  /** The message to deliver: recipient, delivery method and rendered text. */
  notification: PhoneNotification;
  /** The Action's secrets by name (set in the Secrets panel); values are redacted in logs. */
  secrets: { [name: string]: string };
  /** The application that asked for the message. */
  client: { client_id: string; name: string; metadata: { [key: string]: string } };
  /** This installation. */
  tenant: { id: string; friendly_name?: string; home_url?: string; logo_url?: string; support_email?: string; support_url?: string };
  /** The sign-in request that caused the message. */
  request: { ip: string; method: string; hostname?: string; language?: string; user_agent?: string; geoip: GeoIP };
  /** The user the message is for. */
  user: {
    user_id: string; name?: string; nickname?: string; given_name?: string; family_name?: string;
    email?: string; email_verified: boolean; phone_number?: string; phone_verified?: boolean;
    picture?: string; created_at: string; updated_at: string;
    app_metadata: { [key: string]: any }; user_metadata: { [key: string]: any }; identities?: any[];
  };
  /** correlation_id: a stable id of the message, the same on every retry. */
  transaction: { correlation_id: string };
  /** Always an empty object for this trigger. */
  configuration: { [key: string]: string };
  /** The organization of the sign-in, if any. */
  organization?: { id: string; name: string; display_name?: string; metadata?: { [key: string]: string } };
  /** The connection of the sign-in, if known. */
  connection?: { id: string; name: string; strategy?: string; metadata?: { [key: string]: string } };
  /** The custom domain of the sign-in, if any. */
  custom_domain?: { domain: string; domain_metadata?: { [key: string]: string } };
}

/** A value kept in api.cache, with when it expires (ms since the epoch). */
interface CacheRecord { value: string; expires_at: number; }
type CacheError = { type: "error"; code: "MaxSideEffectsExceeded" | "CacheKeySizeExceeded" |
  "CacheValueSizeExceeded" | "CacheSizeExceeded" | "ItemAlreadyExpired" | "InvalidExpiry" |
  "FailedToSetCacheRecord" | "FailedToDeleteCacheRecord" | "CacheKeyDoesNotExist" };

/** What the handler tells the platform about the delivery. */
interface CustomPhoneProviderAPI {
  notification: {
    /** Give up on this message: it is not sent and not retried (reason: at most 1024 chars). */
    drop(reason?: string): void;
    /** A transient failure: the message is tried again later with backoff (up to 5 more times). */
    retry(reason?: string): void;
  };
  /** A small key/value store shared by this Action's executions (20 entries, 8 KB in all). */
  cache: {
    /** The record stored under key, or undefined when there is none or it expired. */
    get(key: string): CacheRecord | undefined;
    /** Store a string for ttl ms (default 15 minutes, at most 24 hours) or until expires_at. */
    set(key: string, value: string, options?: { ttl?: number; expires_at?: number }):
      { type: "success"; record: CacheRecord } | CacheError;
    /** Remove a record. */
    delete(key: string): { type: "success" } | CacheError;
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
declare function fetch(url: string | URL, init?: {
  method?: string;
  headers?: { [name: string]: string };
  body?: string | Uint8Array | URLSearchParams;
  signal?: any;
  redirect?: "follow" | "manual" | "error";
}): Promise<FetchResponse>;

/** Lines logged here appear in the test result and the execution logs (secrets redacted). */
declare const console: {
  log(...data: any[]): void;
  info(...data: any[]): void;
  warn(...data: any[]): void;
  error(...data: any[]): void;
};

/** Node's Buffer (a Uint8Array with encodings): Buffer.from(s).toString("base64"). */
declare class Buffer extends Uint8Array {
  static from(value: string | ArrayBuffer | ArrayLike<number>, encoding?: BufferEncoding): Buffer;
  static alloc(size: number, fill?: number | string): Buffer;
  static concat(list: Uint8Array[], totalLength?: number): Buffer;
  static byteLength(value: string, encoding?: BufferEncoding): number;
  static isBuffer(value: any): value is Buffer;
  toString(encoding?: BufferEncoding): string;
  equals(other: Uint8Array): boolean;
}
type BufferEncoding = "utf8" | "utf-8" | "hex" | "base64" | "base64url" | "latin1" | "binary" | "ascii";

interface Hash {
  update(data: string | Uint8Array, encoding?: BufferEncoding): Hash;
  digest(): Buffer;
  digest(encoding: BufferEncoding): string;
}
/** require("crypto"): hashes, HMAC signatures, random values. */
interface CryptoModule {
  createHash(algorithm: "sha1" | "sha256" | "sha384" | "sha512" | "md5" | string): Hash;
  createHmac(algorithm: "sha1" | "sha256" | "sha384" | "sha512" | "md5" | string, key: string | Uint8Array): Hash;
  randomBytes(size: number): Buffer;
  randomUUID(): string;
  randomInt(min: number, max?: number): number;
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
  getHashes(): string[];
}
/** require("querystring"): form encoding, e.g. for Twilio's API. */
interface QuerystringModule {
  stringify(obj: { [key: string]: any }, sep?: string, eq?: string): string;
  parse(str: string, sep?: string, eq?: string): { [key: string]: string | string[] };
  escape(str: string): string;
  unescape(str: string): string;
}
interface UtilModule {
  format(format: any, ...args: any[]): string;
  inspect(value: any, options?: { depth?: number }): string;
  promisify(fn: Function): (...args: any[]) => Promise<any>;
  isDeepStrictEqual(a: any, b: any): boolean;
}
/** The built-in modules handlers may require (npm packages are not available). */
declare function require(name: "crypto" | "node:crypto"): CryptoModule;
declare function require(name: "buffer" | "node:buffer"): { Buffer: typeof Buffer; atob: typeof atob; btoa: typeof btoa };
declare function require(name: "querystring" | "node:querystring"): QuerystringModule;
declare function require(name: "url" | "node:url"): { URL: typeof URL; URLSearchParams: typeof URLSearchParams; parse(url: string, parseQuery?: boolean): any };
declare function require(name: "util" | "node:util"): UtilModule;

declare class URLSearchParams {
  constructor(init?: string | { [key: string]: string } | [string, string][]);
  append(name: string, value: string): void;
  set(name: string, value: string): void;
  get(name: string): string | null;
  has(name: string): boolean;
  delete(name: string): void;
  toString(): string;
}
declare class URL {
  constructor(url: string, base?: string);
  href: string; origin: string; protocol: string; host: string; hostname: string; port: string;
  pathname: string; search: string; hash: string; username: string; password: string;
  readonly searchParams: URLSearchParams;
  toString(): string;
}
declare class TextEncoder { encode(input?: string): Uint8Array; }
declare class TextDecoder { constructor(label?: string); decode(input?: Uint8Array): string; }
declare class AbortController { readonly signal: any; abort(reason?: any): void; }
declare function atob(data: string): string;
declare function btoa(data: string): string;
declare function setTimeout(handler: (...args: any[]) => void, timeout?: number, ...args: any[]): number;
declare function clearTimeout(id?: number): void;

declare const exports: {
  onExecuteCustomPhoneProvider: (event: Event, api: CustomPhoneProviderAPI) => Promise<void>;
};
`;
