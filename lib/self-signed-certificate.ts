import { ApiObject, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import type { IGrpcEndpoint } from './grpc-endpoint';
import { invalidProp, milliseconds, subjectOf } from './internal/validate';

export interface SelfSignedCertificateProps {
  /**
   * The front door (a gateway or an ingress) whose host the certificate names and whose TLS Secret cert-manager
   * writes, in the namespace where its clients and the proxy read it.
   */
  readonly endpoint: IGrpcEndpoint;
  /**
   * Validity of each certificate.
   * @default Duration.days(90)
   */
  readonly duration?: Duration;
  /**
   * How long before expiry cert-manager renews it.
   * @default Duration.days(15)
   */
  readonly renewBefore?: Duration;
}

/**
 * For clusters that run cert-manager (opt-in): a self-signed `Issuer` and a `Certificate` for an endpoint's host,
 * which cert-manager keeps in the endpoint's TLS Secret, in place of the `npm run certs` and `kubectl create secret
 * tls` steps. cert-manager's CRDs are not in `imports/`, so the two objects are typed here with the fields used.
 */
export class SelfSignedCertificate extends Construct {
  readonly issuer: ApiObject;
  readonly certificate: ApiObject;

  constructor(scope: Construct, id: string, props: SelfSignedCertificateProps) {
    super(scope, id);
    const subject = subjectOf(this);
    const { tls } = props.endpoint;
    if (tls === undefined)
      throw invalidProp(
        subject,
        'endpoint.tls',
        tls,
        'the TLS of an endpoint that terminates it (a gateway or an ingress)',
      );
    const durationMs = milliseconds(subject, 'duration', props.duration ?? Duration.days(90), HOUR_MS);
    const renewBeforeMs = milliseconds(subject, 'renewBefore', props.renewBefore ?? Duration.days(15), 5 * 60_000);
    if (renewBeforeMs >= durationMs) {
      throw invalidProp(
        subject,
        'renewBefore',
        goDuration(renewBeforeMs),
        `shorter than duration (${goDuration(durationMs)})`,
      );
    }
    const namespace = props.endpoint.clientNamespace.name;

    const issuerSpec: CertManagerIssuerSpec = { selfSigned: {} };
    this.issuer = new ApiObject(this, 'Issuer', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: `${tls.secretName}-selfsigned`, namespace },
      spec: issuerSpec,
    });

    const certificateSpec: CertManagerCertificateSpec = {
      secretName: tls.secretName,
      commonName: tls.serverName,
      dnsNames: [tls.serverName],
      duration: goDuration(durationMs),
      renewBefore: goDuration(renewBeforeMs),
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      usages: ['server auth', 'digital signature', 'key encipherment'],
      issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: this.issuer.name },
    };
    this.certificate = new ApiObject(this, 'Certificate', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: tls.secretName, namespace },
      spec: certificateSpec,
    });
    this.certificate.addDependency(this.issuer);
  }
}

const HOUR_MS = 3_600_000;

/** cert-manager reads Go durations; whole hours (`2160h`) or minutes (`90m`) keep them readable. */
function goDuration(ms: number): string {
  if (ms % HOUR_MS === 0) return `${ms / HOUR_MS}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** The fields of cert-manager's `Issuer` spec this construct sets (cert-manager.io/v1). */
interface CertManagerIssuerSpec {
  readonly selfSigned: Record<string, never>;
}

/** The fields of cert-manager's `Certificate` spec this construct sets (cert-manager.io/v1). */
interface CertManagerCertificateSpec {
  readonly secretName: string;
  readonly commonName: string;
  readonly dnsNames: string[];
  readonly duration: string;
  readonly renewBefore: string;
  readonly privateKey: {
    readonly algorithm: 'RSA' | 'ECDSA' | 'Ed25519';
    readonly size: number;
    readonly rotationPolicy: 'Never' | 'Always';
  };
  readonly usages: string[];
  readonly issuerRef: { readonly group: string; readonly kind: 'Issuer' | 'ClusterIssuer'; readonly name: string };
}
