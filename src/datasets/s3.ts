/**
 * A small S3 client for datasets: AWS Signature V4 presigned URLs (query auth, UNSIGNED-PAYLOAD) and streaming
 * GET/PUT/DELETE/list over node:http(s), so a 100 MiB object never sits in the orchestrator's memory.
 * Presigned URLs name one key, one method and expire quickly: they can be handed to a task without a credential.
 */
import { createHash, createHmac } from "node:crypto";
import { createReadStream, createWriteStream, statSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { pipeline } from "node:stream/promises";

/** Where and as whom the orchestrator reaches the object store. */
export interface S3Settings {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** An S3 request failed; the message names the method, bucket and key (never the signature). */
export class S3Error extends Error {
  override name = "S3Error";
  constructor(message: string, readonly status: number | null, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const hmac = (key: Buffer | string, text: string) => createHmac("sha256", key).update(text).digest();
const sha256hex = (text: string) => createHash("sha256").update(text).digest("hex");
// RFC 3986 encoding as SigV4 wants it; "/" stays in object keys.
const enc = (s: string, keepSlash = false) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(keepSlash ? /%2F/g : /$^/, "/");

/** A presigned URL for one method on one object (path-style addressing), valid for `expiresSeconds`. */
export function presign(s: S3Settings, method: string, bucket: string, key: string, expiresSeconds = 900, query: Record<string, string> = {}, now = new Date()): string {
  const base = new URL(s.endpoint);
  const amzDate = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${s.region}/s3/aws4_request`;
  const path = `${base.pathname.replace(/\/$/, "")}/${enc(bucket)}${key ? `/${enc(key, true)}` : ""}`;
  const params: Record<string, string> = {
    ...query,
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `${s.accessKeyId}/${scope}`,
    "X-Amz-Date": amzDate,
    "X-Amz-Expires": String(expiresSeconds),
    "X-Amz-SignedHeaders": "host",
  };
  const canonicalQuery = Object.keys(params).sort().map((k) => `${enc(k)}=${enc(params[k] as string)}`).join("&");
  const canonical = [method, path, canonicalQuery, `host:${base.host}\n`, "host", "UNSIGNED-PAYLOAD"].join("\n");
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonical)].join("\n");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${s.secretAccessKey}`, day), s.region), "s3"), "aws4_request");
  const signature = createHmac("sha256", signingKey).update(toSign).digest("hex");
  return `${base.protocol}//${base.host}${path}?${canonicalQuery}&X-Amz-Signature=${signature}`;
}

/** Sends one request; `body` (a file) is streamed with its length, as S3 does not take chunked uploads. */
async function request(method: string, url: string, body?: { file: string; size: number }): Promise<http.IncomingMessage> {
  return new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = (url.startsWith("https:") ? https : http).request(url, { method, headers: { "content-length": body?.size ?? 0 } }, resolve);
    req.on("error", reject);
    if (!body) req.end();
    else pipeline(createReadStream(body.file), req).catch(reject);
  });
}

async function drain(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function fail(what: string, res: http.IncomingMessage): Promise<never> {
  const body = await drain(res);
  const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? "";
  throw new S3Error(`${what} failed: HTTP ${res.statusCode}${code ? ` ${code}` : ""}; check datasets.s3* in the config and that the bucket exists`, res.statusCode ?? null);
}

/** Streams an object into a file. */
export async function getObject(s: S3Settings, bucket: string, key: string, file: string): Promise<number> {
  const res = await request("GET", presign(s, "GET", bucket, key));
  if (res.statusCode !== 200) return fail(`GET s3://${bucket}/${key}`, res);
  await pipeline(res, createWriteStream(file));
  return statSync(file).size;
}

/** Streams a file into an object; S3 makes the object visible only once the upload is complete. */
export async function putObject(s: S3Settings, bucket: string, key: string, file: string): Promise<void> {
  const res = await request("PUT", presign(s, "PUT", bucket, key), { file, size: statSync(file).size });
  if (res.statusCode !== 200) return fail(`PUT s3://${bucket}/${key}`, res);
  await drain(res);
}

/** The object's size, or null when it does not exist. */
export async function headObject(s: S3Settings, bucket: string, key: string): Promise<number | null> {
  const res = await request("HEAD", presign(s, "HEAD", bucket, key));
  res.resume();
  if (res.statusCode === 404) return null;
  if (res.statusCode !== 200) throw new S3Error(`HEAD s3://${bucket}/${key} failed: HTTP ${res.statusCode}`, res.statusCode ?? null);
  return Number(res.headers["content-length"] ?? 0);
}

/** Keys under a prefix (ListObjectsV2, following continuation tokens). */
export async function listObjects(s: S3Settings, bucket: string, prefix: string): Promise<Array<{ key: string; size: number }>> {
  const out: Array<{ key: string; size: number }> = [];
  let token: string | undefined;
  do {
    // An empty parameter is dropped by some servers before they check the signature: send prefix only when set.
    const query: Record<string, string> = prefix ? { "list-type": "2", prefix } : { "list-type": "2" };
    if (token) query["continuation-token"] = token;
    const res = await request("GET", presign(s, "GET", bucket, "", 900, query));
    if (res.statusCode !== 200) return fail(`LIST s3://${bucket}/${prefix}`, res);
    const xml = await drain(res);
    for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const k = /<Key>([^<]*)<\/Key>/.exec(m[1] as string)?.[1];
      const size = Number(/<Size>(\d+)<\/Size>/.exec(m[1] as string)?.[1] ?? 0);
      if (k !== undefined) out.push({ key: k.replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'"), size });
    }
    token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(xml)?.[1] : undefined;
  } while (token);
  return out;
}

/** Creates a bucket; an existing one of ours is fine. */
export async function createBucket(s: S3Settings, bucket: string): Promise<void> {
  const res = await request("PUT", presign(s, "PUT", bucket, ""));
  if (res.statusCode === 200 || res.statusCode === 409) return void (await drain(res));
  return fail(`create bucket ${bucket}`, res);
}

/** Deletes an object (absent is fine), or the bucket itself when `key` is empty (it must be empty). */
export async function deleteObject(s: S3Settings, bucket: string, key: string): Promise<void> {
  const res = await request("DELETE", presign(s, "DELETE", bucket, key));
  if (res.statusCode === 204 || res.statusCode === 200 || res.statusCode === 404) return void (await drain(res));
  return fail(`DELETE s3://${bucket}/${key}`, res);
}

/** Splits `s3://bucket/key` into its parts. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!m) throw new S3Error(`"${url}" is not an s3:// URL; write s3://bucket/key`, null);
  return { bucket: m[1] as string, key: m[2] as string };
}
