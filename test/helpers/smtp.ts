/**
 * A tiny SMTP server on loopback for tests (node:net): EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT. It keeps every
 * message it accepted, with its envelope and the credentials it was sent with.
 */
import net, { type AddressInfo } from "node:net";

/** One accepted message. */
export interface ReceivedMail {
  from: string;
  to: string[];
  /** Headers and body as sent, dot-stuffing undone. */
  data: string;
  /** "login:password" from AUTH PLAIN, if any. */
  auth: string | null;
}

/** A running SMTP receiver. */
export interface SmtpReceiver {
  port: number;
  messages: ReceivedMail[];
  close(): Promise<void>;
}

/** Starts the receiver on 127.0.0.1 and a free port. */
export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const messages: ReceivedMail[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.setEncoding("utf8");
    let buffer = "";
    let inData = false;
    let mail: ReceivedMail = { from: "", to: [], data: "", auth: null };
    let auth: string | null = null;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply("220 localhost test SMTP");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          mail.data = buffer.slice(0, end).replace(/^\.\./gm, ".");
          buffer = buffer.slice(end + 5);
          inData = false;
          messages.push(mail);
          reply("250 queued");
          continue;
        }
        const i = buffer.indexOf("\r\n");
        if (i < 0) return;
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") {
          reply("250-localhost");
          reply("250 AUTH PLAIN");
        } else if (verb === "AUTH") {
          const [, login, password] = Buffer.from(line.split(" ")[2] ?? "", "base64").toString("utf8").split("\u0000");
          auth = `${login}:${password}`;
          reply("235 ok");
        } else if (verb === "MAIL") {
          mail = { from: /<(.*)>/.exec(line)?.[1] ?? "", to: [], data: "", auth };
          reply("250 ok");
        } else if (verb === "RCPT") {
          mail.to.push(/<(.*)>/.exec(line)?.[1] ?? "");
          reply("250 ok");
        } else if (verb === "DATA") {
          inData = true;
          reply("354 go ahead");
        } else if (verb === "QUIT") {
          reply("221 bye");
          socket.end();
        } else {
          reply("502 not implemented");
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    messages,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
