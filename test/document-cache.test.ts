import { parse } from "graphql";
import { DocumentCache } from "../src/http/document-cache";

/** The WebSocket endpoint's cache of parsed and validated documents by text (issue 14, idle subscriptions). */
describe("DocumentCache", () => {
  it("answers the document stored for an equal text, and its own copy of the text", () => {
    const cache = new DocumentCache();
    const text = "subscription { directoryEvents { cursor } }";
    const document = parse(text);
    cache.set(text, document);
    const equal = ["subscription { directoryEvents {", " cursor } }"].join("");
    expect(cache.get(equal)).toBe(document);
    expect(cache.canonical(equal)).toBe(text);
    expect(cache.get("{ viewer { role } }")).toBeUndefined();
    expect(cache.canonical("{ viewer { role } }")).toBeUndefined();
  });

  it("drops the least recently used entries beyond its count or its total text length; never keeps a text over a tenth of the budget", () => {
    const cache = new DocumentCache(2, 1000);
    const doc = parse("{ a }");
    cache.set("{ a }", doc);
    cache.set("{ b }", doc);
    cache.get("{ a }");
    cache.set("{ c }", doc);
    expect([cache.get("{ a }"), cache.get("{ b }"), cache.get("{ c }")]).toEqual([doc, undefined, doc]);
    cache.set(`{ ${"x".repeat(101)} }`, doc);
    expect(cache.size).toBe(2);
    const long = new DocumentCache(10, 100);
    for (let i = 0; i < 10; i++) long.set(`{ f${i} ${"y".repeat(3)} }`, doc);
    expect(long.size).toBeLessThanOrEqual(100 / "{ f0 yyy }".length);
    expect(long.get(`{ f9 yyy }`)).toBe(doc);
  });
});
