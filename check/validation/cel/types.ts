/**
 * The opaque CEL types of the Kubernetes libraries (`kubernetes.URL`, `net.IP`, `net.CIDR`, `kubernetes.Quantity`,
 * `kubernetes.NamedFormat`; k8s.io/apiserver pkg/cel/{url,ip,cidr,quantity,format}.go), declared as one-field
 * protobuf messages so @bufbuild/cel dispatches methods on them by type. Each holds its value's canonical text, so
 * CEL equality (field-wise on messages) is the libraries' semantic equality.
 */
import { objectType, type CelObjectType } from '@bufbuild/cel';
import { create, createFileRegistry, type DescMessage } from '@bufbuild/protobuf';
import type { ReflectMessage } from '@bufbuild/protobuf/reflect';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
} from '@bufbuild/protobuf/wkt';

const { STRING, BOOL } = FieldDescriptorProto_Type;
const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;

const field = (name: string, number: number, type = STRING, label = OPTIONAL) => ({
  name,
  number,
  type,
  label,
  jsonName: name,
});

function file(name: string, pkg: string, messages: Array<{ name: string; field: ReturnType<typeof field>[] }>) {
  return create(FileDescriptorProtoSchema, { name, package: pkg, syntax: 'proto3', messageType: messages });
}

const kubernetes = file('kubernetes_cel.proto', 'kubernetes', [
  { name: 'URL', field: [field('value', 1)] },
  { name: 'Quantity', field: [field('value', 1)] },
  { name: 'NamedFormat', field: [field('value', 1)] },
  // optional<list<string>> and optional<Format>: what the Format library returns (optional types are not in
  // @bufbuild/cel; these carry hasValue()/value()/orValue() for that library only).
  { name: 'OptionalStrings', field: [field('has_value', 1, BOOL), field('value', 2, STRING, REPEATED)] },
  { name: 'OptionalFormat', field: [field('has_value', 1, BOOL), field('value', 2)] },
]);
const net = file('net_cel.proto', 'net', [
  { name: 'IP', field: [field('value', 1)] },
  { name: 'CIDR', field: [field('value', 1)] },
]);

const kubernetesRegistry = createFileRegistry(kubernetes, () => undefined);
const netRegistry = createFileRegistry(net, () => undefined);

function message(reg: { getMessage(name: string): DescMessage | undefined }, name: string): DescMessage {
  const desc = reg.getMessage(name);
  if (!desc) throw new Error(`validation: CEL type ${name} is not declared`);
  return desc;
}

/** One opaque type: its CEL type, a constructor from text and the text back. */
export interface OpaqueType {
  readonly desc: DescMessage;
  readonly type: CelObjectType;
  make(value: string): object;
  text(value: ReflectMessage): string;
}

function opaque(desc: DescMessage): OpaqueType {
  const valueField = desc.fields.find((f) => f.name === 'value')!;
  return {
    desc,
    type: objectType(desc),
    make: (value) => create(desc, { value } as never),
    text: (value) => value.get(valueField) as string,
  };
}

export const URL_TYPE = opaque(message(kubernetesRegistry, 'kubernetes.URL'));
export const QUANTITY_TYPE = opaque(message(kubernetesRegistry, 'kubernetes.Quantity'));
export const FORMAT_TYPE = opaque(message(kubernetesRegistry, 'kubernetes.NamedFormat'));
export const IP_TYPE = opaque(message(netRegistry, 'net.IP'));
export const CIDR_TYPE = opaque(message(netRegistry, 'net.CIDR'));

/** An optional of strings or of a format: has_value plus the value. */
export interface OptionalType {
  readonly desc: DescMessage;
  readonly type: CelObjectType;
  some(value: string | readonly string[]): object;
  none(): object;
  hasValue(value: ReflectMessage): boolean;
  value(value: ReflectMessage): unknown;
}

function optional(desc: DescMessage): OptionalType {
  const [hasField, valueField] = [
    desc.fields.find((f) => f.name === 'has_value')!,
    desc.fields.find((f) => f.name === 'value')!,
  ];
  return {
    desc,
    type: objectType(desc),
    some: (value) => create(desc, { hasValue: true, value } as never),
    none: () => create(desc, { hasValue: false } as never),
    hasValue: (value) => value.get(hasField) as boolean,
    value: (value) => value.get(valueField),
  };
}

export const OPTIONAL_STRINGS = optional(message(kubernetesRegistry, 'kubernetes.OptionalStrings'));
export const OPTIONAL_FORMAT = optional(message(kubernetesRegistry, 'kubernetes.OptionalFormat'));

/** Every message type above, for the environment's registry. */
export const OPAQUE_DESCRIPTORS: readonly DescMessage[] = [
  URL_TYPE,
  QUANTITY_TYPE,
  FORMAT_TYPE,
  IP_TYPE,
  CIDR_TYPE,
  OPTIONAL_STRINGS,
  OPTIONAL_FORMAT,
].map((t) => t.desc);
