/**
 * The environment variables the constructs set are the ones the greeter reads: app/settings.ts names them once,
 * GreeterApp and GreeterClient set them, and the server's and client's settings parsers read them. Checked on every
 * greeter server and client container of the committed dist/ (synth.test.ts keeps dist/ fresh).
 */
import * as path from 'node:path';
import { clientSettings } from '../../app/client';
import { serverSettings } from '../../app/server';
import { CLIENT_ENV, SERVER_ENV } from '../../app/settings';
import { IMAGE_NAMES } from '../../deploy';
import { manifestDirs, readManifestDir, type KubeObject } from '../../harness/manifests';
import { ROOT } from '../../harness/processes';

const NODE_OPTIONS = 'NODE_OPTIONS';

const DIST = path.join(ROOT, 'dist');
const containers = manifestDirs(DIST)
  .flatMap((dir) => readManifestDir(dir).flatMap((file) => file.objects))
  .filter((o) => o.kind === 'Deployment')
  .flatMap((deployment) => deployment.spec.template.spec.containers as KubeObject[]);
/** The containers of one of this project's images, with the names of every variable they set (`value` or `valueFrom`). */
const envNamesOf = (image: string) =>
  containers
    .filter((c) => c.image.split('/').pop().startsWith(`${image}:`))
    .map((c) => ({ container: c.name, names: (c.env ?? []).map((e: KubeObject) => e.name as string) }));

describe.each([
  ['server', IMAGE_NAMES.server, SERVER_ENV, serverSettings],
  ['client', IMAGE_NAMES.client, CLIENT_ENV, clientSettings],
] as const)('greeter %s', (_role, image, settingNames, parser) => {
  const names = Object.values(settingNames) as string[];
  const rendered = envNamesOf(image);

  test('every name in app/settings.ts is one its settings parser reads', () => {
    const read = Object.values(parser).map((setting) => setting.env);
    expect(read).toEqual(expect.arrayContaining(names));
    expect(new Set(names).size).toBe(names.length);
  });

  test('every container in dist/ sets only those names, and dist/ as a whole sets each of them', () => {
    expect(rendered.length).toBeGreaterThan(0);
    for (const { container, names: set } of rendered) {
      // NODE_OPTIONS is read by Node itself (GreeterApp's heap cap), not by the app's parser.
      expect({
        container,
        unknown: set.filter((name: string) => !names.includes(name) && name !== NODE_OPTIONS),
      }).toEqual({ container, unknown: [] });
      expect(new Set(set).size).toBe(set.length);
    }
    expect(new Set(rendered.flatMap((c) => c.names).filter((name) => name !== NODE_OPTIONS))).toEqual(new Set(names));
  });
});
