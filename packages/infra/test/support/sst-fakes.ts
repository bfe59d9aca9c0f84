/**
 * A recording stand-in for the globals SST gives `sst.config.ts` (`$app`, `$config`, `sst.aws.*`,
 * `aws.*`, `$interpolate`, `$resolve`, …). Constructors record their name, arguments and options
 * instead of creating anything; outputs are plain values wrapped in `FakeOutput`, resolved
 * synchronously, so a test can read every argument as data.
 *
 * Only what packages/infra uses is modelled: a component or property the config starts to use
 * and this file lacks fails the topology test loudly (a TypeError), never silently.
 */

export const ACCOUNT = "123456789012"
export const REGION = "us-east-1"
/** The name (with Secrets Manager's random suffix) of the secret the fake Postgres is tagged with. */
export const POSTGRES_SECRET_NAME = "DatabaseProxySecret-a1b2c3"

/** A resolved stand-in for Pulumi's `Output<T>`. */
export class FakeOutput<T> {
  constructor(readonly value: T) {}
  apply<U>(f: (value: T) => U): FakeOutput<unknown> {
    return new FakeOutput(resolveDeep(f(this.value)))
  }
}

/** Replaces every `FakeOutput` inside a value (arrays, plain objects) by what it holds. */
export const resolveDeep = (value: unknown): unknown => {
  if (value instanceof FakeOutput) return resolveDeep(value.value)
  if (Array.isArray(value)) return value.map(resolveDeep)
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, resolveDeep(inner)]))
  }
  return value
}

export interface Recorded {
  /** `sst.aws.Bucket`, `aws.cloudwatch.MetricAlarm`, `Bucket.notify`, `Queue.subscribe`, … */
  readonly kind: string
  readonly name: string
  /** Arguments with every output resolved. */
  readonly args: Readonly<Record<string, unknown>>
  /** Resource options as given (so `dependsOn` still holds the fake instances). */
  readonly opts: Readonly<Record<string, unknown>>
  readonly instance: object
}

export interface Recorder {
  readonly records: Array<Recorded>
  readonly ofKind: (kind: string) => ReadonlyArray<Recorded>
  readonly named: (kind: string, name: string) => Recorded
}

const asRecord = (value: unknown): Readonly<Record<string, unknown>> =>
  value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {}

const get = (value: unknown, ...path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((at, key) => asRecord(at)[key], value)

export interface FakeGlobalsOptions {
  readonly stage: string
  readonly root: string
  readonly dev?: boolean
  /** Values set with `sst secret set` for the stage. */
  readonly secrets?: Readonly<Record<string, string>>
}

/** Installs the fake globals on `globalThis` and returns what they record. */
export const installSstFakes = (options: FakeGlobalsOptions): Recorder => {
  const records: Array<Recorded> = []
  const app = { name: "imgpipe", stage: options.stage }

  const record = (kind: string, instance: object, name: string, args: unknown, opts: unknown) => {
    records.push({ kind, name, args: asRecord(resolveDeep(args ?? {})), opts: asRecord(opts), instance })
  }

  class Component {
    constructor(kind: string, name: string, args: unknown, opts: unknown) {
      record(kind, this, name, args, opts)
    }
  }

  class Vpc extends Component {
    readonly id = new FakeOutput("vpc-0123")
    readonly nodes = {
      privateRouteTables: new FakeOutput([{ id: new FakeOutput("rtb-private-a") }, {
        id: new FakeOutput("rtb-private-b")
      }]),
      publicRouteTables: new FakeOutput([{ id: new FakeOutput("rtb-public") }])
    }
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.Vpc", name, args, opts)
    }
  }

  class Bucket extends Component {
    readonly name: FakeOutput<string>
    readonly arn: FakeOutput<string>
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.Bucket", name, args, opts)
      const physical = get(resolveDeep(args), "transform", "bucket", "bucket")
      const bucketName = typeof physical === "string"
        ? physical
        : `${app.name}-${app.stage}-${name.toLowerCase()}-generated`
      this.name = new FakeOutput(bucketName)
      this.arn = new FakeOutput(`arn:aws:s3:::${bucketName}`)
    }
    notify(args: unknown) {
      record("Bucket.notify", this, String(this.name.value), args, {})
      return {}
    }
  }

  class Queue extends Component {
    readonly arn: FakeOutput<string>
    readonly url: FakeOutput<string>
    readonly nodes: { readonly queue: { readonly name: FakeOutput<string> } }
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.Queue", name, args, opts)
      const physical = get(resolveDeep(args), "transform", "queue", "name")
      const queueName = typeof physical === "string" ? physical : `${app.name}-${app.stage}-${name}-generated`
      this.arn = new FakeOutput(`arn:aws:sqs:${REGION}:${ACCOUNT}:${queueName}`)
      this.url = new FakeOutput(`https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${queueName}`)
      this.nodes = { queue: { name: new FakeOutput(queueName) } }
    }
    subscribe(subscriber: unknown, args?: unknown, opts?: unknown) {
      record("Queue.subscribe", this, String(this.nodes.queue.name.value), { subscriber, ...asRecord(args) }, opts)
      return {}
    }
  }

  class Cron extends Component {
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.Cron", name, args, opts)
    }
  }

  class Postgres extends Component {
    readonly username = new FakeOutput("postgres")
    readonly password = new FakeOutput("generated-password")
    readonly host = new FakeOutput(`imgpipe-${app.stage}-proxy.proxy-abc.${REGION}.rds.amazonaws.com`)
    readonly port = new FakeOutput(5432)
    readonly database = new FakeOutput("imgpipe")
    readonly id = new FakeOutput(`imgpipe-${app.stage}-database`)
    readonly proxyId = new FakeOutput(`imgpipe-${app.stage}-databaseproxy`)
    /** As SST's: the instance is tagged with the ARN of the secret RDS Proxy logs in with. */
    readonly nodes = {
      instance: {
        tags: new FakeOutput({
          "sst:lookup:password": `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${POSTGRES_SECRET_NAME}`
        })
      }
    }
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.Postgres", name, args, opts)
    }
  }

  class LambdaFunction extends Component {
    readonly name: FakeOutput<string>
    readonly arn: FakeOutput<string>
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.Function", name, args, opts)
      this.name = new FakeOutput(`${app.name}-${app.stage}-${name}Function-abc`)
      this.arn = new FakeOutput(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:${this.name.value}`)
    }
  }

  class Cluster extends Component {
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.Cluster", name, args, opts)
    }
  }

  class Service extends Component {
    readonly url = new FakeOutput("http://imgpipe-api-123.us-east-1.elb.amazonaws.com/")
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.Service", name, args, opts)
    }
    /** As SST's: the load balancer exists only when deployed, not under `sst dev`. */
    get nodes() {
      if (options.dev) throw new Error("Cannot access `nodes.loadBalancer` in dev mode.")
      return { loadBalancer: { arnSuffix: new FakeOutput("app/imgpipe-api/0123456789abcdef") } }
    }
  }

  class SnsTopic extends Component {
    readonly arn: FakeOutput<string>
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("sst.aws.SnsTopic", name, args, opts)
      this.arn = new FakeOutput(`arn:aws:sns:${REGION}:${ACCOUNT}:${name}`)
    }
  }

  class Secret extends Component {
    readonly value: FakeOutput<string>
    constructor(name: string, placeholder?: unknown) {
      super("sst.Secret", name, { placeholder }, {})
      // As SST's: the value set with `sst secret set`, else the placeholder, else an error.
      const value = options.secrets?.[name] ?? resolveDeep(placeholder)
      if (typeof value !== "string") {
        throw new Error(`SecretMissingError: set a value for ${name} with \`sst secret set\``)
      }
      this.value = new FakeOutput(value)
    }
  }

  class Dashboard extends Component {
    readonly dashboardName: FakeOutput<string>
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("aws.cloudwatch.Dashboard", name, args, opts)
      this.dashboardName = new FakeOutput(String(get(resolveDeep(args), "dashboardName")))
    }
  }

  /** As the provider's: a generated id, the ARN from it, and `<id>.cloudfront.net`. */
  class Distribution extends Component {
    readonly id = new FakeOutput("E2QWRUHAPOMQZL")
    readonly arn = new FakeOutput(`arn:aws:cloudfront::${ACCOUNT}:distribution/E2QWRUHAPOMQZL`)
    readonly domainName = new FakeOutput("d111111abcdef8.cloudfront.net")
    constructor(name: string, args?: unknown, opts?: unknown) {
      super("aws.cloudfront.Distribution", name, args, opts)
    }
  }

  /** A provider resource (`aws.*`): records itself; `arn`/`id`/`name`/`version` are tokens. */
  const providerResource = (kind: string) =>
    class extends Component {
      static readonly kind = kind
      readonly arn: FakeOutput<string>
      readonly id: FakeOutput<string>
      readonly name: FakeOutput<string>
      readonly version = new FakeOutput(1)
      constructor(name: string, args?: unknown, opts?: unknown) {
        super(kind, name, args, opts)
        this.arn = new FakeOutput(`arn:fake:${kind}:${name}`)
        this.id = new FakeOutput(`${kind}:${name}`)
        this.name = new FakeOutput(name)
      }
    }

  const interpolate = (strings: TemplateStringsArray, ...values: ReadonlyArray<unknown>) =>
    new FakeOutput(
      strings.reduce((out, text, i) => out + text + (i < values.length ? String(resolveDeep(values[i])) : ""), "")
    )

  Object.assign(globalThis, {
    $config: <T>(config: T): T => config,
    $app: {
      ...app,
      removal: options.stage === "prod" ? "retain" : "remove",
      protect: options.stage === "prod",
      providers: {}
    },
    $dev: options.dev ?? false,
    $cli: {
      command: "deploy",
      rpc: "",
      paths: { home: options.root, root: options.root, work: options.root, platform: options.root },
      state: { version: {} }
    },
    $interpolate: interpolate,
    $resolve: (value: unknown) => new FakeOutput(resolveDeep(value)),
    $output: (value: unknown) => new FakeOutput(resolveDeep(value)),
    $concat: (...values: ReadonlyArray<unknown>) => new FakeOutput(values.map((v) => String(resolveDeep(v))).join("")),
    $jsonStringify: (value: unknown) => new FakeOutput(JSON.stringify(resolveDeep(value))),
    $transform: (resource: unknown, cb: unknown) =>
      record("$transform", {}, typeof resource === "function" && "kind" in resource ? String(resource.kind) : "?", {
        cb
      }, {}),
    sst: {
      Secret,
      aws: { Vpc, Bucket, Queue, Postgres, Function: LambdaFunction, Cluster, Service, SnsTopic, Cron }
    },
    aws: {
      getRegionOutput: () => ({ region: new FakeOutput(REGION), name: new FakeOutput(REGION) }),
      getCallerIdentityOutput: () => ({ accountId: new FakeOutput(ACCOUNT) }),
      rds: { ProxyDefaultTargetGroup: providerResource("aws.rds.ProxyDefaultTargetGroup") },
      ec2: { VpcEndpoint: providerResource("aws.ec2.VpcEndpoint") },
      s3: {
        BucketLifecycleConfiguration: providerResource("aws.s3.BucketLifecycleConfiguration"),
        BucketNotification: providerResource("aws.s3.BucketNotification")
      },
      sqs: { QueuePolicy: providerResource("aws.sqs.QueuePolicy") },
      lambda: { Invocation: providerResource("aws.lambda.Invocation") },
      ssm: { Parameter: providerResource("aws.ssm.Parameter") },
      cloudfront: { Distribution, OriginAccessControl: providerResource("aws.cloudfront.OriginAccessControl") },
      cloudwatch: { MetricAlarm: providerResource("aws.cloudwatch.MetricAlarm"), Dashboard }
    }
  })

  return {
    records,
    ofKind: (kind) => records.filter((r) => r.kind === kind),
    named: (kind, name) => {
      const found = records.find((r) => r.kind === kind && r.name === name)
      if (!found) throw new Error(`no ${kind} named ${name} was created`)
      return found
    }
  }
}
