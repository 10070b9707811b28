/** Encryption at rest for secret fields (AES-256-GCM), with the key from config or a private key file. */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const PREFIX = "v1:";

/** Raised when a stored secret cannot be decrypted (wrong or lost key). */
export class SecretKeyError extends Error {
  override name = "SecretKeyError";
}

/** Encrypts and decrypts secret strings. */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** From `secrets.key` in config (any string; hashed to 256 bits) or `<stateDir>/secret.key`, created if missing. */
  static open(configuredKey: string | null, stateDir: string): SecretBox {
    if (configuredKey) return new SecretBox(createHash("sha256").update(configuredKey).digest());
    const file = path.join(stateDir, "secret.key");
    if (!existsSync(file)) {
      mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      try {
        writeFileSync(file, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
    chmodSync(file, 0o600);
    return new SecretBox(createHash("sha256").update(readFileSync(file, "utf8").trim()).digest());
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
  }

  decrypt(stored: string): string {
    if (!stored.startsWith(PREFIX)) throw new SecretKeyError("A stored secret is not in a known format; set it again");
    const raw = Buffer.from(stored.slice(PREFIX.length), "base64");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
    } catch (err) {
      throw new SecretKeyError("A stored secret cannot be decrypted with this key: restore the original secrets.key (or secrets.key setting), or set the secret again", { cause: err });
    }
  }
}
