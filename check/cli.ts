/**
 * grpc-lb-check PATH...: finds the gRPC load-balancing faults in Kubernetes manifests. Exit status 0 when there is
 * no error (warnings allowed), 1 when there is one, 2 when the input cannot be read or checked. The process around
 * {@link main} is bin.ts.
 */
import { parseArgs } from 'node:util';
import { checkManifests, DEFAULT_LINKERD_VERSION, type CheckOptions } from './check';
import { formatJson } from './format/json';
import { formatSarif } from './format/sarif';
import { formatText } from './format/text';
import { InputError, readManifests } from './input';
import { RULES } from './rules';
import { readConfig } from './suppression';

const FORMATS = { text: formatText, json: formatJson, sarif: formatSarif } as const;
type Format = keyof typeof FORMATS;

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_UNREADABLE = 2;

const USAGE = `Usage: grpc-lb-check [options] PATH...

Finds the gRPC load-balancing faults in Kubernetes manifests.

  PATH                      a YAML or JSON file (several documents, List kinds), a directory (read
                            recursively; what is not Kubernetes objects is skipped and listed:
                            kustomize files and their patches, Helm charts, files without apiVersion
                            and kind), or - for standard input

Options:
  --format text|json|sarif  output format (default text)
  --partial                 the input is not the whole cluster: what is not in it is a warning, not an error
  --linkerd-version 2.N     the cluster's Linkerd (default ${DEFAULT_LINKERD_VERSION}; from 2.18 an appProtocol Linkerd does not
                            know, such as grpc, makes the port opaque TCP)
  --namespace NS            the namespace of objects that name none (default "default")
  --kubernetes-version V    validate core objects against Kubernetes V, such as 1.32.0 (repeatable;
                            default: the newest the checker holds)
  --config FILE             a YAML file whose "ignore" list suppresses findings:
                            - { rule: <rule id or *>, object: "Kind namespace/name" (* allowed), reason: <why> }
  -h, --help                this text

On one object: annotations grpc-lb-check.io/ignore: "<rule>,<rule>" and grpc-lb-check.io/ignore-reason.

Exit status: 0 no errors, 1 errors found, 2 the input could not be read or checked.

Examples:
  kustomize build . | grpc-lb-check -
  helm template my-release ./chart | grpc-lb-check --partial -
  grpc-lb-check dist/
`;

/** Where the command reads and writes; tests pass their own. */
export interface CliIo {
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** Runs the command; resolves to its exit status. Never throws: every failure is a message and status 2. */
export async function main(
  argv: readonly string[],
  io: CliIo,
  options: Pick<CheckOptions, 'validate' | 'dataDir'> = {},
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        format: { type: 'string', default: 'text' },
        partial: { type: 'boolean', default: false },
        'linkerd-version': { type: 'string', default: DEFAULT_LINKERD_VERSION },
        namespace: { type: 'string' },
        'kubernetes-version': { type: 'string', multiple: true },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.stderr(`grpc-lb-check: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT_UNREADABLE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  const format = values.format as string;
  if (!(format in FORMATS)) {
    io.stderr(`grpc-lb-check: --format ${JSON.stringify(format)} is not one of ${Object.keys(FORMATS).join(', ')}\n`);
    return EXIT_UNREADABLE;
  }
  if (!/^2\.\d+/.test(values['linkerd-version'] as string)) {
    io.stderr(
      `grpc-lb-check: --linkerd-version ${JSON.stringify(values['linkerd-version'])} is not a Linkerd 2 version such as 2.17 or 2.18\n`,
    );
    return EXIT_UNREADABLE;
  }
  try {
    const configFile = values.config as string | undefined;
    const ignore = configFile === undefined ? [] : await readConfig(configFile, new Set(RULES.map((rule) => rule.id)));
    const input = await readManifests(positionals, { stdin: io.stdin });
    const report = checkManifests(input.objects, {
      ignore,
      configFile,
      partial: values.partial,
      linkerdVersion: values['linkerd-version'],
      namespace: values.namespace,
      kubernetesVersions: values['kubernetes-version'],
      validate: options.validate,
      dataDir: options.dataDir,
    });
    io.stdout(FORMATS[format as Format](report, input));
    return report.errors > 0 ? EXIT_FINDINGS : EXIT_OK;
  } catch (error) {
    // Bad input is the user's to fix and says where; anything else is a fault here, still without a stack trace.
    const message =
      error instanceof InputError
        ? error.message
        : `could not check the input: ${(error as Error).message ?? String(error)}`;
    io.stderr(`grpc-lb-check: ${message}\n`);
    return EXIT_UNREADABLE;
  }
}
