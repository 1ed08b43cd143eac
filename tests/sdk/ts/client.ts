// A small typed cephgw client on `fetch`, typed by the types openapi-typescript generates
// from the spec (`./schema`, generated next to this file: never committed). It is what
// docs/sdk.md shows; tests/integration/test_sdk.py type-checks it with `tsc --noEmit` and
// runs smoke.ts against a live gateway.
import type { components, paths } from "./schema";

export type Pool = components["schemas"]["Pool"];
export type Osd = components["schemas"]["Osd"];
export type Job = components["schemas"]["Job"];
export type MonCommand = components["schemas"]["MonCommand"];
export type ErrorResponse = components["schemas"]["ErrorResponse"];

type Method = "get" | "post" | "patch" | "delete";
// The operation behind `method path`, as the spec declares it.
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
// The JSON body of an operation's 200 answer.
export type Ok<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { responses: { 200: { content: { "application/json": infer T } } } }
    ? T
    : never;
export type PathParams<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { parameters: { path: infer T } } ? T : never;
export type QueryParams<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { parameters: { query?: infer T } } ? NonNullable<T> : never;
export type JsonBody<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody: { content: { "application/json": infer T } } }
    ? T
    : never;

/** A non-2xx answer: every error of the API has the one body, ErrorResponse. */
export class CephgwError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorResponse,
  ) {
    super(`${status}: ${body.message}`);
  }
}

export class Cephgw {
  private readonly authorization: string;

  /** `baseUrl` like https://gw.example:8003; the key name and key are HTTP Basic. */
  constructor(
    private readonly baseUrl: string,
    keyName: string,
    key: string,
  ) {
    this.authorization = "Basic " + btoa(`${keyName}:${key}`);
  }

  private async call<T>(
    method: Method,
    path: string,
    query: Record<string, string | number | boolean | null | undefined> = {},
    body?: unknown,
  ): Promise<{ status: number; json: T }> {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    const response = await fetch(url, {
      method: method.toUpperCase(),
      headers: {
        Authorization: this.authorization,
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json: unknown = await response.json();
    if (!response.ok) throw new CephgwError(response.status, json as ErrorResponse);
    return { status: response.status, json: json as T };
  }

  /** GET /pool */
  async listPools(): Promise<Ok<"/pool", "get">> {
    return (await this.call<Ok<"/pool", "get">>("get", "/pool")).json;
  }

  /** GET /osd/{osd_id} */
  async getOsd(osdId: PathParams<"/osd/{osd_id}", "get">["osd_id"]): Promise<Osd> {
    return (await this.call<Ok<"/osd/{osd_id}", "get">>("get", `/osd/${osdId}`)).json;
  }

  /** POST /request: run mon commands as a job; with `wait`, until it ends (or 202). */
  async createRequest(
    body: JsonBody<"/request", "post">,
    query: QueryParams<"/request", "post"> = {},
  ): Promise<Job> {
    return (await this.call<Ok<"/request", "post">>("post", "/request", query, body)).json;
  }

  /** GET /request/{request_id}: a job as it stands. */
  async getRequest(requestId: PathParams<"/request/{request_id}", "get">["request_id"]): Promise<Job> {
    return (await this.call<Job>("get", `/request/${encodeURIComponent(requestId)}`)).json;
  }
}

// Compile-time checks that the generated types are precise, not `any` or `unknown`: a spec
// that loses its schemas (an untyped response, say) fails `tsc --noEmit` here.
type IsAny<T> = 0 extends 1 & T ? true : false;
type Assert<T extends true> = T;
export type SpecChecks = [
  Assert<IsAny<Pool> extends false ? true : false>,
  Assert<Ok<"/pool", "get"> extends Pool[] ? true : false>,
  Assert<Ok<"/osd/{osd_id}", "get"> extends Osd ? true : false>,
  Assert<PathParams<"/osd/{osd_id}", "get">["osd_id"] extends number ? true : false>,
  Assert<Job["state"] extends "pending" | "success" | "failed" ? true : false>,
  Assert<"pending" extends Job["state"] ? true : false>,
  Assert<ErrorResponse["message"] extends string ? true : false>,
];

/** What a caller reads off those types, field by field (each one a type error if missing). */
export function describe(pool: Pool, osd: Osd, job: Job): string {
  const replicas: number = pool.size;
  const up: boolean = osd.up === 1 && osd.in === 1;
  const failed: string[] = job.failed.map((c) => `${c.command}: ${c.outs} (errno ${c.errno ?? "-"})`);
  return `pool ${pool.pool_name} x${replicas}; osd.${osd.osd} ${up ? "up+in" : "not up+in"}; ` +
    `job ${job.id} ${job.state}${failed.length ? ": " + failed.join("; ") : ""}`;
}
