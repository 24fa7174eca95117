export default async function globalTeardown() {
  const pg = globalThis.__WORKGRAPH_PG__;
  if (pg) await pg.stop();
}
