// Runs client.ts against a live gateway: CEPHGW_URL, CEPHGW_KEY_NAME, CEPHGW_KEY in the
// environment (NODE_EXTRA_CA_CERTS to trust a self-signed certificate). Prints one JSON line.
import { Cephgw, describe } from "./client";

declare const process: {
  env: Record<string, string | undefined>;
  exitCode?: number;
};

async function main(): Promise<void> {
  const env = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const gw = new Cephgw(env("CEPHGW_URL"), env("CEPHGW_KEY_NAME"), env("CEPHGW_KEY"));
  const pools = await gw.listPools();
  const osd = await gw.getOsd(0);
  const created = await gw.createRequest(
    { prefix: "osd pool get", pool: pools[0].pool_name, var: "size", format: "json" },
    { wait: "1" },
  );
  const job = await gw.getRequest(created.id);
  console.log(
    JSON.stringify({
      pools: pools.map((p) => p.pool_name),
      osd: osd.osd,
      job: { id: job.id, state: job.state, outb: job.finished.map((c) => c.outb) },
      summary: describe(pools[0], osd, job),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
