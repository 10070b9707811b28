/** A small SMTP client for `notify.email`: plain or implicit TLS (port 465 / type smtps), optional AUTH PLAIN. */
import net from "node:net";
import tls from "node:tls";
import type { Connection } from "../../sdk/types.js";

/** Raised when the server refuses a step; the message names the step, the reply and the connection. */
export class SmtpError extends Error {
  override name = "SmtpError";
}

/** A message to send. */
export interface Mail {
  from: string;
  to: string[];
  subject: string;
  body: string;
}

/** Sends `mail` through the SMTP server of `conn`. */
export async function sendMail(conn: Connection, mail: Mail, timeoutMs = 30_000): Promise<void> {
  if (!conn.host) throw new SmtpError(`connection "${conn.id}" has no host: set it with airlock connections add ${conn.id} --uri smtp://host:25`);
  const secure = conn.type === "smtps" || conn.port === 465;
  const port = conn.port ?? (secure ? 465 : 25);
  const socket = secure ? tls.connect({ host: conn.host, port, servername: conn.host }) : net.connect({ host: conn.host, port });
  socket.setEncoding("utf8");
  socket.setTimeout(timeoutMs, () => socket.destroy(new SmtpError(`no reply from ${conn.host}:${port} within ${timeoutMs / 1000} s`)));
  let buffer = "";
  let waiting: ((reply: { code: number; text: string }) => void) | null = null;
  let failed: Error | null = null;
  const replies: Array<{ code: number; text: string }> = [];
  const lines: string[] = [];
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    for (let i = buffer.indexOf("\r\n"); i >= 0; i = buffer.indexOf("\r\n")) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      lines.push(line);
      // "250-..." continues a reply, "250 ..." ends it.
      if (/^\d{3}(?: |$)/.test(line)) {
        const reply = { code: Number(line.slice(0, 3)), text: lines.splice(0).join("\n") };
        if (waiting) {
          const w = waiting;
          waiting = null;
          w(reply);
        } else replies.push(reply);
      }
    }
  });
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.on("error", (err) => {
    failed = new SmtpError(`SMTP ${conn.host}:${port}: ${err.message}; check the connection "${conn.id}"`, { cause: err });
    waiting?.({ code: 0, text: failed.message });
  });
  const reply = () => new Promise<{ code: number; text: string }>((resolve) => {
    const r = replies.shift();
    if (r) resolve(r);
    else if (failed) resolve({ code: 0, text: failed.message });
    else waiting = resolve;
  });
  const step = async (what: string, line: string | null, expect: number[]) => {
    if (line !== null) socket.write(`${line}\r\n`);
    const r = await reply();
    if (failed) throw failed;
    if (!expect.includes(r.code)) throw new SmtpError(`SMTP ${conn.host}:${port} refused ${what}: ${r.text}`);
  };
  try {
    await step("the connection", null, [220]);
    await step("EHLO", "EHLO airlock", [250]);
    if (conn.login) {
      const token = Buffer.from(`\u0000${conn.login}\u0000${conn.password ?? ""}`).toString("base64");
      await step("AUTH PLAIN (check the connection's login and password)", `AUTH PLAIN ${token}`, [235]);
    }
    await step("the sender", `MAIL FROM:<${mail.from}>`, [250]);
    for (const to of mail.to) await step(`recipient ${to}`, `RCPT TO:<${to}>`, [250, 251]);
    await step("DATA", "DATA", [354]);
    const headers = [`From: ${mail.from}`, `To: ${mail.to.join(", ")}`, `Subject: ${mail.subject.replace(/[\r\n]+/g, " ")}`,
      `Date: ${new Date().toUTCString()}`, "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"];
    // Dot-stuffing: a line starting with "." gets another one, so it cannot end the message early.
    const body = mail.body.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
    await step("the message", `${headers.join("\r\n")}\r\n\r\n${body}\r\n.`, [250]);
    await step("QUIT", "QUIT", [221]).catch(() => undefined);
  } finally {
    socket.end();
    socket.destroy();
    await closed;
  }
  process.stdout.write(`sent "${mail.subject}" to ${mail.to.join(", ")} through ${conn.host}:${port}\n`);
}
