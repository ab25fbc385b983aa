import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import t from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { loadCapabilitiesConfig } from '../../capabilities/load-config.js';
import { projectRoot } from '../../core/project-root.js';
import { configVariables, loadConfig } from '../../server/config.js';
import { buildWorkerApp } from '../../server/worker-http.js';
import { recordingCapability } from '../helpers/recording-capability.js';
import { startTestServer } from '../helpers/test-server.js';

/*
 * The manifests in deploy/kubernetes, checked as kubectl's schema validation would
 * (kubernetes-models validates each object against the Kubernetes OpenAPI schema: types,
 * required fields, enums) and then against capserve itself: every variable they set is a real
 * setting with a valid value, the probes are real routes, the capabilities file loads, and the
 * autoscaler's metrics are in a real /metrics scrape. The OpenAPI schema does not refuse unknown
 * fields, so the fields that matter (probes, selectors, mounts) are asserted by name.
 */

const dir = path.join(projectRoot(), 'deploy', 'kubernetes');

/** A parsed manifest object (the shape varies by kind; the checks below read what they need). */
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [field: string]: any };

const validators: Record<string, (object: Manifest) => { validate(): void }> = {
  'apps/v1 Deployment': (o) => new Deployment(o as never),
  'v1 Service': (o) => new Service(o as never),
  'v1 ConfigMap': (o) => new ConfigMap(o as never),
  'v1 Secret': (o) => new Secret(o as never),
  'v1 PersistentVolumeClaim': (o) => new PersistentVolumeClaim(o as never),
  'autoscaling/v2 HorizontalPodAutoscaler': (o) => new HorizontalPodAutoscaler(o as never),
  'policy/v1 PodDisruptionBudget': (o) => new PodDisruptionBudget(o as never),
};

function validate(object: Manifest): void {
  const model = validators[`${object.apiVersion} ${object.kind}`];
  if (model === undefined) throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
  model(object).validate();
}

async function manifests(): Promise<Manifest[]> {
  const kustomization = parse(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const objects: Manifest[] = [];
  for (const file of kustomization.resources) {
    for (const document of parseAllDocuments(await readFile(path.join(dir, file), 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
      objects.push(document.toJS() as Manifest);
    }
  }
  return objects;
}

function one(objects: readonly Manifest[], kind: string, name: string): Manifest {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name}`);
  return found;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

t.test('kustomization.yaml lists every manifest, and every object is valid against the Kubernetes schema', async (t) => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
  const listed = (parse(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] }).resources;
  t.same([...listed].sort(), files, 'no manifest left out of kubectl apply -k');
  const objects = await manifests();
  for (const object of objects) t.doesNotThrow(() => validate(object), `${object.kind} ${object.metadata.name}`);
  t.same(
    objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
    [
      'ConfigMap/capserve-capabilities',
      'ConfigMap/capserve-settings',
      'Deployment/capserve',
      'Deployment/capserve-worker',
      'HorizontalPodAutoscaler/capserve',
      'HorizontalPodAutoscaler/capserve-worker',
      'PersistentVolumeClaim/capserve-model-repository',
      'PodDisruptionBudget/capserve',
      'Secret/capserve-secrets',
      'Service/capserve',
    ],
  );
});

t.test('the validator is real: broken copies of the manifests fail', async (t) => {
  const objects = await manifests();
  const broken: [string, Manifest, (copy: any) => void][] = [
    ['replicas as a word', one(objects, 'Deployment', 'capserve'), (d) => (d.spec.replicas = 'two')],
    ['no selector', one(objects, 'Deployment', 'capserve'), (d) => delete d.spec.selector],
    ['a probe port that is neither a number nor a name', one(objects, 'Deployment', 'capserve'), (d) => (d.spec.template.spec.containers[0].readinessProbe.httpGet.port = { port: 8080 })],
    ['a container name that is a number', one(objects, 'Deployment', 'capserve-worker'), (d) => (d.spec.template.spec.containers[0].name = 42)],
    ['an HPA without its target', one(objects, 'HorizontalPodAutoscaler', 'capserve'), (h) => delete h.spec.scaleTargetRef],
    ['an HPA metric target that is not a quantity', one(objects, 'HorizontalPodAutoscaler', 'capserve'), (h) => (h.spec.metrics[0].resource.target = 70)],
    ['a Service port as a word', one(objects, 'Service', 'capserve'), (s) => (s.spec.ports[0].port = 'eighty')],
    ['a PDB minAvailable as a list', one(objects, 'PodDisruptionBudget', 'capserve'), (p) => (p.spec.minAvailable = [1])],
  ];
  for (const [what, object, mutate] of broken) {
    const copy = structuredClone(object);
    mutate(copy);
    t.throws(() => validate(copy), `${what} is refused`);
  }
});

t.test('every variable the manifests set is a real setting, and together they are a valid configuration', async (t) => {
  const objects = await manifests();
  const settings = one(objects, 'ConfigMap', 'capserve-settings').data as Record<string, string>;
  const secret = one(objects, 'Secret', 'capserve-secrets').stringData as Record<string, string>;
  const known = new Set(configVariables);
  for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
    const container = deployment.spec.template.spec.containers[0];
    const env: Record<string, string> = {};
    for (const source of container.envFrom as { configMapRef?: { name: string }; secretRef?: { name: string } }[]) {
      if (source.configMapRef !== undefined) Object.assign(env, one(objects, 'ConfigMap', source.configMapRef.name).data);
      if (source.secretRef !== undefined) Object.assign(env, one(objects, 'Secret', source.secretRef.name).stringData);
    }
    for (const variable of container.env as { name: string; value?: string }[]) env[variable.name] = variable.value ?? `${deployment.metadata.name}-0`;
    for (const name of Object.keys(env)) t.ok(known.has(name), `${deployment.metadata.name}: ${name} is a setting in server/settings.ts`);
    const config = loadConfig(env);
    t.equal(config.rateLimitRedisFail, 'local', `${deployment.metadata.name}: the whole set loads`);
  }
  t.ok(settings.REDIS_URL !== undefined && settings.RATE_LIMIT_MAX !== '0', 'rate limits are on and shared through Redis');
  t.match(secret.API_KEYS, /REPLACE/, 'the secret holds placeholders only');
});

t.test('the probes are real routes; the grace period covers preStop plus SHUTDOWN_GRACE_MS', async (t) => {
  const objects = await manifests();
  const deployment = one(objects, 'Deployment', 'capserve');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  t.equal(container.readinessProbe.httpGet.path, '/health/ready');
  t.equal(container.livenessProbe.httpGet.path, '/health');
  t.equal(container.startupProbe.httpGet.path, '/health/ready', 'liveness waits for the models to load');
  t.ok(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold >= 120, 'at least 2 minutes to load the models');
  const port = container.ports.find((p: { name: string }) => p.name === container.readinessProbe.httpGet.port);
  t.equal(String(port?.containerPort), one(objects, 'ConfigMap', 'capserve-settings').data.PORT, 'the probes reach the port the server listens on');

  const server = await startTestServer(t, [recordingCapability('classification')]);
  for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
    t.ok(server.app.hasRoute({ method: 'GET', url: probe.httpGet.path }), `GET ${probe.httpGet.path} is a route`);
    t.equal((await server.get(probe.httpGet.path)).status, 200);
  }

  const preStop = container.lifecycle.preStop.exec.command as string[];
  t.same(preStop.slice(0, 1), ['sleep']);
  const shutdownGraceMs = Number(one(objects, 'ConfigMap', 'capserve-settings').data.SHUTDOWN_GRACE_MS);
  t.ok(pod.terminationGracePeriodSeconds * 1000 > Number(preStop[1]) * 1000 + shutdownGraceMs, 'SIGKILL comes after the drain');
  t.ok(one(objects, 'Deployment', 'capserve-worker').spec.template.spec.terminationGracePeriodSeconds * 1000 > shutdownGraceMs);
  t.ok(container.resources.requests.cpu !== undefined, 'a CPU request, which the HPA utilization is measured against');
  t.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
});

t.test("the worker's probes are the worker listener's routes, on WORKER_PORT; Prometheus scrapes both Deployments alike", async (t) => {
  const objects = await manifests();
  const settings = one(objects, 'ConfigMap', 'capserve-settings').data as Record<string, string>;
  const pod = one(objects, 'Deployment', 'capserve-worker').spec.template;
  const container = pod.spec.containers[0];
  t.equal(container.readinessProbe.httpGet.path, '/health/ready');
  t.equal(container.livenessProbe.httpGet.path, '/health');
  t.equal(container.startupProbe.httpGet.path, '/health/ready', 'liveness waits for the models to load');
  t.ok(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold >= 120, 'at least 2 minutes to load the models');
  const workerPort = loadConfig(settings).workerPort;
  t.not(workerPort, 0, 'the listener is on');
  for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
    const port = (container.ports as { name: string; containerPort: number }[]).find((p) => p.name === probe.httpGet.port);
    t.equal(port?.containerPort, workerPort, `${probe.httpGet.path} reaches WORKER_PORT`);
  }
  t.equal(pod.metadata.annotations['prometheus.io/port'], String(workerPort), 'scraped on WORKER_PORT');
  t.equal(pod.metadata.annotations['prometheus.io/path'], '/metrics');
  const server = one(objects, 'Deployment', 'capserve').spec.template.metadata.annotations as Record<string, string>;
  t.equal(server['prometheus.io/port'], settings.PORT, 'and the server on PORT');
  t.same(Object.keys(pod.metadata.annotations).sort(), Object.keys(server).sort(), 'the same scrape annotations');

  // The worker's own listener, over a started service with its consumers running.
  const front = await startTestServer(t, [recordingCapability('classification')]);
  const app = await buildWorkerApp({ service: front.service, queues: () => 'running', logger: front.app.log });
  t.teardown(() => app.close());
  for (const path of [container.readinessProbe.httpGet.path, container.livenessProbe.httpGet.path, pod.metadata.annotations['prometheus.io/path']]) {
    t.ok(app.hasRoute({ method: 'GET', url: path }), `GET ${path} is a worker route`);
    t.equal((await app.inject({ url: path })).statusCode, 200);
  }
});

t.test('the Service, the PDB and the HPAs point at the Deployments; every mount and reference exists', async (t) => {
  const objects = await manifests();
  const server = one(objects, 'Deployment', 'capserve');
  const labels = server.spec.template.metadata.labels as Record<string, string>;
  t.ok(matches(server.spec.selector.matchLabels, labels));
  t.ok(matches(one(objects, 'Service', 'capserve').spec.selector, labels), 'the Service selects the serving pods');
  t.notOk(matches(one(objects, 'Service', 'capserve').spec.selector, one(objects, 'Deployment', 'capserve-worker').spec.template.metadata.labels), 'and not the workers');
  t.ok(matches(one(objects, 'PodDisruptionBudget', 'capserve').spec.selector.matchLabels, labels));
  t.equal(one(objects, 'Service', 'capserve').spec.ports[0].targetPort, server.spec.template.spec.containers[0].ports[0].name);
  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const target = one(objects, hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name);
    t.equal(target.apiVersion, hpa.spec.scaleTargetRef.apiVersion, `${hpa.metadata.name} scales ${target.metadata.name}`);
  }
  for (const deployment of objects.filter((o) => o.kind === 'Deployment')) {
    const pod = deployment.spec.template.spec;
    const volumes = new Set((pod.volumes as { name: string }[]).map((v) => v.name));
    for (const mount of pod.containers[0].volumeMounts as { name: string }[]) t.ok(volumes.has(mount.name), `${deployment.metadata.name}: volume ${mount.name}`);
    for (const volume of pod.volumes as { configMap?: { name: string; items?: { key: string }[] }; persistentVolumeClaim?: { claimName: string } }[]) {
      if (volume.configMap !== undefined) {
        const map = one(objects, 'ConfigMap', volume.configMap.name);
        for (const item of volume.configMap.items ?? []) t.ok(item.key in map.data, `${deployment.metadata.name}: ${volume.configMap.name} has ${item.key}`);
      }
      if (volume.persistentVolumeClaim !== undefined) one(objects, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
    }
  }
});

t.test("the capabilities ConfigMap, mounted as the Deployment mounts it, loads with the server's own loader", async (t) => {
  const objects = await manifests();
  const deployment = one(objects, 'Deployment', 'capserve');
  const pod = deployment.spec.template.spec;
  const mount = (pod.containers[0].volumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === 'capabilities');
  const volume = (pod.volumes as { name: string; configMap: { name: string; items: { key: string; path: string }[] } }[]).find((v) => v.name === 'capabilities');
  if (mount === undefined || volume === undefined) throw new Error('no capabilities volume');
  const configured = one(objects, 'ConfigMap', 'capserve-settings').data.CAPABILITIES_CONFIG as string;
  t.ok(configured.startsWith(`${mount.mountPath}/`), 'CAPABILITIES_CONFIG is under the mount');

  // The volume's layout, under a temporary root instead of /config.
  const root = await mkdtemp(path.join(tmpdir(), 'capserve-configmap-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const data = one(objects, 'ConfigMap', volume.configMap.name).data as Record<string, string>;
  for (const item of volume.configMap.items) {
    await mkdir(path.dirname(path.join(root, item.path)), { recursive: true });
    await writeFile(path.join(root, item.path), data[item.key] ?? '');
  }
  const file = path.join(root, path.relative(mount.mountPath, configured));
  const capabilities = await loadCapabilitiesConfig(file);
  t.ok(capabilities.capabilities.some((c) => c.name === 'sentiment'), 'the file parses against the capabilities schema');
  for (const capability of capabilities.capabilities) {
    const examples = 'params' in capability ? (capability.params as { examples?: unknown } | undefined)?.examples : undefined;
    if (typeof examples === 'string') JSON.parse(await readFile(path.resolve(path.dirname(file), examples), 'utf8'));
  }
  t.pass('every examples file it names is in the volume');
});

t.test("the autoscalers' metrics are in a real /metrics scrape, with the labels they select", async (t) => {
  const objects = await manifests();
  const server = await startTestServer(t, [recordingCapability('classification')], { jobs: {} });
  const text = (await server.get('/metrics')).text;
  const specs = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').flatMap((hpa) => hpa.spec.metrics as { type: string; pods?: any; external?: any }[]);
  const custom = specs.filter((m) => m.type === 'Pods' || m.type === 'External').map((m) => (m.pods ?? m.external).metric as { name: string; selector?: { matchLabels: Record<string, string> } });
  t.same(custom.map((m) => m.name).sort(), ['capserve_job_queue_jobs', 'capserve_queue_depth_texts']);
  for (const metric of custom) {
    const samples = text.split('\n').filter((line) => line.startsWith(`${metric.name}{`));
    const selected = samples.filter((line) => Object.entries(metric.selector?.matchLabels ?? {}).every(([label, value]) => line.includes(`${label}="${value}"`)));
    t.ok(selected.length > 0, `${metric.name} ${JSON.stringify(metric.selector?.matchLabels)} is exposed: ${selected[0] ?? samples.join(' | ')}`);
  }
  t.ok(specs.some((m) => m.type === 'Resource'), 'and CPU');
});
