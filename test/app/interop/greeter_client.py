#!/usr/bin/python3
"""An independent Python gRPC client for the greeter, used by interop.test.ts.

Runs on Debian's python3-grpcio only (no generated code, no protobuf package): the handful of messages it
needs are encoded and decoded by hand below, and every call goes through grpc's generic multicallables with
raw bytes. So it shares nothing with the server's proto files or its JavaScript stack.

Prints one JSON object on stdout:
  {"message", "hostname", "health": {service: status}, "services_v1alpha": [...], "services_v1": [...]}
On an RPC error prints `<what> failed: <STATUS_CODE>: <details>` on stderr and exits 1.
"""
import argparse
import json
import sys

import grpc

TIMEOUT_S = 5.0
HEALTH_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


# --- protobuf wire format: just varints and length-delimited fields -------------------------------------

def encode_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_string(field, text):
    data = text.encode("utf-8")
    return encode_varint(field << 3 | 2) + encode_varint(len(data)) + data


def decode_varint(data, pos):
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def decode_fields(data):
    """Yields (field number, value): int for varints, bytes for length-delimited; fixed-width ones are skipped."""
    pos = 0
    while pos < len(data):
        key, pos = decode_varint(data, pos)
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = decode_varint(data, pos)
            yield field, value
        elif wire_type == 2:
            length, pos = decode_varint(data, pos)
            if pos + length > len(data):
                raise ValueError("truncated field %d" % field)
            yield field, data[pos:pos + length]
            pos += length
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        else:
            raise ValueError("unsupported wire type %d" % wire_type)


def string_field(data, number):
    value = ""
    for field, raw in decode_fields(data):
        if field == number:
            value = raw.decode("utf-8")
    return value


# --- the calls -------------------------------------------------------------------------------------------

class CallFailed(Exception):
    pass


def call(what, fn):
    try:
        return fn()
    except grpc.RpcError as error:
        raise CallFailed("%s failed: %s: %s" % (what, error.code().name, error.details()))


def say_hello(channel, name):
    method = channel.unary_unary("/helloworld.Greeter/SayHello")
    # HelloRequest { string name = 1; }
    reply, rpc = call("SayHello", lambda: method.with_call(encode_string(1, name), timeout=TIMEOUT_S))
    metadata = dict(rpc.initial_metadata() or ())
    # HelloReply { string message = 1; }
    return string_field(reply, 1), metadata.get("hostname")


def health_check(channel, service):
    method = channel.unary_unary("/grpc.health.v1.Health/Check")
    # HealthCheckRequest { string service = 1; } (proto3 omits the empty string)
    request = encode_string(1, service) if service else b""
    reply = call("Health Check %r" % service, lambda: method(request, timeout=TIMEOUT_S))
    # HealthCheckResponse { ServingStatus status = 1; }
    status = 0
    for field, value in decode_fields(reply):
        if field == 1:
            status = value
    return HEALTH_STATUS.get(status, str(status))


def list_services(channel, version):
    method = channel.stream_stream("/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version)
    # ServerReflectionRequest { oneof message_request { string list_services = 7; } }: a oneof member is
    # written even when empty, or the server could not tell which request this is.
    request = encode_string(7, "")

    def run():
        services = []
        for response in method(iter([request]), timeout=TIMEOUT_S):
            for field, value in decode_fields(response):
                if field == 6:  # ListServiceResponse { repeated ServiceResponse service = 1; }
                    services.extend(string_field(entry, 1) for f, entry in decode_fields(value) if f == 1)
                elif field == 7:  # ErrorResponse { int32 error_code = 1; string error_message = 2; }
                    raise CallFailed("reflection %s failed: %s" % (version, string_field(value, 2)))
        return services

    return call("reflection %s ListServices" % version, run)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", required=True, help="host:port")
    parser.add_argument("--ca", help="PEM CA certificate; dials TLS when given")
    parser.add_argument("--server-name", help="TLS name to verify instead of the target host")
    parser.add_argument("--name", default="world")
    args = parser.parse_args()

    options = [("grpc.enable_http_proxy", 0)]
    if args.ca:
        with open(args.ca, "rb") as ca:
            credentials = grpc.ssl_channel_credentials(root_certificates=ca.read())
        if args.server_name:
            options.append(("grpc.ssl_target_name_override", args.server_name))
        channel = grpc.secure_channel(args.target, credentials, options=options)
    else:
        channel = grpc.insecure_channel(args.target, options=options)

    try:
        with channel:
            message, hostname = say_hello(channel, args.name)
            result = {
                "message": message,
                "hostname": hostname,
                "health": {service: health_check(channel, service) for service in ("", "helloworld.Greeter")},
                "services_v1alpha": list_services(channel, "v1alpha"),
                "services_v1": list_services(channel, "v1"),
            }
    except CallFailed as error:
        print(error, file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
